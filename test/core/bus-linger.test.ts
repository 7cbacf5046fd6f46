import { describe, expect, it } from 'vitest';
import { AFTER_CUT_WAIT_MS, CUT_MARGIN_MS, lingerWait } from '../../src/bus-linger.js';

describe('how long the bus thread lets a batch gather (bus-linger.ts)', () => {
  it('waits the linger when no push tick is known, and never when the linger is 0', () => {
    expect(lingerWait(1_764_000_000_123, 25, 0)).toBe(25);
    expect(lingerWait(1_764_000_000_123, 0, 100)).toBe(0);
  });

  it('hands a batch over by the cut before the next tick, and never later than the linger', () => {
    const tick = 100;
    const cut = tick - CUT_MARGIN_MS;
    const base = 1_764_000_000_000; // a multiple of the tick
    expect(lingerWait(base, 25, tick)).toBe(25);
    expect(lingerWait(base + 80, 25, tick)).toBe(cut - 80);
    expect(lingerWait(base + cut - 1, 25, tick)).toBe(1);
    for (let phase = 0; phase < tick; phase++) {
      for (const linger of [1, 5, 25, 1000]) {
        const wait = lingerWait(base + phase, linger, tick);
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(linger);
        // Before the cut: handed over by it, so the tick that follows pushes it.
        if (phase < cut) expect(phase + wait).toBeLessThanOrEqual(cut);
        else expect(wait).toBe(Math.min(linger, AFTER_CUT_WAIT_MS));
      }
    }
  });

  it('keeps a short tick three quarters for gathering', () => {
    // A 20 ms tick: the cut is 5 ms before it, not 10.
    expect(lingerWait(1_764_000_000_000, 1000, 20)).toBe(15);
    expect(lingerWait(1_764_000_000_014, 1000, 20)).toBe(1);
    expect(lingerWait(1_764_000_000_015, 1000, 20)).toBe(AFTER_CUT_WAIT_MS);
  });
});
