/**
 * The topic router caches each topic's answer, and topics are the publisher's choice (one
 * --bind socket is open to anyone who reaches it): the cache must stay bounded however many
 * new topics come, and answer the same after it starts over.
 */
import { describe, expect, it } from 'vitest';
import { createRouter, ROUTE_CACHE_LIMIT } from '../../src/router.js';

describe('createRouter', () => {
  const route = createRouter([
    { topics: ['org.fedoraproject.prod.buildsys.'] },
    { topics: [''] },
    { topics: ['org.fedoraproject.prod.', 'org.fedoraproject.prod.'] },
  ]);

  it('gives every plugin whose prefix the topic starts with, and the catch-all, in order', () => {
    expect(route('org.fedoraproject.prod.buildsys.build.state.change')).toEqual([0, 1, 2]);
    expect(route('org.fedoraproject.prod.bodhi.update')).toEqual([1, 2]);
    expect(route('org.centos.x')).toEqual([1]);
  });

  it(`keeps at most ${ROUTE_CACHE_LIMIT} topics however many new ones come, answering the same`, () => {
    // As long as a topic may be (decode-frames' 255), each one new.
    const topic = (n: number, prefix: string) => `${prefix}${n}.`.padEnd(255, 'x');
    for (let n = 0; n < ROUTE_CACHE_LIMIT * 2.5; n++) {
      const buildsys = n % 2 === 0;
      const answer = route(topic(n, buildsys ? 'org.fedoraproject.prod.buildsys.' : 'org.other.'));
      expect(answer).toEqual(buildsys ? [0, 1, 2] : [1]);
      expect(route.cached).toBeLessThanOrEqual(ROUTE_CACHE_LIMIT);
    }
    expect(route.cached).toBeGreaterThan(0);
  });
});
