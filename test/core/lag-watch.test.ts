import { describe, expect, it } from 'vitest';
import { LAG_LIMIT_SECONDS, LAG_MIN_MESSAGES, LagWatch } from '../../src/lag-watch.js';

describe('LagWatch: intake behind the bus', () => {
  const T = 1_800_000_000;

  it('is behind only while live messages keep coming and the newest is dated past the limit', () => {
    const w = new LagWatch();
    expect(w.problem(T, { live: 0, newest: T - 1000 })).toBeNull();
    // A quiet bus: nothing came in, however old the newest message.
    expect(w.problem(T + 60, { live: 0, newest: T - 1000 })).toBeNull();
    // Too few to conclude.
    expect(w.problem(T + 61, { live: LAG_MIN_MESSAGES - 1, newest: T - 1000 })).toBeNull();
    expect(w.problem(T + 62, { live: LAG_MIN_MESSAGES, newest: T - 1000 })).toMatch(
      /intake is behind the bus: the newest live message taken in is dated 1062 s ago/,
    );
    expect(w.lag(T + 62, { live: LAG_MIN_MESSAGES, newest: T - 1000 })).toBe(1062);
    // Within the limit: not behind, though the lag is reported.
    expect(w.problem(T + 63, { live: 500, newest: T + 63 - LAG_LIMIT_SECONDS })).toBeNull();
    expect(w.lag(T + 63, { live: 500, newest: T + 63 - LAG_LIMIT_SECONDS })).toBe(LAG_LIMIT_SECONDS);
  });

  it('forgets messages older than its window: a stretch of old ones long past, then a quiet bus, is not behind', () => {
    const w = new LagWatch();
    for (let t = 0; t <= 60; t += 5) w.problem(T + t, { live: t * 10, newest: T - 1000 + t });
    expect(w.problem(T + 60, { live: 600, newest: T - 940 })).toMatch(/behind/);
    // Nothing more comes in for a minute.
    for (let t = 65; t <= 130; t += 5) w.problem(T + t, { live: 600, newest: T - 940 });
    expect(w.problem(T + 130, { live: 600, newest: T - 940 })).toBeNull();
    expect(w.lag(T + 130, { live: 600, newest: T - 940 })).toBe(0);
  });
});
