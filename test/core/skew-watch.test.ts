import { describe, expect, it } from 'vitest';
import { SKEW_MIN_REFUSED, SkewWatch } from '../../src/skew-watch.js';

describe('SkewWatch', () => {
  it('degrades when most messages of the last minute were refused as future_timestamp, and recovers when they pass again', () => {
    const w = new SkewWatch();
    expect(w.problem(1000, { passed: 500, future: 3 }, 300)).toBeNull();
    // 30 s later: 40 refused, 10 passed.
    expect(w.problem(1030, { passed: 510, future: 43 }, 300)).toMatch(
      /^most messages refused as dated ahead of this host's clock \(future_timestamp\): 40 of 50 in the last 30 s; .*--max-clock-skew 300 s/,
    );
    // A minute later the window starts at 1030's sample: 100 passed, no refusal.
    expect(w.problem(1060, { passed: 610, future: 43 }, 300)).toBeNull();
    expect(w.problem(1095, { passed: 710, future: 43 }, 300)).toBeNull();
  });

  it('draws no conclusion from a handful of odd publishers, or from fewer refusals than passes', () => {
    const w = new SkewWatch();
    w.problem(0, { passed: 0, future: 0 }, 300);
    expect(w.problem(20, { passed: 0, future: SKEW_MIN_REFUSED - 1 }, 300)).toBeNull();
    expect(w.problem(40, { passed: 1000, future: 400 }, 300)).toBeNull();
  });

  it('degrades on a quiet bus where every message is refused, though no minute holds 20, and recovers with the next one taken in', () => {
    const w = new SkewWatch();
    // One message every 10 s, each refused; /readyz asked every 5 s. A minute holds 6 refusals.
    let future = 0;
    const seen: (string | null)[] = [];
    for (let t = 0; t <= 300; t += 5) {
      if (t > 0 && t % 10 === 0) future++;
      seen.push(w.problem(1000 + t, { passed: 40, future }, 300));
    }
    // Nothing from the first 19 refusals (195 s), degraded from the 20th on.
    expect(seen.slice(0, 40).every((p) => p === null)).toBe(true);
    expect(seen[40]).toMatch(
      /^every message refused as dated ahead of this host's clock \(future_timestamp\): 20, none taken in for 200 s; .*--max-clock-skew 300 s/,
    );
    expect(seen.at(-1)).toMatch(/: 30, none taken in for 300 s/);
    // One message taken in: the stall is over, and the last minute holds too few refusals to judge.
    expect(w.problem(1305, { passed: 41, future }, 300)).toBeNull();
  });
});
