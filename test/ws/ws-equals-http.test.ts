import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module, as external plugins are
import bodhiKarma from '../../examples/plugins/bodhi-karma.js';
import { builtinPlugins } from '../../plugins/index.js';
import {
  eventually,
  httpRows,
  keyOf,
  RawClient,
  samplesBatch,
  startLive,
  type Frame,
  type Live,
  canon,
} from './harness.js';

/** What a client holds for one subscription: the snapshot, then every update applied by the key columns. */
class Held {
  readonly rows = new Map<string, Record<string, unknown>>();
  key: readonly string[] = [];
  seq = -1;

  apply(f: Frame): void {
    if (f.type === 'snapshot') {
      this.key = f.key;
      this.seq = f.seq;
      this.rows.clear();
      for (const r of f.rows) this.rows.set(keyOf(this.key, r), r);
    } else if (f.type === 'update' && f.seq > this.seq) {
      expect(f.seq).toBe(this.seq + 1);
      this.seq = f.seq;
      for (const k of f.removed) this.rows.delete(JSON.stringify(k));
      for (const r of f.rows) this.rows.set(keyOf(this.key, r), r);
    }
  }
}

/**
 * The contract every plugin keeps, built-in or external: after any sequence of messages the
 * WebSocket state (snapshot plus updates, rows identified by the key columns) equals what
 * GET /api/<ident> answers. A plugin whose stored keys disagreed with its key columns once
 * served 3 rows over HTTP and 1 over WebSocket.
 */
describe('every plugin: the WebSocket state equals the HTTP answer', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({}, { plugins: [...builtinPlugins(), bodhiKarma] });
  });
  afterAll(() => live?.close());

  it('after each of three bursts of real messages, for every ident', async () => {
    const idents = (await (await fetch(`${live.base}/api/`)).json()) as string[];
    expect(idents.length).toBeGreaterThan(20);
    const client = await RawClient.open(live.wsUrl);
    const held = new Map(idents.map((ident) => [ident, new Held()]));
    for (const ident of idents) client.send({ op: 'subscribe', ident, id: ident });
    await eventually(
      () => (client.of('snapshot').length === idents.length ? true : undefined),
      10_000,
      'a snapshot per ident',
    );

    const now = Math.floor(Date.now() / 1000);
    for (const end of [now - 1200, now - 600, now - 2]) {
      await live.publish(samplesBatch(end));
      await eventually(
        async () => {
          for (const [ident, h] of held) {
            h.seq = -1;
            for (const f of client.frames) if (f['ident'] === ident) h.apply(f);
          }
          for (const [ident, h] of held)
            if (canon(h.rows.values()) !== canon(await httpRows(live.base, ident))) return undefined;
          return true;
        },
        15_000,
        'every WebSocket view to equal its HTTP answer',
      );
    }
    // Not vacuous: most plugins hold rows by now.
    const withRows = [...held.values()].filter((h) => h.rows.size > 0).length;
    expect(withRows).toBeGreaterThan(idents.length / 2);
    client.ws.close();
  }, 60_000);
});
