import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { deriveMeta, MAX_NAME } from '../../src/meta/index.js';
import { USER_HEADER } from '../../src/meta/header-names.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/**
 * Usernames and packages are deduplicated, trimmed, cut at the fan-out limit and sorted. Short
 * lists (most messages name one or two) take an array path, longer ones a Set: both must give
 * what this model gives, at the switch-over and at the fan-out limit.
 */
function model(names: readonly string[], max: number): { names: string[]; truncated: boolean } {
  const seen = new Set<string>();
  let truncated = false;
  for (const v of names) {
    const t = v.trim();
    if (t === '' || seen.has(t)) continue;
    if (t.length > MAX_NAME) {
      truncated = true;
      continue;
    }
    if (seen.size >= max) {
      truncated = true;
      break;
    }
    seen.add(t);
  }
  return { names: [...seen].sort(), truncated };
}

describe('the names of a message', () => {
  it('are the trimmed distinct names in sorted order, cut at the fan-out limit, for lists of 0 to 12 names', () => {
    const random = mulberry32(20261203);
    const pool = [
      'bob',
      ' bob',
      'bob ',
      'alice',
      'Alice',
      '  ',
      '',
      'zed',
      'x'.repeat(MAX_NAME + 1),
      'carol',
      'dan',
      'éva',
    ];
    let checked = 0;
    for (let round = 0; round < 3000; round++) {
      const n = round % 13;
      // Header keys are distinct; " bob" and "bob " still trim to one name.
      const names = [...new Set(Array.from({ length: n }, () => pool[Math.floor(random() * pool.length)] as string))];
      const max = Math.floor(random() * 6);
      const headers: Record<string, boolean> = {};
      for (const name of names) headers[`${USER_HEADER}${name}`] = true;
      let truncated = false;
      const envelope = { topic: 'org.fedoraproject.prod.bodhi.update.comment', msg: {}, timestamp: 1, headers };
      const meta = deriveMeta(envelope as unknown as Envelope, {
        maxFanout: max,
        onTruncated: () => (truncated = true),
      });
      const want = model(names, max);
      expect(meta.usernames).toEqual(want.names);
      expect(truncated).toBe(want.truncated);
      checked += names.length;
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});
