import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { decodeExport, type ExportPayload } from '../../src/commands/export-format.js';
import { MAX_EXPORT_VALUE_DEPTH } from '../../src/commands/value-depth.js';
import { MAX_MESSAGE_DEPTH } from '../../src/envelope-limits.js';
import { loadConfig } from '../../src/config.js';
import { exportWithBytes } from '../helpers/crafted-export.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { recentSamples } from '../helpers/fixtures.js';
import { servedViews } from '../helpers/reference.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';
import { runCli } from './cli.js';

// No bus thread: nothing is published to these services and no case reads the bus, so each of the
// 2 starts would pay for a thread loading zeromq only to read an idle socket (still bound).
const serve = (args: readonly string[]) => startService([...args, '--bus-thread', 'false']);

const VOLUME = 'volume-by-category-1d';
const PLACEHOLDER = 'deep-value-placeholder';

/** `payload` as an export file (good checksum) with PLACEHOLDER's bytes replaced by arrays nested `depth` deep. */
const deepExport = (payload: ExportPayload, depth: number): Buffer =>
  exportWithBytes(payload, PLACEHOLDER, Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x80])]));

/**
 * An export whose plugin value nests past what a plugin keeps (32 levels): ~1,300 deep it was
 * imported, and `snapshot export` of that data dir then failed (RangeError: Maximum call stack
 * size exceeded, from msgpackr); ~4,300 deep it was imported, and every answer of its plugin was
 * `500 internal` (JSON.stringify overflowed) on every start after. Refused before anything is
 * written, as other bad contents are.
 */
describe('snapshot import of an export whose plugin values nest too deep', () => {
  const dir = tempDir();
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    dir.remove();
  });

  /**
   * One data dir that took 50 messages, and its export, made once for the three tests: each
   * crafts its file from a fresh decode of that export, and nothing writes the data dir (every
   * import into it is refused before anything is written, which the first test checks).
   */
  const messages = (recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[]).slice(0, 50);
  const data = join(dir.path, 'data');
  let made: Promise<Buffer> | undefined;
  const exportOnce = () => {
    made ??= (async () => {
      const config = loadConfig({
        env: {},
        flags: { dataDir: data, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'] },
      });
      await dataDirSession(config, messages);
      const file = join(dir.path, 'data.scx');
      const run = await runCli(['snapshot', 'export', file, '--data-dir', data]);
      expect(run.code, run.stderr).toBe(0);
      return readFileSync(file);
    })();
    return made;
  };
  /** The export with one row's category (or the first tail message's body) set to PLACEHOLDER. */
  const exported = async (where: 'row' | 'tail' = 'row') => {
    const payload = decodeExport(await exportOnce());
    const first = (payload.plugins[VOLUME]?.rows ?? [])[0] as [string, Record<string, unknown>];
    if (where === 'row') first[1]['category'] = PLACEHOLDER;
    else (payload.journalTail[0] as Record<string, unknown>)['msg'] = PLACEHOLDER;
    return { data, payload, key: first[0] };
  };

  it('is refused naming the plugin, store and key; the data dir keeps serving what it had', async () => {
    const { data, payload, key } = await exported();

    // Refused before the data dir lock is taken: the three runs start together.
    const depths = [MAX_EXPORT_VALUE_DEPTH, 1_300, 4_300];
    const runs = depths.map((depth) => {
      const crafted = join(dir.path, `deep-${depth}.scx`);
      writeFileSync(crafted, deepExport(payload, depth));
      return runCli(['snapshot', 'import', crafted, '--data-dir', data]);
    });
    for (const [i, depth] of depths.entries()) {
      const crafted = join(dir.path, `deep-${depth}.scx`);
      const imported = await (runs[i] as ReturnType<typeof runCli>);
      expect({ code: imported.code, stderr: imported.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining(
          `refusing to import ${crafted}: payload is malformed: plugin "${VOLUME}", store "rows", key ${JSON.stringify(key)}: its value nests deeper than ${MAX_EXPORT_VALUE_DEPTH} levels`,
        ),
      });
      expect(imported.stderr).toMatch(/nothing was written/);
    }

    const svc = await serve(['--data-dir', data]);
    running.push(svc);
    await eventually(async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined));
    const served = (await servedViews(svc.base, [VOLUME])).get(VOLUME) as (Row & { volume?: number })[];
    expect(served.reduce((n, r) => n + (r.volume ?? 0), 0)).toBe(messages.length);
    expect(await svc.stop()).toBe(0);
  }, 120_000);

  it('takes a value at the bound, which is served and exported again', async () => {
    const { payload } = await exported();
    const crafted = join(dir.path, 'at-bound.scx');
    // The row is level 1: its member holds the rest.
    writeFileSync(crafted, deepExport(payload, MAX_EXPORT_VALUE_DEPTH - 2));
    const data = join(dir.path, 'at-bound');
    const imported = await runCli(['snapshot', 'import', crafted, '--data-dir', data]);
    expect(imported.code, imported.stderr).toBe(0);
    const svc = await serve(['--data-dir', data]);
    running.push(svc);
    await eventually(async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined));
    expect((await getJson(`${svc.base}/api/${VOLUME}`)).status).toBe(200);
    expect(await svc.stop()).toBe(0);
    const again = await runCli(['snapshot', 'export', join(dir.path, 'again.scx'), '--data-dir', data]);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('refuses a journal tail message nested deeper than the bus takes; one at that bound is exported again', async () => {
    // ~1,300 deep, a tail message was journaled and no export of the data dir could be written
    // again (RangeError from msgpackr); ~4,300 deep, the import died on a RangeError of its own.
    const { data, payload } = await exported('tail');
    const depths = [MAX_MESSAGE_DEPTH, 1_300, 4_300];
    const runs = depths.map((depth) => {
      const crafted = join(dir.path, `tail-${depth}.scx`);
      writeFileSync(crafted, deepExport(payload, depth));
      return runCli(['snapshot', 'import', crafted, '--data-dir', data]);
    });
    for (const [i, depth] of depths.entries()) {
      const crafted = join(dir.path, `tail-${depth}.scx`);
      const imported = await (runs[i] as ReturnType<typeof runCli>);
      expect({ code: imported.code, stderr: imported.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining(
          `refusing to import ${crafted}: payload is malformed: journalTail entry 0 nests deeper than ${MAX_MESSAGE_DEPTH} levels`,
        ),
      });
    }
    // The envelope is level 1 and its body level 2: the body's arrays and the map inside make the rest.
    const crafted = join(dir.path, 'tail-at-bound.scx');
    writeFileSync(crafted, deepExport(payload, MAX_MESSAGE_DEPTH - 2));
    const target = join(dir.path, 'tail-at-bound');
    const imported = await runCli(['snapshot', 'import', crafted, '--data-dir', target]);
    expect(imported.code, imported.stderr).toBe(0);
    const again = await runCli(['snapshot', 'export', join(dir.path, 'tail-again.scx'), '--data-dir', target]);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);
});
