import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppendSettlement } from '../../snapshots/append-settlement.js';

/**
 * A stopped AppendSettlement (its store closing) arms no probe timer again: a write watched after
 * stop() armed one, which fired and probed the closed store, in a process that goes on running
 * (an embedder's, after close()). The timer is unref'd, so the process's resource list does not
 * show it: its probe, on a clock moved by hand, is what tells.
 */
const PROBE_AFTER_MS = 60_000;
const never = () => new Promise<never>(() => undefined);
const made: AppendSettlement[] = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const s of made.splice(0)) s.stop();
  vi.useRealTimers();
});

function settlement(): { s: AppendSettlement; probes: number[] } {
  const probes: number[] = [];
  const s = new AppendSettlement({
    probe: () => {
      probes.push(Date.now());
      return Promise.resolve();
    },
    probeAfterMs: PROBE_AFTER_MS,
    now: () => Date.now(),
  });
  made.push(s);
  return { s, probes };
}

describe('AppendSettlement.stop()', () => {
  it('before it, a write pending past the bound gets a probe queued behind it', () => {
    const { s, probes } = settlement();
    const start = Date.now();
    void s.watch(never());
    vi.advanceTimersByTime(PROBE_AFTER_MS);
    expect(probes).toEqual([start + PROBE_AFTER_MS]);
  });

  it('is for good: writes watched after it get no probe, however long they stay pending', () => {
    const { s, probes } = settlement();
    s.stop();
    void s.watch(never());
    void s.watchWrite(never());
    vi.advanceTimersByTime(10 * PROBE_AFTER_MS);
    expect(probes).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
