import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
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

  it('fires periodic timers in order as time is advanced, and not after they are cancelled', () => {
    const clock = new ManualClock(1_000);
    const fired: number[] = [];
    const cancel = clock.every(300, () => fired.push(clock.now()));
    clock.advance(1_000);
    expect(fired).toEqual([1_300, 1_600, 1_900]);
    cancel();
    clock.advance(1_000);
    expect(fired).toHaveLength(3);
    expect(clock.now()).toBe(3_000);
  });
});
