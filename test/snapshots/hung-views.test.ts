/**
 * `<data dir>/hung-views.json` comes from the hang watch thread, but it is a file anyone can edit
 * or damage: a bad one must not stop a start (it is ignored, with the reason), its record count,
 * bytes and each record's parameters are bounded, and a record ends when its plugin is gone, its
 * view changed, or it is a week old.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VIEW_PARAMS_BYTES, viewParamsText } from '../../actors/apply-beacon.js';
import {
  HUNG_VIEWS_FILE,
  hungViewsText,
  MAX_FILE_BYTES,
  MAX_HUNG_VIEW_AGE_SECONDS,
  MAX_HUNG_VIEWS,
  pruneHungViews,
  readHungViews,
  recordViewHang,
  type StoredViewHang,
  viewDigestOf,
} from '../../snapshots/hung-views.js';
import { blockTempDirs } from '../helpers/block-temp-dirs.js';

const AT = '2026-12-03T00:00:00.000Z';
const NOW = Date.parse(AT);
const hang = (n: number, ident = 'p', view = 'd1'): StoredViewHang => ({
  ident,
  params: `[["n",${n}]]`,
  view,
  at: AT,
  timeoutSeconds: 60,
});

describe('hung-views.json', () => {
  const dir = blockTempDirs();

  it('keeps the newest records past the bound, and one record per plugin and parameters', () => {
    const d = dir();
    expect(readHungViews(d)).toEqual({ records: [], problem: null });
    for (let n = 1; n <= MAX_HUNG_VIEWS + 5; n++) recordViewHang(d, hang(n));
    const { records, problem } = readHungViews(d);
    expect(problem).toBeNull();
    expect(records).toHaveLength(MAX_HUNG_VIEWS);
    expect(records[0]).toEqual(hang(6));
    // The same pair again replaces its record (now the newest); another plugin's is its own.
    recordViewHang(d, { ...hang(50), at: '2026-12-04T00:00:00.000Z' });
    recordViewHang(d, hang(50, 'q'));
    const again = readHungViews(d).records;
    expect(again).toHaveLength(MAX_HUNG_VIEWS);
    expect(again.filter((r) => r.params === '[["n",50]]').map((r) => [r.ident, r.at])).toEqual([
      ['p', '2026-12-04T00:00:00.000Z'],
      ['q', AT],
    ]);
    // A list longer than the bound, written by hand, is read as its newest records.
    const path = join(d, HUNG_VIEWS_FILE);
    const long = Array.from({ length: MAX_HUNG_VIEWS * 3 }, (_, n) => ({
      plugin: 'p',
      params: `[["n",${n}]]`,
      view: 'd1',
      at: AT,
    }));
    writeFileSync(path, JSON.stringify({ views: long }));
    const read = readHungViews(d).records;
    expect(read).toHaveLength(MAX_HUNG_VIEWS);
    expect(read[0]?.params).toBe(`[["n",${MAX_HUNG_VIEWS * 2}]]`);
  });

  it('is written within its byte bound however the parameters escape, dropping the oldest', () => {
    // The worst a valid record can be: 1 KiB of parameters, each byte a control character JSON
    // writes as six, and the longest ident. All 100 fit in the bound.
    const params = '\u0001'.repeat(VIEW_PARAMS_BYTES - 3);
    const worst = Array.from({ length: MAX_HUNG_VIEWS }, (_, i) => ({
      ...hang(i, '\u0002'.repeat(200)),
      params: params + String(i).padStart(3, '0'),
    }));
    const text = hungViewsText(worst);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_FILE_BYTES);
    expect((JSON.parse(text) as { views: unknown[] }).views).toHaveLength(MAX_HUNG_VIEWS);
    const d = dir();
    writeFileSync(join(d, HUNG_VIEWS_FILE), text);
    expect(readHungViews(d)).toEqual({ records: worst, problem: null });
    // One more by the watch: still 100, still within the bound, still readable.
    const newest = { ...(worst[0] as StoredViewHang), params: `${params}new` };
    recordViewHang(d, newest);
    expect(statSync(join(d, HUNG_VIEWS_FILE)).size).toBeLessThanOrEqual(MAX_FILE_BYTES);
    expect(readHungViews(d)).toEqual({ records: [...worst.slice(1), newest], problem: null });
    // Records larger than the watch ever writes (20 KiB each): the newest that fit are kept.
    const large = worst.map((r) => ({ ...r, params: r.params.repeat(20) }));
    const cut = JSON.parse(hungViewsText(large)) as { views: { params: string }[] };
    expect(Buffer.byteLength(hungViewsText(large))).toBeLessThanOrEqual(MAX_FILE_BYTES);
    expect(cut.views.length).toBeGreaterThan(0);
    expect(cut.views.length).toBeLessThan(MAX_HUNG_VIEWS);
    expect(cut.views.at(-1)?.params).toBe(large.at(-1)?.params);
  });

  it('ignores a damaged file or records with a reason, and a file past its byte bound', () => {
    const d = dir();
    const path = join(d, HUNG_VIEWS_FILE);
    writeFileSync(path, '{"views": [');
    expect(readHungViews(d)).toEqual({ records: [], problem: `${HUNG_VIEWS_FILE} is not JSON` });
    writeFileSync(path, '{"hung": []}');
    expect(readHungViews(d)).toEqual({ records: [], problem: `${HUNG_VIEWS_FILE} has no "views" list` });
    const good = { plugin: 'p', params: '[]', view: 'd1', at: AT, timeout_seconds: 1 };
    writeFileSync(
      path,
      JSON.stringify({
        views: [
          good,
          null,
          { ...good, plugin: '' },
          { ...good, plugin: 'x'.repeat(201) },
          // Longer than the beacon ever holds: not one the watch wrote.
          { ...good, params: 'é'.repeat(VIEW_PARAMS_BYTES / 2 + 1) },
          { ...good, params: 5 },
          { ...good, view: '' },
          // Its age ends it: one without a readable time would never end.
          { ...good, at: 'yesterday' },
          // A run's death in the view is `crashed: true` and nothing else.
          { ...good, params: '[1]', crashed: 'yes' },
          { ...good, params: '[2]', timeout_seconds: undefined, crashed: true },
        ],
      }),
    );
    expect(readHungViews(d)).toEqual({
      records: [
        { ident: 'p', params: '[]', view: 'd1', at: AT, timeoutSeconds: 1 },
        { ident: 'p', params: '[2]', view: 'd1', at: AT, timeoutSeconds: 0, crashed: true },
      ],
      problem: `${HUNG_VIEWS_FILE}: 8 records not understood, ignored`,
    });
    // Written back as read.
    recordViewHang(d, { ident: 'q', params: '[]', view: 'd1', at: AT, timeoutSeconds: 1 });
    expect(readHungViews(d).records.filter((r) => r.crashed === true)).toEqual([
      { ident: 'p', params: '[2]', view: 'd1', at: AT, timeoutSeconds: 0, crashed: true },
    ]);
    writeFileSync(path, `{"views": [], "pad": "${'x'.repeat(MAX_FILE_BYTES)}"}`);
    expect(readHungViews(d).problem).toMatch(/could not read hung-views.json: larger than 1048576 bytes/);
  });

  it("drops records of plugins gone, of views changed since, and past a week's age either way", () => {
    const d = dir();
    const week = MAX_HUNG_VIEW_AGE_SECONDS * 1000;
    const records = [
      hang(1),
      hang(2, 'gone'),
      hang(3, 'p', 'old-view'),
      { ...hang(4), at: new Date(NOW - week - 1000).toISOString() },
      { ...hang(5), at: new Date(NOW + week + 1000).toISOString() },
      { ...hang(6), at: new Date(NOW - week + 1000).toISOString() },
    ];
    for (const r of records) recordViewHang(d, r);
    const { kept, dropped } = pruneHungViews(d, readHungViews(d).records, new Map([['p', 'd1']]), NOW);
    expect(kept.map((r) => r.params)).toEqual(['[["n",1]]', '[["n",6]]']);
    expect(dropped.map((x) => [x.record.params, x.why])).toEqual([
      ['[["n",2]]', 'no plugin with a view has this ident now'],
      ['[["n",3]]', "the plugin's view changed since"],
      ['[["n",4]]', `dated more than ${MAX_HUNG_VIEW_AGE_SECONDS} s from now`],
      ['[["n",5]]', `dated more than ${MAX_HUNG_VIEW_AGE_SECONDS} s from now`],
    ]);
    expect(readHungViews(d).records).toEqual(kept);
    // Nothing left: no file.
    expect(pruneHungViews(d, kept, new Map(), NOW).kept).toEqual([]);
    expect(() => readFileSync(join(d, HUNG_VIEWS_FILE))).toThrow(/ENOENT/);
  });

  it("ties a record to the plugin's version and the source of its view", () => {
    const base = { version: 1, view: (_c: unknown, p: { n?: number }) => [p], viewIsRows: undefined };
    const same = { version: 1, view: (_c: unknown, p: { n?: number }) => [p] };
    expect(viewDigestOf(same)).toBe(viewDigestOf(base));
    expect(viewDigestOf({ ...base, version: 2 })).not.toBe(viewDigestOf(base));
    expect(viewDigestOf({ ...base, view: (_c: unknown, p: { n?: number }) => [p, p] })).not.toBe(viewDigestOf(base));
    expect(viewDigestOf({ ...base, viewIsRows: () => true })).not.toBe(viewDigestOf(base));
  });
});

describe('the parameters a record keeps (viewParamsText)', () => {
  const bytes = (s: string) => Buffer.byteLength(s);

  it('are the cache key itself up to 1 KiB of UTF-8', () => {
    expect(viewParamsText('[["n",3]]')).toBe('[["n",3]]');
    const fits = `[["s","${'é'.repeat((VIEW_PARAMS_BYTES - 12) / 2)}"]]`;
    expect(bytes(fits)).toBeLessThanOrEqual(VIEW_PARAMS_BYTES);
    expect(viewParamsText(fits)).toBe(fits);
  });

  it('are at most 1 KiB past that, a prefix with the length and a hash of the whole', () => {
    const long = (tail: string) => `[["s","${'a'.repeat(5000)}${tail}"]]`;
    const a = viewParamsText(long('x'));
    const b = viewParamsText(long('y'));
    expect(bytes(a)).toBeLessThanOrEqual(VIEW_PARAMS_BYTES);
    expect(a.startsWith('[["s","aaaa')).toBe(true);
    expect(a).toMatch(/\u2026 \(5011 chars, hash [0-9a-f]+\)$/);
    // Same prefix, same length, another text: another record.
    expect(a).not.toBe(b);
    expect(viewParamsText(long('x'))).toBe(a);
    // Multi-byte characters and surrogate pairs are not cut in two.
    for (const ch of ['é', '€', '😀']) {
      const t = viewParamsText(`[["s","${ch.repeat(3000)}"]]`);
      expect(bytes(t)).toBeLessThanOrEqual(VIEW_PARAMS_BYTES);
      expect(t).not.toMatch(/\uFFFD/);
      expect(Buffer.from(t).toString()).toBe(t);
    }
  });
});
