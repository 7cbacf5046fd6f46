import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/http/token-bucket.js';

describe('TokenBucket', () => {
  it('starts full, refuses once empty, refills at its rate up to the burst, and says when the next token comes', () => {
    const b = new TokenBucket(10, 4, 0);
    for (let i = 0; i < 4; i++) expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.msUntilToken(0)).toBe(100);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
    expect(b.full(100)).toBe(false);
    // A long pause fills it to the burst, never past it.
    expect(b.full(10_000)).toBe(true);
    for (let i = 0; i < 4; i++) expect(b.take(10_000)).toBe(true);
    expect(b.take(10_000)).toBe(false);
  });
});
