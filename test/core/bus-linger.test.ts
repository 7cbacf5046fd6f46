import { describe, expect, it } from 'vitest';
import { AFTER_CUT_WAIT_MS, BatchLinger, CUT_MARGIN_MS, type LingerTimers, lingerWait } from '../../src/bus-linger.js';

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

/** Timers driven by hand: `turn()` ends the event loop's turn (setImmediate callbacks), `advance(ms)` runs due timeouts. */
function manualTimers(start = 1_764_000_000_000) {
  let now = start;
  let soon: { fn: () => void; live: boolean }[] = [];
  let later: { due: number; fn: () => void; live: boolean }[] = [];
  const timers: LingerTimers = {
    now: () => now,
    after(ms, fn) {
      const t = { due: now + ms, fn, live: true };
      later.push(t);
      return () => {
        t.live = false;
      };
    },
    soon(fn) {
      const t = { fn, live: true };
      soon.push(t);
      return () => {
        t.live = false;
      };
    },
  };
  const turn = () => {
    const run = soon;
    soon = [];
    for (const t of run) if (t.live) t.fn();
  };
  const advance = (ms: number) => {
    now += ms;
    const due = later.filter((t) => t.live && t.due <= now);
    later = later.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  };
  return { timers, turn, advance, pending: () => later.filter((t) => t.live).length };
}

const settled = async (p: Promise<void> | undefined) => {
  let done = false;
  void p?.then(() => {
    done = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  return done;
};

describe("the open batch's linger on the bus thread (BatchLinger)", () => {
  it('has a message that woke the thread wait out the linger, not only the one that opened the batch', async () => {
    const t = manualTimers();
    let expired = 0;
    const linger = new BatchLinger(25, 0, () => expired++, t.timers);
    // Message 1 wakes the thread and opens the batch; message 2 was already queued and is read
    // in the same turn, back to back (nothing to wait for: the loop asks libzmq nothing).
    linger.arrived();
    linger.start();
    expect(linger.idleWait(1)).toBeDefined();
    linger.arrived();
    expect(linger.idleWait(2)).toBeUndefined();
    t.turn();
    // Message 3 comes 5 ms later and wakes the thread: it too sleeps through the rest of the
    // linger, instead of the thread waking again for every message until it ends.
    t.advance(5);
    linger.arrived();
    const wait = linger.idleWait(3);
    expect(wait).toBeDefined();
    expect(await settled(wait)).toBe(false);
    t.turn();
    t.advance(20);
    expect(await settled(wait)).toBe(true);
    // Over: what queued meanwhile is read back to back, then the batch goes on the next turn.
    linger.arrived();
    expect(linger.idleWait(4)).toBeUndefined();
    expect(expired).toBe(0);
    t.turn();
    expect(expired).toBe(1);
  });

  it('ends at once when the batch goes early (full, closing), and then hands nothing over itself', async () => {
    const t = manualTimers();
    let expired = 0;
    const linger = new BatchLinger(25, 100, () => expired++, t.timers);
    linger.arrived();
    linger.start();
    const wait = linger.idleWait(1);
    expect(t.pending()).toBe(1);
    linger.end();
    expect(linger.isOpen).toBe(false);
    expect(await settled(wait)).toBe(true);
    expect(linger.idleWait(1)).toBeUndefined();
    t.advance(1000);
    t.turn();
    expect(expired).toBe(0);
  });

  it('gathers until the cut before the next push tick, and with no linger only until the next turn', () => {
    const t = manualTimers(1_764_000_000_080);
    let expired = 0;
    const aligned = new BatchLinger(25, 100, () => expired++, t.timers);
    aligned.start();
    t.advance(CUT_MARGIN_MS - 1);
    t.turn();
    expect(expired).toBe(0);
    t.advance(1);
    t.turn();
    expect(expired).toBe(1);
    const none = new BatchLinger(0, 100, () => expired++, t.timers);
    none.start();
    t.turn(); // the linger ends
    t.turn(); // the batch goes
    expect(expired).toBe(2);
  });
});
