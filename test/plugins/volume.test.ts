/**
 * Volume plugins over chosen sample lines, original timestamps. Expected rows are worked out
 * from the lines themselves (comments say how); buckets end at floor(t / width + 1) * width.
 */
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { harness, lines, rowsOf } from './harness.js';

describe('volume, volume-by-category, volume-by-topic', () => {
  // Lines 136–147 are twelve compose messages all stamped 1344447839.891876 (2012-08-08 17:43:59.89 UTC).
  // 1344447839.89 lies in the 1 s, 5 s, 15 s and 1 m buckets ending 1344447840, the hour ending
  // 1344448800 and the day ending 1344470400. Their 4th topic token is "compose".
  const compose = lines(136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147);

  it('counts every message in the bucket of its own timestamp', () => {
    const h = harness(builtinPlugins());
    h.feed(compose);
    for (const ident of ['volume-1s', 'volume-5s', 'volume-1m'])
      expect(rowsOf(h.rt(ident)), ident).toEqual([{ timestamp: 1344447840, volume: 12 }]);
    expect(rowsOf(h.rt('volume-by-category-1h'))).toEqual([{ timestamp: 1344448800, category: 'compose', volume: 12 }]);
    expect(rowsOf(h.rt('volume-by-category-1d'))).toEqual([{ timestamp: 1344470400, category: 'compose', volume: 12 }]);
    h.stop();
  });

  it('volume-by-topic: one row per topic per bucket; compose.rawhide.start appears twice (lines 142 and 147)', () => {
    const h = harness(builtinPlugins());
    h.feed(compose);
    const rows = rowsOf(h.rt('volume-by-topic-1s'), {}, 'asc');
    expect(rows).toHaveLength(11);
    expect(rows).toContainEqual({
      timestamp: 1344447840,
      topic: 'org.fedoraproject.prod.compose.rawhide.start',
      volume: 2,
    });
    expect(rows).toContainEqual({
      timestamp: 1344447840,
      topic: 'org.fedoraproject.prod.compose.branched.pungify.start',
      volume: 1,
    });
    expect(rows.reduce((n, r) => n + (r as unknown as { volume: number }).volume, 0)).toBe(12);
    h.stop();
  });

  it('volume-by-topic-1m puts lines 211 and 212 (same topic, 30 s apart across a minute boundary) in two buckets', () => {
    // 211: 1408799776 → minute ending 1408799820; 212: 1408799746 → minute ending 1408799760.
    const h = harness(builtinPlugins());
    h.feed(lines(211, 212));
    expect(rowsOf(h.rt('volume-by-topic-1m'))).toEqual([
      { timestamp: 1408799820, topic: 'org.fedoraproject.prod.bodhi.update.comment', volume: 1 },
      { timestamp: 1408799760, topic: 'org.fedoraproject.prod.bodhi.update.comment', volume: 1 },
    ]);
    h.stop();
  });
});

describe('volume-by-user and volume-by-package', () => {
  it('counts a message once per user and per package it involves', () => {
    // Line 74: ralph comments on fedmsg-1.0-1 and mentions @codeblock → users codeblock, ralph; package fedmsg;
    //   1344344053.23 → 1 m bucket ending 1344344100.
    // Lines 211, 212: hreindl gives karma to sqlite-3.8.6-2.fc20 (1408799776 → minute ending 1408799820)
    //   and file-5.19-4.fc20 (1408799746 → 1408799760). Line 213: volter comments on sqlite-3.8.6-2.fc20
    //   at 1408787444 → minute ending 1408787460.
    const h = harness(builtinPlugins());
    h.feed(lines(74));
    expect(rowsOf(h.rt('volume-by-user-1m'), {}, 'asc')).toEqual([
      { timestamp: 1344344100, user: 'codeblock', volume: 1 },
      { timestamp: 1344344100, user: 'ralph', volume: 1 },
    ]);
    expect(rowsOf(h.rt('volume-by-package-1m'))).toEqual([{ timestamp: 1344344100, package: 'fedmsg', volume: 1 }]);
    // Two years later: the 1 m buckets keep 7 days behind the newest row, so line 74's rows are evicted.
    h.feed(lines(211, 212, 213));
    expect(rowsOf(h.rt('volume-by-user-1m'), {}, 'asc')).toEqual([
      { timestamp: 1408787460, user: 'volter', volume: 1 },
      { timestamp: 1408799760, user: 'hreindl', volume: 1 },
      { timestamp: 1408799820, user: 'hreindl', volume: 1 },
    ]);
    expect(rowsOf(h.rt('volume-by-package-1m'), {}, 'asc')).toEqual([
      { timestamp: 1408787460, package: 'sqlite', volume: 1 },
      { timestamp: 1408799760, package: 'file', volume: 1 },
      { timestamp: 1408799820, package: 'sqlite', volume: 1 },
    ]);
    expect(h.rt('volume-by-user-1m').inspect().counters.evicted).toBe(2);
    h.stop();
  });

  it('a message about nobody adds no row (line 85, a bodhi repository sync, names no user or package)', () => {
    const h = harness(builtinPlugins());
    h.feed(lines(85));
    expect(rowsOf(h.rt('volume-by-user-1s'))).toEqual([]);
    expect(rowsOf(h.rt('volume-by-package-1s'))).toEqual([]);
    expect(rowsOf(h.rt('volume-1s'))).toEqual([{ timestamp: 1561597842, volume: 1 }]);
    h.stop();
  });
});
