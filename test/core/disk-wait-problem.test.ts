/** /readyz's words for a write the disk has not finished (readiness.ts diskWaitProblem), at its bound. */
import { describe, expect, it } from 'vitest';
import { diskWaitProblem } from '../../src/readiness.js';

describe('diskWaitProblem', () => {
  it('names a journal commit or snapshot write from the bound on, never below it, nothing with a bound of 0', () => {
    expect(diskWaitProblem({ journal: null, snapshot: null }, 60)).toBeNull();
    expect(diskWaitProblem({ journal: 59_999, snapshot: 59_999 }, 60)).toBeNull();
    expect(diskWaitProblem({ journal: 60_000, snapshot: null }, 60)).toBe(
      'journal commit pending for 60 s (--disk-hang-timeout 60): the disk has not finished a write, and every message waits on it',
    );
    expect(diskWaitProblem({ journal: null, snapshot: 90_500 }, 60)).toBe(
      'snapshot write pending for 90 s (--disk-hang-timeout 60): the disk has not finished it',
    );
    expect(diskWaitProblem({ journal: 61_000, snapshot: 62_000 }, 60)).toMatch(
      /^journal commit pending for 61 s .*; snapshot write pending for 62 s /,
    );
    expect(diskWaitProblem({ journal: 1e9, snapshot: 1e9 }, 0)).toBeNull();
  });
});
