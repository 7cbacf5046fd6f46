/**
 * The plugins beyond the originals: contribution calendar, latest event per topic and per
 * category, top users and packages over sliding windows. Expected rows come from the chosen
 * sample lines (comments say why).
 */
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { topUsers } from '../../plugins/top-n.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { latestEventPerCategory, latestEventPerTopic, MAX_LATEST_ROWS } from '../../plugins/latest-event.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { harness, lines, rowsOf } from './harness.js';

describe('contribution-calendar-1d', () => {
  // 211, 212: hreindl on 2014-08-23 (13:16, 13:15 UTC); 213: volter the same day 09:50; the day ends 1408838400.
  // 74: ralph and codeblock on 2012-08-07 (day ending 1344384000).
  it("counts messages per UTC day per user and answers one user's calendar", () => {
    const h = harness(builtinPlugins());
    h.feed(lines(74, 211, 212, 213));
    const rt = h.rt('contribution-calendar-1d');
    expect(rowsOf(rt, { user: 'hreindl' })).toEqual([
      { timestamp: 1408838400, user: 'hreindl', date: '2014-08-23', volume: 2 },
    ]);
    // ralph's day is two years before the newest day: outside the default 366 days, inside 3660.
    expect(rowsOf(rt, { user: 'ralph' })).toEqual([]);
    expect(rowsOf(rt, { user: 'ralph', days: 3660 })).toEqual([
      { timestamp: 1344384000, user: 'ralph', date: '2012-08-07', volume: 1 },
    ]);
    expect(rowsOf(rt, {}, 'asc')).toEqual([
      { timestamp: 1344384000, user: 'codeblock', date: '2012-08-07', volume: 1 },
      { timestamp: 1344384000, user: 'ralph', date: '2012-08-07', volume: 1 },
      { timestamp: 1408838400, user: 'hreindl', date: '2014-08-23', volume: 2 },
      { timestamp: 1408838400, user: 'volter', date: '2014-08-23', volume: 1 },
    ]);
    h.stop();
  });
});

describe('latest-event-per-topic and latest-event-per-category', () => {
  it('keeps the newest message by message time, not arrival order', () => {
    // 211 (1408799776), 212 (1408799746), 213 (1408787444) share a topic and arrive in that order:
    // the newest is 211, the first to arrive. 86 (stg, 1389298195) and 87 (prod, 1389298512) are
    // koji task messages on two topics; 87 is the newest buildsys event.
    const h = harness(builtinPlugins());
    h.feed(lines(211, 212, 213, 86, 87));
    const sqlite = {
      timestamp: 1408799776,
      topic: 'org.fedoraproject.prod.bodhi.update.comment',
      category: 'bodhi',
      msg_id: '2014-10047900-1379-4ede-ba94-8319823541a8',
      agent: 'hreindl',
      link: 'https://bodhi.fedoraproject.org/updates/sqlite-3.8.6-2.fc20',
      subtitle: 'hreindl commented on bodhi update sqlite-3.8.6-2.fc20 (karma: 1)',
    };
    const failedBuild = {
      timestamp: 1389298512,
      topic: 'org.fedoraproject.prod.buildsys.task.state.change',
      category: 'buildsys',
      msg_id: '2014-991dbbad-b5f5-4f62-b889-d3b637d0cb49',
      agent: 'ralph',
      link: 'http://koji.fedoraproject.org/koji/taskinfo?taskID=6380373',
      subtitle: "ralph's scratch build of python-websocket-client-0.12.0-1.fc20.src.rpm failed",
    };
    const topics = h.rt('latest-event-per-topic');
    expect(rowsOf(topics)).toHaveLength(3);
    expect(rowsOf(topics, { category: 'bodhi' })).toEqual([sqlite]);
    expect(rowsOf(topics, { prefix: 'org.fedoraproject.prod.buildsys.' })).toEqual([failedBuild]);
    expect(rowsOf(h.rt('latest-event-per-category'))).toEqual([sqlite, failedBuild]);
    expect(rowsOf(h.rt('latest-event-per-category'), { category: 'buildsys' })).toEqual([failedBuild]);
    h.stop();
  });

  it('keeps at most MAX_LATEST_ROWS topics and categories, the one seen longest ago giving way', () => {
    const h = harness([latestEventPerTopic(), latestEventPerCategory()]);
    const extra = 500;
    // Made-up topics, each its own category, in time order; then the oldest topic once more.
    const flood = Array.from({ length: MAX_LATEST_ROWS + extra }, (_, i) => ({
      topic: `org.example.prod.flood${i}.x`,
      timestamp: 1_000_000 + i,
      msg: {},
    }));
    h.feed(flood);
    h.feed([{ topic: 'org.example.prod.flood0.x', timestamp: 2_000_000, msg: {} }]);
    for (const ident of ['latest-event-per-topic', 'latest-event-per-category']) {
      const rt = h.rt(ident);
      expect(rt.stats().rows).toBe(MAX_LATEST_ROWS);
      expect(rt.stats().counters.dropped).toMatchObject({ key_cap: 0, update_error: 0 });
      const kept = rowsOf(rt, {}, 'asc').map((r) => (r as unknown as { category: string }).category);
      // flood0 came back as the newest; flood1..flood500 gave way to make room, oldest first.
      expect(kept[0]).toBe(`flood${extra + 1}`);
      expect(kept.at(-1)).toBe('flood0');
      expect(kept).not.toContain(`flood${extra}`);
    }
    h.stop();
  });

  it('keeps msg_id only when usable as an id: a huge one is not stored in the row', () => {
    // A row is bounded (subtitle 4096 units, topic 255) except for msg_id, which came whole:
    // 900 KB ids on made-up topics held 0.9 MB per row, up to MAX_LATEST_ROWS of them.
    const h = harness([latestEventPerTopic()]);
    const id200 = `2026-${'a'.repeat(195)}`;
    h.feed([
      { topic: 'org.example.prod.a.x', timestamp: 10, msg: {}, msg_id: 'x'.repeat(900_000) },
      { topic: 'org.example.prod.b.x', timestamp: 11, msg: {}, msg_id: 'with\u0000control' },
      { topic: 'org.example.prod.c.x', timestamp: 12, msg: {}, msg_id: id200 },
    ]);
    const ids = rowsOf(h.rt('latest-event-per-topic'), {}, 'asc').map(
      (r) => (r as unknown as { msg_id: unknown }).msg_id,
    );
    expect(ids).toEqual([null, null, id200]);
    h.stop();
  });

  it('leaves out subtitle and keeps null agent/link when the meta has none', () => {
    const h = harness(builtinPlugins());
    h.feed([{ topic: 'org.example.prod.unknownthing.happened', timestamp: 10, msg: {} }]);
    expect(rowsOf(h.rt('latest-event-per-topic'))).toEqual([
      {
        timestamp: 10,
        topic: 'org.example.prod.unknownthing.happened',
        category: 'unknownthing',
        msg_id: null,
        agent: null,
        link: null,
      },
    ]);
    h.stop();
  });
});

describe('top-users and top-packages', () => {
  // Restamped lines (bodies untouched), T on a minute boundary:
  //   211 at T       hreindl / sqlite
  //   212 at T+10    hreindl / file
  //   74  at T+2000  codeblock, ralph / fedmsg
  //   213 at T+4000  volter / sqlite
  // At T+4000 the hour window holds the minutes from T+420 on (60 one-minute steps ending at T+3960),
  // so 211 and 212 have left it; the day and week windows still hold everything.
  const T = 1_699_999_980;
  const at = (line: number, t: number): RawEnvelope => ({ ...lines(line)[0]!, timestamp: t });
  const feed = [at(211, T), at(212, T + 10), at(74, T + 2000), at(213, T + 4000)];

  it('ranks over the last hour, day and week of message time', () => {
    const h = harness(builtinPlugins());
    h.feed(feed);
    const users = h.rt('top-users');
    const ranked = (params: Record<string, unknown>) =>
      rowsOf(users, params).map(
        (r) => r as unknown as { rank: number; user: string; volume: number; window: string; timestamp: number },
      );
    expect(ranked({ window: 'hour' }).map((r) => [r.rank, r.user, r.volume])).toEqual([
      [1, 'codeblock', 1],
      [2, 'ralph', 1],
      [3, 'volter', 1],
    ]);
    expect(ranked({}).map((r) => [r.rank, r.user, r.volume, r.window])).toEqual([
      [1, 'hreindl', 2, 'day'],
      [2, 'codeblock', 1, 'day'],
      [3, 'ralph', 1, 'day'],
      [4, 'volter', 1, 'day'],
    ]);
    expect(ranked({ window: 'week', n: 1 })).toEqual([
      { timestamp: T + 4000, window: 'week', rank: 1, user: 'hreindl', volume: 2 },
    ]);
    const packages = h.rt('top-packages');
    expect(rowsOf(packages, { window: 'hour' })).toEqual([
      { timestamp: T + 4000, window: 'hour', rank: 1, package: 'fedmsg', volume: 1 },
      { timestamp: T + 4000, window: 'hour', rank: 2, package: 'sqlite', volume: 1 },
    ]);
    expect(rowsOf(packages, { window: 'day' }).map((r) => (r as unknown as { package: string }).package)).toEqual([
      'sqlite',
      'fedmsg',
      'file',
    ]);
    h.stop();
  });

  it('forgets everything once message time moves past the week, and its state shrinks back', () => {
    const h = harness(builtinPlugins());
    h.feed(feed);
    const rt = h.rt('top-users');
    const sizeBefore = Object.values(rt.inspect().stores).reduce((n, s) => n + s.size, 0);
    // hreindl's minute (211 and 212 share it) left the hour window when 213 arrived.
    const expiredBefore = rt.inspect().counters.expired;
    expect(expiredBefore).toBe(1);
    h.feed([at(211, T + 8 * 86_400)]);
    for (const window of ['hour', 'day', 'week']) {
      expect(
        rowsOf(rt, { window }).map((r) => [
          (r as unknown as { user: string }).user,
          (r as unknown as { volume: number }).volume,
        ]),
      ).toEqual([['hreindl', 1]]);
    }
    const sizeAfter = Object.values(rt.inspect().stores).reduce((n, s) => n + s.size, 0);
    // hreindl: one (slice, user) count in each of the hour, day and week counters (storage layout of version 2).
    expect(sizeAfter).toBe(3);
    expect(sizeAfter).toBeLessThan(sizeBefore);
    // Every entry stored before the jump expired, and the runtime counted it.
    expect(rt.inspect().counters.expired - expiredBefore).toBe(sizeBefore);
    h.stop();
  });

  it('a late message counts in the windows that still cover its time, and no others', () => {
    const h = harness(builtinPlugins());
    h.feed([...feed, at(212, T + 5)]); // 212 again, 5 s after T: behind the hour window, inside the day
    const rt = h.rt('top-users');
    expect(rowsOf(rt, { window: 'hour' }).map((r) => (r as unknown as { user: string }).user)).not.toContain('hreindl');
    expect(rowsOf(rt, { window: 'day', n: 1 })).toMatchObject([{ user: 'hreindl', volume: 3 }]);
    h.stop();
  });

  it('ranks exactly as a full sort would, ties by name, for every n (the view selects, it does not sort every name)', () => {
    const h = harness([topUsers()]);
    const random = mulberry32(11);
    const tally = new Map<string, number>();
    const envelopes: RawEnvelope[] = [];
    for (let i = 0; i < 400; i++) {
      // 300 names, counts from a skewed draw: many ties at every volume.
      const users = new Set(
        Array.from({ length: 1 + Math.floor(random() * 6) }, () => `u${Math.floor(random() ** 2 * 300)}`),
      );
      for (const u of users) tally.set(u, (tally.get(u) ?? 0) + 1);
      envelopes.push({
        topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
        timestamp: T + i,
        msg_id: `rank-${i}`,
        msg: { attendees: Object.fromEntries([...users].map((u) => [u, 1])) },
      } as RawEnvelope);
    }
    h.feed(envelopes);
    const expected = [...tally].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const rt = h.rt('top-users');
    for (const n of [1, 2, 7, 50, 100]) {
      const got = rowsOf(rt, { window: 'hour', n }, 'asc').map((r) => {
        const row = r as unknown as { rank: number; user: string; volume: number };
        return [row.rank, row.user, row.volume];
      });
      expect(got, `n=${n}`).toEqual(expected.slice(0, n).map(([u, v], i) => [i + 1, u, v]));
    }
    h.stop();
  });
});
