import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerPlugins, type RegisteredPlugin } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { encodeExport } from '../../src/commands/export-format.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { exportMeta } from '../helpers/export-meta.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { runCli } from './cli.js';

// No bus thread: nothing is published to these services and no case reads the bus, so each of the
// 4 starts would pay for a thread loading zeromq only to read an idle socket (still bound).
const serve = (args: readonly string[]) => startService([...args, '--bus-thread', 'false']);

/**
 * An export is checked for its SHA-256, which whoever wrote it computes: a plugin record's
 * not-loaded mark (where its state stopped) is what the exporting side says. One dated past what
 * a Date holds (or NaN) made every start that logs it throw RangeError: Invalid time value after
 * it listened, exit 1, again on each restart: the imported state could not be served at all.
 */
describe('an imported plugin record with a mark dated out of range', () => {
  const dir = tempDir();
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    dir.remove();
  });

  it.each([
    ['past what a Date holds', 1e300],
    ['NaN', Number.NaN],
  ])('%s: is restored, logged with its time as given, and the service is ready', async (name, newestTimestamp) => {
    const plugin = registerPlugins(builtinPlugins())[0] as RegisteredPlugin;
    const meta = exportMeta({
      [plugin.ident]: {
        version: plugin.version,
        rows: 0,
        stores: [],
        entries: {},
        notLoadedAfter: { journalSeq: 3, newestTimestamp },
      } as SnapshotMeta['plugins'][string],
    });
    const file = join(dir.path, `${name}.export`);
    writeFileSync(
      file,
      encodeExport({ kind: 'statscache-snapshot', exportedAt: 0, meta, plugins: {}, journalTail: [] }),
    );
    const data = join(dir.path, `data-${name}`);
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', data]);
    expect(imported.code, imported.stderr).toBe(0);
    const svc = await serve(['--data-dir', data]);
    running.push(svc);
    await eventually(async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined));
    // The log reaches stdout on its own time: readyz may answer before the line is read.
    const line = await eventually(() => svc.logs.find((l) => l.includes('"plugin loaded again after runs without it')));
    expect(line).toContain(`"plugin":"${plugin.ident}"`);
    expect(line).toContain(`"stateThrough":"${String(newestTimestamp)}"`);
    // The generation written at the stop holds the record: the next start restores it too.
    expect(await svc.stop()).toBe(0);
    const again = await serve(['--data-dir', data]);
    running.push(again);
    await eventually(async () => ((await getJson(`${again.base}/readyz`)).status === 200 ? true : undefined));
    // Loaded since, the mark is gone: nothing to say about it.
    expect(again.logs.join('\n')).toMatch(/"generation":2,.*"msg":"restored snapshot"/);
    expect(again.logs.join('\n')).not.toContain('plugin loaded again');
  });
});
