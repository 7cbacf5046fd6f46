/**
 * The start-up side of a death mark (src/hung-report.ts, snapshots/applying-mark.ts): a run that
 * died while a plugin applied a message counts against that (plugin, message), unless the heap
 * was already nearly full before the message began. Then whichever plugin ran next would have
 * died, and a process out of heap restarting over the same state would have had a message
 * skipped for some plugin every second death without the heap getting any emptier.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { markApplying } from '../../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE, readHungMessages } from '../../snapshots/hung-messages.js';
import { HungReport } from '../../src/hung-report.js';
import { tempDir } from '../helpers/service-process.js';

describe('a death mark found at start', () => {
  const dirs: { remove(): void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });
  const start = (share: number | undefined) => {
    const d = tempDir();
    dirs.push(d);
    markApplying(d.path, { seq: 7, ident: 'volume-1d', since: '2026-12-04T00:00:00.000Z', heapShare: share });
    const lines: { msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    new HungReport(host, d.path, 1, log);
    host.stop();
    return { dir: d.path, said: lines.map((l) => l.msg).join('\n') };
  };

  it('counts against the plugin when the heap had room before the message', () => {
    for (const share of [0.35, undefined]) {
      const { dir, said } = start(share);
      expect(readHungMessages(dir).records).toEqual([
        expect.objectContaining({ seq: 7, ident: 'volume-1d', crashes: 1 }),
      ]);
      expect(said).toMatch(/if the next run dies on it too, it is skipped for that plugin/);
    }
  });

  it('does not, and says why, when the heap was already nearly full before it', () => {
    const { dir, said } = start(0.93);
    expect(readHungMessages(dir).records).toEqual([]);
    expect(() => readFileSync(join(dir, HUNG_MESSAGES_FILE))).toThrow(/ENOENT/);
    expect(said).toMatch(/the heap was already 93% full before it: not counted against that plugin/);
    // The mark is gone either way: the next start does not count this death again.
    expect(() => readFileSync(join(dir, 'applying.json'))).toThrow(/ENOENT/);
  });
});
