/**
 * `<data dir>/hung-messages.json` comes from the hang watch thread, but it is a file anyone can
 * edit or damage: a bad one must not stop a start (it is ignored, with the reason), its size and
 * record count are bounded, and records whose message the journal no longer holds are dropped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPLYING_FILE, markApplying, takeApplying } from '../../snapshots/applying-mark.js';
import {
  HUNG_MESSAGES_FILE,
  MAX_HUNG_RECORDS,
  pruneHungMessages,
  readHungMessages,
  recordCrash,
  recordHang,
  remapHungMessages,
  skipsMessage,
} from '../../snapshots/hung-messages.js';
import { blockTempDirs } from '../helpers/block-temp-dirs.js';

const hang = (seq: number, ident = 'p') => ({ seq, ident, at: '2026-12-03T00:00:00.000Z', timeoutSeconds: 60 });

describe('hung-messages.json', () => {
  const dir = blockTempDirs();

  it('keeps the newest records past the bound, and drops those the journal no longer holds', () => {
    const d = dir();
    expect(readHungMessages(d)).toEqual({ records: [], problem: null });
    const stored = (seq: number) => ({ seq, plugin: 'p', at: '2026-12-03T00:00:00.000Z', timeout_seconds: 60 });
    const full = Array.from({ length: MAX_HUNG_RECORDS }, (_, i) => stored(i + 1));
    writeFileSync(join(d, HUNG_MESSAGES_FILE), JSON.stringify({ hung: full }));
    for (let seq = MAX_HUNG_RECORDS + 1; seq <= MAX_HUNG_RECORDS + 5; seq++) recordHang(d, hang(seq));
    const { records, problem } = readHungMessages(d);
    expect(problem).toBeNull();
    expect(records).toHaveLength(MAX_HUNG_RECORDS);
    expect(records[0]).toEqual(hang(6));
    expect(pruneHungMessages(d, records, MAX_HUNG_RECORDS)).toEqual([
      hang(1000),
      hang(1001),
      hang(1002),
      hang(1003),
      hang(1004),
      hang(1005),
    ]);
    expect(readHungMessages(d).records).toHaveLength(6);
    expect(pruneHungMessages(d, readHungMessages(d).records, 2000)).toEqual([]);
    expect(() => readFileSync(join(d, HUNG_MESSAGES_FILE))).toThrow(/ENOENT/);
  });

  it('follows the messages an import renumbers, and forgets the ones the imported state holds', () => {
    const d = dir();
    for (const seq of [5, 7, 9]) recordHang(d, hang(seq, `p${seq}`));
    expect(
      remapHungMessages(d, [
        { from: 7, to: 20 },
        { from: 8, to: 21 },
        { from: 9, to: 22 },
      ]),
    ).toBe(2);
    expect(readHungMessages(d).records).toEqual([hang(20, 'p7'), hang(22, 'p9')]);
    expect(remapHungMessages(d, [])).toBe(0);
    expect(() => readFileSync(join(d, HUNG_MESSAGES_FILE))).toThrow(/ENOENT/);
  });

  it('ignores a damaged or hostile file, saying why', () => {
    const d = dir();
    const path = join(d, HUNG_MESSAGES_FILE);
    writeFileSync(path, '{"hung": [');
    expect(readHungMessages(d)).toEqual({ records: [], problem: `${HUNG_MESSAGES_FILE} is not JSON` });
    writeFileSync(path, '[]');
    expect(readHungMessages(d).problem).toMatch(/has no "hung" list/);
    writeFileSync(
      path,
      JSON.stringify({
        hung: [
          { seq: 7, plugin: 'ok', at: 'x', timeout_seconds: 1 },
          { seq: -1, plugin: 'neg' },
          { seq: 1.5, plugin: 'frac' },
          { seq: 8, plugin: 'p'.repeat(201) },
          { seq: 9 },
          null,
        ],
      }),
    );
    expect(readHungMessages(d)).toEqual({
      records: [{ seq: 7, ident: 'ok', at: 'x', timeoutSeconds: 1 }],
      problem: `${HUNG_MESSAGES_FILE}: 5 records not understood, ignored`,
    });
    writeFileSync(path, ' '.repeat(1024 * 1024 + 1));
    expect(readHungMessages(d).problem).toMatch(/could not read hung-messages.json: larger than 1048576 bytes/);
  });

  it('counts deaths per (plugin, message), skips from the second, and leaves a recorded hang as it is', () => {
    const d = dir();
    const at = '2026-12-04T00:00:00.000Z';
    const first = recordCrash(d, { seq: 4, ident: 'p', at });
    expect(first).toEqual({ seq: 4, ident: 'p', at, timeoutSeconds: 0, crashes: 1 });
    expect(skipsMessage(first)).toBe(false);
    // Another plugin, another message: counted apart.
    expect(recordCrash(d, { seq: 4, ident: 'q', at }).crashes).toBe(1);
    expect(recordCrash(d, { seq: 5, ident: 'p', at }).crashes).toBe(1);
    const second = recordCrash(d, { seq: 4, ident: 'p', at });
    expect(second.crashes).toBe(2);
    expect(skipsMessage(second)).toBe(true);
    recordHang(d, hang(6));
    expect(recordCrash(d, { seq: 6, ident: 'p', at })).toEqual(hang(6));
    const stored = JSON.parse(readFileSync(join(d, HUNG_MESSAGES_FILE), 'utf8')) as { hung: unknown[] };
    expect(stored.hung).toEqual([
      { seq: 4, plugin: 'p', at, crashes: 2 },
      { seq: 4, plugin: 'q', at, crashes: 1 },
      { seq: 5, plugin: 'p', at, crashes: 1 },
      { seq: 6, plugin: 'p', at: hang(6).at, timeout_seconds: 60 },
    ]);
    // A record of a hang (written before deaths were counted) skips its message; a bad count is not understood.
    expect(readHungMessages(d).records.map(skipsMessage)).toEqual([true, false, false, true]);
    writeFileSync(join(d, HUNG_MESSAGES_FILE), JSON.stringify({ hung: [{ seq: 3, plugin: 'p', crashes: 0 }] }));
    expect(readHungMessages(d).problem).toMatch(/1 records not understood/);
  });

  it('reads the mark of the message being applied once, and ignores a damaged one, saying why', () => {
    const d = dir();
    const path = join(d, APPLYING_FILE);
    expect(takeApplying(d)).toEqual({ mark: null, problem: null });
    markApplying(d, { seq: 9, ident: 'p', since: '2026-12-04T00:00:00.000Z' });
    expect(takeApplying(d)).toEqual({ mark: { seq: 9, ident: 'p', since: '2026-12-04T00:00:00.000Z' }, problem: null });
    expect(takeApplying(d)).toEqual({ mark: null, problem: null });
    // A view call's mark: its parameters (up to 1 KiB of UTF-8, escaped as JSON likes) and the view's digest.
    const params = '\u0001'.repeat(1024);
    const view = { kind: 'view', ident: 'p', params, view: 'a'.repeat(64), since: 'x', heapShare: 0.25 } as const;
    markApplying(d, view);
    expect(takeApplying(d)).toEqual({ mark: view, problem: null });
    for (const [text, why] of [
      [JSON.stringify({ view_params: 'x'.repeat(1025), view: 'a', plugin: 'p' }), /no view parameters of at most 1024/],
      [JSON.stringify({ view_params: 7, view: 'a', plugin: 'p' }), /no view parameters/],
      [JSON.stringify({ view_params: '[]', view: '', plugin: 'p' }), /names no view digest/],
      [JSON.stringify({ view_params: '[]', view: 'a'.repeat(129), plugin: 'p' }), /names no view digest/],
    ] as const) {
      writeFileSync(path, text);
      expect(takeApplying(d)).toEqual({ mark: null, problem: expect.stringMatching(why) });
    }
    for (const [text, why] of [
      ['{"seq": 9', /is not JSON/],
      ['{"seq": 0, "plugin": "p"}', /names no journal seq/],
      ['{"seq": 9, "plugin": ""}', /names no plugin/],
      [' '.repeat(16 * 1024 + 1), /larger than 16384 bytes/],
    ] as const) {
      writeFileSync(path, text);
      expect(takeApplying(d)).toEqual({ mark: null, problem: expect.stringMatching(why) });
      expect(() => readFileSync(path)).toThrow(/ENOENT/);
    }
  });
});
