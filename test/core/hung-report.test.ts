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
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { ViewHungBefore } from '../../actors/view-cache.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { markApplying } from '../../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE, readHungMessages } from '../../snapshots/hung-messages.js';
import { HUNG_VIEWS_FILE, readHungViews, viewDigestOf } from '../../snapshots/hung-views.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import type { RestoreReport } from '../../snapshots/restore.js';
import { appliedThrough } from '../../src/catch-up.js';
import { HungReport } from '../../src/hung-report.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * A start on a data dir holding a mark of journal seq 7 of volume-1d (the heap `share` full
 * before it): what hung-messages.json then holds and what was logged.
 */
function startOnMark(
  dirs: { remove(): void }[],
  share: number | undefined,
  appliedThrough?: (ident: string) => number,
): { dir: string; said: string } {
  const d = tempDir();
  dirs.push(d);
  markApplying(d.path, { seq: 7, ident: 'volume-1d', since: '2026-12-04T00:00:00.000Z', heapShare: share });
  const lines: { msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
  const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
  new HungReport(host, d.path, 1, log, appliedThrough);
  host.stop();
  return { dir: d.path, said: lines.map((l) => l.msg).join('\n') };
}

describe('a death mark found at start', () => {
  const dirs: { remove(): void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });
  const start = (share: number | undefined) => startOnMark(dirs, share);

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

describe('a death mark whose message the restored state holds', () => {
  const dirs: { remove(): void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });
  const start = (appliedThrough: (ident: string) => number) => startOnMark(dirs, undefined, appliedThrough);

  it('counts no death: a snapshot after the message says that plugin finished it (a stop that could not remove the mark)', () => {
    for (const through of [7, 9]) {
      const { dir, said } = start((ident) => (ident === 'volume-1d' ? through : 0));
      expect(readHungMessages(dir).records).toEqual([]);
      expect(said).toMatch(/names journal seq 7 of plugin "volume-1d", .*no death counted/);
      expect(() => readFileSync(join(dir, 'applying.json'))).toThrow(/ENOENT/);
    }
  });

  it('counts one when only other plugins are past it (this one behind, caught up in the run that died)', () => {
    const { dir, said } = start((ident) => (ident === 'volume-1d' ? 6 : 100));
    expect(readHungMessages(dir).records).toEqual([
      expect.objectContaining({ seq: 7, ident: 'volume-1d', crashes: 1 }),
    ]);
    expect(said).toMatch(/the last run died while plugin "volume-1d" applied journal seq 7/);
  });
});

describe('how far a restored generation holds a plugin state (appliedThrough)', () => {
  const meta = { journalSeq: 50 } as SnapshotMeta;
  const report = (over: Partial<RestoreReport>): RestoreReport => ({
    meta,
    restored: { a: 1 },
    migrated: [],
    retained: {},
    fallbacks: [],
    ...over,
  });

  it("is the generation's seq, a plugin loaded again its own mark, and 0 for none known", () => {
    expect(appliedThrough(report({}), 'a')).toBe(50);
    expect(appliedThrough(report({ resumed: { a: { journalSeq: 20, newestTimestamp: 0 } } }), 'a')).toBe(20);
    expect(appliedThrough(report({ resumed: { a: { journalSeq: 20, newestTimestamp: 0, foreign: true } } }), 'a')).toBe(
      0,
    );
    // New to the data dir (no state restored), or no generation at all.
    expect(appliedThrough(report({ added: ['b'] }), 'b')).toBe(0);
    expect(appliedThrough(report({ meta: null, restored: {} }), 'a')).toBe(0);
  });
});

describe('a mark of a view call found at start', () => {
  const dirs: { remove(): void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });
  const viewing = definePlugin({
    name: 'Viewing',
    interval: '1d',
    summary: 's',
    description: 'd',
    rows: rowsOf<{ timestamp: number; n: number }>(),
    columns: ['n'],
    key: ['timestamp'],
    params: { n: { type: 'integer', description: 'n' } },
    update() {},
    view: (_ctx, params) => [{ timestamp: 1, n: params.n ?? 0 }],
  });
  const start = (share: number | undefined, view = viewDigestOf(viewing)) => {
    const d = tempDir();
    dirs.push(d);
    markApplying(d.path, {
      kind: 'view',
      ident: 'viewing-1d',
      params: '[["n",7]]',
      view,
      since: '2026-12-04T00:00:00.000Z',
      heapShare: share,
    });
    const lines: { msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
    const host = new PluginHost(registerPlugins([viewing]), () => {});
    const report = new HungReport(host, d.path, 1, log);
    const runtime = host.runtimes[0] as PluginRuntime;
    const ask = (n: number) => runtime.query({ order: 'desc', page: 1, rowsPerPage: 10, params: { n } }).rows;
    return { dir: d.path, said: lines.map((l) => l.msg).join('\n'), ask, report };
  };

  it('records a crash of that view with those parameters, refused from this run on', () => {
    for (const share of [0.35, undefined]) {
      const { dir, said, ask, report } = start(share);
      expect(readHungViews(dir).records).toEqual([
        expect.objectContaining({ ident: 'viewing-1d', params: '[["n",7]]', crashed: true }),
      ]);
      expect(said).toMatch(/died while the view of plugin "viewing-1d" computed with parameters \[\["n",7\]\]/);
      expect(() => ask(7)).toThrow(ViewHungBefore);
      expect(() => ask(7)).toThrow(/was computing with these parameters \(\[\["n",7\]\]\) when an earlier run died/);
      expect(ask(6)).toEqual([{ timestamp: 1, n: 6 }]);
      expect(report.problem()).toMatch(/viewing-1d \(parameters \[\["n",7\]\], died at 20/);
      expect(() => readFileSync(join(dir, 'applying.json'))).toThrow(/ENOENT/);
    }
  });

  it('does not when the heap was already nearly full before it, nor for a view changed since', () => {
    for (const [share, view, why] of [
      [0.7, viewDigestOf(viewing), /the heap was already 70% full before it: not counted against that view/],
      [0.1, 'f'.repeat(64), /view hang records dropped/],
    ] as const) {
      const { dir, said, ask, report } = start(share, view);
      expect(said).toMatch(why);
      expect(() => readFileSync(join(dir, HUNG_VIEWS_FILE))).toThrow(/ENOENT/);
      expect(ask(7)).toEqual([{ timestamp: 1, n: 7 }]);
      expect(report.problem()).toBeNull();
    }
  });
});
