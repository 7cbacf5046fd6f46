import { describe, expect, it } from 'vitest';
import { EndpointTracker, type MonitorEvent } from '../../src/bus-endpoints.js';
import type { Envelope } from '../../src/envelope.js';
import { GapDetector, MAX_SEQ_JUMP, SEQ_JUMP_PER_SECOND, seqJumpBound } from '../../src/gap-detector.js';
import { coalesce } from '../../src/gap-windows.js';
import { mulberry32 } from '../helpers/seeded-random.js';

const env = (fields: Partial<Envelope> & Record<string, unknown>): Envelope =>
  ({ topic: 'org.fedoraproject.prod.wiki.article.edit', timestamp: 1000, msg: {}, ...fields }) as Envelope;

describe('GapDetector', () => {
  it('a seq_id jump from one source is a gap with its window; backwards is a relay restart; sources are separate', () => {
    const g = new GapDetector();
    expect(g.observe(env({ seq_id: 1, timestamp: 10 }), 'a')).toBeNull();
    expect(g.observe(env({ seq_id: 1, timestamp: 11 }), 'b')).toBeNull(); // another relay, its own numbering
    expect(g.observe(env({ seq_id: 2, timestamp: 12 }), 'a')).toBeNull();
    expect(g.observe(env({ seq_id: 5, timestamp: 20 }), 'a')).toMatchObject({
      start: 12,
      end: 20,
      missing: 2,
      basis: 'seq_id',
      source: 'a',
    });
    expect(g.observe(env({ seq_id: 1, timestamp: 21 }), 'a')).toBeNull();
    expect(g.counters).toMatchObject({ seqGaps: 1, seqMissing: 2, relayRestarts: 1 });
    // With a seq_id, i is not even looked at.
    expect(g.observe(env({ seq_id: 2, i: 999, timestamp: 22 }), 'a')).toBeNull();
  });

  it('a seq_id jump past the bound is a reset, not billions of lost messages; the bound grows with the time between receptions', () => {
    const g = new GapDetector();
    expect(g.observe(env({ seq_id: 1 }), 'a', 1000)).toBeNull();
    // Received in the same second: the bound is MAX_SEQ_JUMP missing messages, exactly.
    expect(g.observe(env({ seq_id: 2 + MAX_SEQ_JUMP }), 'a', 1000)).toMatchObject({ missing: MAX_SEQ_JUMP });
    expect(g.observe(env({ seq_id: 3 + 2 * MAX_SEQ_JUMP + 1 }), 'a', 1000)).toBeNull();
    expect(g.counters).toMatchObject({ seqGaps: 1, seqMissing: MAX_SEQ_JUMP, seqResets: 1 });
    // One message numbered 2^53-1: a reset, nothing added to seqMissing.
    expect(g.observe(env({ seq_id: Number.MAX_SAFE_INTEGER }), 'a', 1001)).toBeNull();
    expect(g.counters).toMatchObject({ seqGaps: 1, seqMissing: MAX_SEQ_JUMP, seqResets: 2 });
    // Numbering goes on from the reset: the next step is an ordinary one.
    expect(g.observe(env({ seq_id: 1 }), 'b', 2000)).toBeNull();
    const tenSeconds = seqJumpBound(10);
    expect(tenSeconds).toBe(MAX_SEQ_JUMP + 10 * SEQ_JUMP_PER_SECOND);
    expect(g.observe(env({ seq_id: 2 + tenSeconds }), 'b', 2010)).toMatchObject({ missing: tenSeconds });
    expect(g.observe(env({ seq_id: 3 + 2 * tenSeconds + 1 }), 'b', 2020)).toBeNull();
    expect(g.counters).toMatchObject({ seqGaps: 2, seqMissing: MAX_SEQ_JUMP + tenSeconds, seqResets: 3 });
  });

  it('an i jump past the same bound gives no hint', () => {
    const g = new GapDetector();
    expect(g.observe(env({ i: 1, username: 'u', timestamp: 1000 }))).toBeNull();
    expect(g.observe(env({ i: 2 + MAX_SEQ_JUMP + 1, username: 'u', timestamp: 1000 }))).toBeNull();
    expect(g.observe(env({ i: 3 + 2 * MAX_SEQ_JUMP + 1, username: 'u', timestamp: 1000 }))).toMatchObject({
      missing: MAX_SEQ_JUMP,
      basis: 'i',
    });
    expect(g.counters.iHints).toBe(1);
  });

  it("dates a seq_id window by the receptions (the service's clock), not by the messages' own timestamps", () => {
    const g = new GapDetector();
    expect(g.observe(env({ seq_id: 1, timestamp: 1000 - 30 * 86_400 }), 'a', 1000)).toBeNull();
    expect(g.observe(env({ seq_id: 4, timestamp: 1010 }), 'a', 1012)).toMatchObject({
      start: 1000,
      end: 1012,
      missing: 2,
    });
  });

  it('tracks no publisher key longer than 512 units, from the bus or from a snapshot written before the bound', () => {
    const long = 'x'.repeat(600);
    const g = new GapDetector({
      [`${long}|wiki`]: { i: 1, ts: 1 },
      'apache|wiki': { i: 1, ts: 1 },
      ...Object.fromEntries(Array.from({ length: 10_005 }, (_, n) => [`p${n}|wiki`, { i: 1, ts: 1 }])),
    });
    expect(Object.keys(g.table())).not.toContain(`${long}|wiki`);
    expect(Object.keys(g.table())).toHaveLength(10_000);
    // Each of these would be one more table entry, and one more in every snapshot's meta.
    for (let i = 1; i <= 3; i++) expect(g.observe(env({ username: `${long}${i}`, i: 5 * i }))).toBeNull();
    expect(Object.keys(g.table()).some((k) => k.length > 512)).toBe(false);
    expect(g.counters.iHints).toBe(0);
    const fits = 'y'.repeat(507);
    g.observe(env({ username: fits, i: 1 }));
    expect(Object.keys(g.table())).toContain(`${fits}|wiki`);
  });

  it('keeps at most 10 000 publishers, forgetting the one heard from longest ago', () => {
    const g = new GapDetector();
    const heard = (n: number, i: number) => g.observe(env({ username: `u${n}`, i, timestamp: 1000 + i }));
    for (let n = 0; n < 10_000; n++) heard(n, 1);
    // u0 is heard again (now the most recent); u1 is then the oldest.
    heard(0, 2);
    for (let n = 10_000; n < 25_000; n++) heard(n, 1);
    const keys = Object.keys(g.table());
    expect(keys).toHaveLength(10_000);
    expect(keys[0]).toBe('u15000|wiki');
    expect(keys.at(-1)).toBe('u24999|wiki');
    expect(keys).not.toContain('u0|wiki');
    // Within the cap, recency decides: heard again just before the last 9 999, u0 outlives u1.
    const h = new GapDetector();
    for (let n = 0; n < 10_000; n++) h.observe(env({ username: `v${n}`, i: 1 }));
    h.observe(env({ username: 'v0', i: 2 }));
    h.observe(env({ username: 'new', i: 1 }));
    const kept = Object.keys(h.table());
    expect(kept).toContain('v0|wiki');
    expect(kept).not.toContain('v1|wiki');
  });

  it('forgets exactly in the order last heard, across categories, as a Map re-set on each message would (against a model)', () => {
    const random = mulberry32(7);
    const g = new GapDetector();
    // The model: `<username>|<category>` keys, deleted and set again when heard.
    const model = new Map<string, number>();
    const next = new Map<string, number>();
    for (let step = 0; step < 40_000; step++) {
      // Mostly new publishers early, then mostly ones already heard: both evictions and re-hearings.
      const user = `u${Math.floor(random() * (step < 12_000 ? 1_000_000 : 14_000))}`;
      const category = ['wiki', 'git', 'bodhi', 'a-b'][Math.floor(random() * 4)] as string;
      const key = `${user}|${category}`;
      const i = (next.get(key) ?? 0) + 1;
      next.set(key, i);
      g.observe(env({ topic: `org.fedoraproject.prod.${category}.x`, username: user, i }));
      model.delete(key);
      model.set(key, i);
      if (model.size > 10_000) model.delete(model.keys().next().value as string);
      if (step % 4999 === 0) expect(Object.keys(g.table()), `step ${step}`).toEqual([...model.keys()]);
    }
    expect(Object.entries(g.table()).map(([k, p]) => [k, p.i])).toEqual([...model.entries()]);
  });

  it("is one publisher whenever the joined key is one: 'a|b' in c and 'a' in 'b|c', from the bus or a snapshot", () => {
    const g = new GapDetector({ 'a|b|c': { i: 1, ts: 1 }, lone: { i: 1, ts: 1 } });
    expect(g.observe(env({ topic: 'org.fedoraproject.prod.c.x', username: 'a|b', i: 2 }))).toBeNull();
    expect(g.observe(env({ topic: 'org.fedoraproject.prod.b|c.x', username: 'a', i: 5 }))).toMatchObject({
      missing: 2,
    });
    expect(g.observe(env({ topic: 'org.fedoraproject.prod.c|d.x', username: 'a', i: 1 }))).toBeNull();
    expect(Object.entries(g.table()).map(([k, p]) => [k, p.i])).toEqual([
      ['lone', 1],
      ['a|b|c', 5],
      ['a|c|d', 1],
    ]);
  });

  it('an i jump from a well-behaved publisher is a hint; one restart is not a gap', () => {
    const g = new GapDetector();
    for (let i = 1; i <= 5; i++) expect(g.observe(env({ i, username: 'bodhi', timestamp: i }))).toBeNull();
    expect(g.observe(env({ i: 9, username: 'bodhi', timestamp: 9 }))).toMatchObject({
      start: 5,
      end: 9,
      missing: 3,
      basis: 'i',
    });
    expect(g.observe(env({ i: 1, username: 'bodhi', timestamp: 10 }))).toBeNull();
    expect(g.counters.iHints).toBe(1);
    expect(g.unreliableKeys).toBe(0);
  });

  it('interleaved counters under one key are marked unreliable after a few irregular steps and ignored', () => {
    const g = new GapDetector();
    const workers = [100, 5000, 20, 777];
    let signals = 0;
    for (let n = 0; n < 1000; n++) {
      const w = n % 4;
      const i = ++workers[w]!;
      if (g.observe(env({ i, username: 'apache', timestamp: n }))) signals++;
    }
    expect(signals).toBeLessThanOrEqual(2);
    expect(g.unreliableKeys).toBe(1);
    expect(g.counters.iIgnored).toBeGreaterThan(990);
    // Persisted and restored as unreliable.
    const again = new GapDetector(g.table());
    expect(again.unreliableKeys).toBe(1);
    expect(again.observe(env({ i: 1_000_000, username: 'apache', timestamp: 2000 }))).toBeNull();
  });

  it('an unreliable key is trusted again after a long clean run', () => {
    const g = new GapDetector({ 'apache|wiki': { i: 1, ts: 1, unreliable: true } });
    for (let i = 2; i <= 201; i++) g.observe(env({ i, username: 'apache', timestamp: i }));
    expect(g.unreliableKeys).toBe(0);
    expect(g.observe(env({ i: 300, username: 'apache', timestamp: 300 }))).toMatchObject({ basis: 'i', missing: 98 });
  });
});

describe('coalesce', () => {
  it('merges overlapping windows and caps how many are fetched by joining the closest', () => {
    expect(
      coalesce([
        { start: 5, end: 10 },
        { start: 0, end: 6 },
        { start: 20, end: 30 },
      ]),
    ).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
    ]);
    const many = Array.from({ length: 50 }, (_, k) => ({ start: k * 10, end: k * 10 + 1 + (k === 7 ? 8.5 : 0) }));
    const out = coalesce(many, 4);
    expect(out).toHaveLength(4);
    // The union still covers every window.
    for (const w of many) expect(out.some((o) => o.start <= w.start && o.end >= w.end)).toBe(true);
    expect(
      coalesce([
        { start: Number.NaN, end: 3 },
        { start: 5, end: 2 },
      ]),
    ).toEqual([]);
  });
});

describe('EndpointTracker', () => {
  const run = (events: MonitorEvent[], endpoint = 'tcp://relay.example:9940') => {
    const changes: string[] = [];
    const t = new EndpointTracker(
      endpoint,
      () => 0,
      (s) => changes.push(s.state),
    );
    for (const e of events) t.event(e);
    return { status: t.current, changes };
  };

  it('retries without a connect attempt: the name did not resolve', () => {
    const { status } = run(['connect:retry', 'connect:retry']);
    expect(status).toMatchObject({ state: 'unresolved', retries: 2, lastError: 'host relay.example did not resolve' });
  });

  it('retries without a connect attempt to an IP address: no socket could be opened, not a name that did not resolve', () => {
    // libzmq resolves, then opens a socket, and retries at once when socket() fails (EMFILE):
    // measured under `ulimit -n 256` with every descriptor held by WebSocket clients, /readyz
    // said "host 127.0.0.1 did not resolve".
    for (const [endpoint, host] of [
      ['tcp://127.0.0.1:9940', '127.0.0.1'],
      ['tcp://[::1]:9940', '[::1]'],
    ] as const)
      expect(run(['connect:retry'], endpoint).status).toMatchObject({
        state: 'retrying',
        retries: 1,
        lastError: `no socket could be opened to connect to ${host} (out of file descriptors?)`,
      });
  });

  it('attempts that close and retry: refused; a handshake: connected, retries reset, then a drop', () => {
    expect(run(['connect:delay', 'close', 'connect:retry']).status).toMatchObject({
      state: 'retrying',
      lastError: 'connection to relay.example refused or failed',
    });
    const { status, changes } = run(['connect:delay', 'close', 'connect:retry', 'connect', 'handshake', 'disconnect']);
    expect(changes).toEqual(['retrying', 'connected', 'disconnected']);
    expect(status.retries).toBe(0);
  });
});
