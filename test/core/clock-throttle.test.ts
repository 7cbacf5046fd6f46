import { describe, expect, it, vi } from 'vitest';
import { ManualClock, nextMultiple, systemClock } from '../../src/clock.js';
import { throttled } from '../../src/logger.js';

describe('rate-limited logging on an injected clock', () => {
  it('lets a burst through per window per key and reports what it suppressed', () => {
    const clock = new ManualClock(0);
    const limit = throttled(() => clock.now(), 10_000, 2);
    const lines: string[] = [];
    const log = (key: string) => limit(key, (suppressed) => lines.push(`${key}:${suppressed}`));
    for (let n = 0; n < 5; n++) log('decode:invalid_json');
    log('plugin:volume-1s');
    expect(lines).toEqual(['decode:invalid_json:0', 'decode:invalid_json:0', 'plugin:volume-1s:0']);
    clock.advance(10_000);
    log('decode:invalid_json');
    // The three lines held back in the last window are reported on the first line of the next.
    expect(lines.at(-1)).toBe('decode:invalid_json:3');
  });

  it.each([
    // every(): from when it is set; aligned(): on multiples of the period of the clock, whenever it starts.
    { kind: 'every', start: 1_000, ms: 300, want: [1_300, 1_600, 1_900] },
    {
      kind: 'aligned',
      start: 1_050,
      ms: 100,
      want: [1_100, 1_200, 1_300, 1_400, 1_500, 1_600, 1_700, 1_800, 1_900, 2_000],
    },
  ] as const)(
    'fires $kind timers in order as time is advanced, and not after they are cancelled',
    ({ kind, start, ms, want }) => {
      const clock = new ManualClock(start);
      const fired: number[] = [];
      const cancel = clock[kind](ms, () => fired.push(clock.now()));
      clock.advance(1_000);
      expect(fired).toEqual(want);
      cancel();
      clock.advance(1_000);
      expect(fired).toHaveLength(want.length);
      expect(clock.now()).toBe(start + 2_000);
    },
  );

  it('fires the aligned timer of the system clock repeatedly, and not after it is cancelled', async () => {
    let calls = 0;
    const cancel = systemClock.aligned(10, () => calls++);
    while (calls < 3) await new Promise((r) => setTimeout(r, 10));
    cancel();
    const after = calls;
    // A second aligned timer set after the cancel is due no earlier than the cancelled one would
    // have been, and one multiple early at most (a timer that fired early aims one further):
    // by its third call the cancelled one was due at least once.
    let barrier = 0;
    const stopBarrier = systemClock.aligned(10, () => barrier++);
    while (barrier < 3) await new Promise((r) => setTimeout(r, 10));
    stopBarrier();
    expect(calls).toBe(after);
  });

  it('aims an aligned timer at the next multiple, whether it fired early, late or the wall clock stepped', () => {
    expect(nextMultiple(1_099.6, 1_100, 100)).toBe(1_200); // a moment early: not again at 1_100
    expect(nextMultiple(1_100, 1_100, 100)).toBe(1_200);
    expect(nextMultiple(1_130, 1_100, 100)).toBe(1_200); // late
    expect(nextMultiple(1_450, 1_100, 100)).toBe(1_500); // very late: what it missed is skipped
    expect(nextMultiple(1_000_050, 3_601_000_100, 100)).toBe(1_000_100); // the clock stepped back an hour
    expect(nextMultiple(1_050, Number.NaN, 100)).toBe(1_100); // the first
  });

  it('keeps ticking on the system clock after the wall clock steps back', () => {
    vi.useFakeTimers({ now: 3_600_000_000 });
    try {
      let calls = 0;
      const cancel = systemClock.aligned(100, () => calls++);
      vi.advanceTimersByTime(250);
      expect(calls).toBe(2);
      vi.setSystemTime(3_600_000_250 - 3_600_000);
      vi.advanceTimersByTime(450);
      // The timer armed before the step fires once; from then on it aims by the new time.
      expect(calls).toBeGreaterThanOrEqual(5);
      cancel();
    } finally {
      vi.useRealTimers();
    }
  });
});
