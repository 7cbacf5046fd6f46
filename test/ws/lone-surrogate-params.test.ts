import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Live, RawClient, startLive } from './harness.js';

/**
 * A plugin's string parameter holding a lone surrogate, sent in a subscribe frame (JSON may
 * carry one; a URL cannot: its bytes decode to U+FFFD). The canonical view name percent-encodes
 * each value, which throws on a lone surrogate: the subscription got no answer at all, and the
 * throw went to the server log as an internal error, once per frame.
 */
describe('subscribe: a lone surrogate in a string parameter', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(async () => live?.close());

  it('is a bad_parameter error frame naming the parameter; a surrogate pair is text like any other', async () => {
    const c = await RawClient.open(live.wsUrl);
    for (const [id, category] of [
      [1, '\ud800'],
      [2, 'a\udc00b'],
      [3, 'bodhi\ud83d\ude00'],
    ] as const)
      c.send({ op: 'subscribe', ident: 'live-per-category-1m', id, params: { category } });
    for (const id of [1, 2]) {
      const answer = await c.next((f) => f['id'] === id, `the answer to subscribe ${id}`);
      expect(answer).toMatchObject({ type: 'error', error: 'bad_parameter', parameter: 'category', id });
      expect(String(answer['detail'])).toContain('"category"');
    }
    expect(await c.next((f) => f['id'] === 3, 'the answer to subscribe 3')).toMatchObject({ type: 'snapshot', id: 3 });
    expect(c.closed).toBeNull();
    c.close();
  });
});
