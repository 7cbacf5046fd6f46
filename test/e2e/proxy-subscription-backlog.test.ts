import { afterEach, describe, expect, it } from 'vitest';
import { XSubscriber } from 'zeromq';
import { startProxy } from '../helpers/proxy-process.js';
import { eventually, getJson } from '../helpers/service-process.js';
import { stalledUpstream } from '../helpers/stalled-upstream.js';

/**
 * `statscache proxy` sends its replicas' subscriptions up through an XSUB, whose sends never
 * wait: libzmq drops, silently, a message for an upstream connection whose queue (ZMQ_SNDHWM,
 * 1000 messages by default) is full. A burst of subscriptions while the upstream publisher read
 * slowly lost those past the queue (CI saw 86 of 4096 lost), and so did XSUB's own sending of its
 * whole table when the connection was made again: the replicas asking for them never got those
 * topics. Every subscription the proxy counts as forwarded must reach the upstream.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const logged = (lines: readonly string[], msg: string) =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => String(e['msg']).startsWith(msg));

// Long prefixes, so the burst is far more than the kernel's unix-socket buffer holds (~200 KiB).
const COUNT = 3000;
const prefix = (i: number) => `org.fedoraproject.${String(i).padStart(4, '0')}.`.padEnd(1000, 'x');
const MARKER = 'org.fedoraproject.marker.';

async function fixture() {
  const upstream = await stalledUpstream(cleanups);
  const proxy = await startProxy(upstream.endpoint, 'tcp://127.0.0.1:*', ['--http-port', '0']);
  cleanups.push(() => proxy.stop('SIGKILL'));
  const { httpPort } = logged(proxy.logs, 'statscache proxy running')[0] as { httpPort: number };
  const replica = new XSubscriber({ linger: 0, sendHighWaterMark: 0 });
  replica.connect(proxy.backend);
  cleanups.push(() => replica.close());
  const forwarded = async () =>
    ((await getJson(`http://127.0.0.1:${httpPort}/healthz`)).body as { subscriptions: number }).subscriptions;
  /**
   * Everything sent up before it has come up on `connection`: a marker sent now (again on each
   * try, as one sent while libzmq's queue is still marked full is dropped) comes after it on
   * the one connection, in order. Only one sent by this call counts: XSUB sends its earlier
   * ones again on a new connection, in its table's order.
   */
  let markers = 0;
  const drained = (connection: number) => {
    const first = markers;
    const ours = (s: string) => s.startsWith(`\u0001${MARKER}`) && Number(s.slice(MARKER.length + 1)) >= first;
    return eventually(
      async () => {
        await replica.send(`\u0001${MARKER}${markers++}`);
        const seen = upstream.connections[connection] ?? [];
        return seen.some(ours) ? seen : undefined;
      },
      30_000,
      `a marker upstream on connection ${connection}`,
    );
  };
  return { upstream, replica, forwarded, drained };
}

const missing = (seen: readonly string[]) => {
  const got = new Set(seen);
  return Array.from({ length: COUNT }, (_, i) => `\u0001${prefix(i)}`).filter((s) => !got.has(s)).length;
};

describe('statscache proxy loses none of the subscriptions it forwards upstream', () => {
  it('while the upstream publisher reads nothing for a burst of them', async () => {
    const { upstream, replica, forwarded, drained } = await fixture();
    await eventually(() => (upstream.connections.length === 1 ? true : undefined), 20_000, 'the proxy connected');
    for (let i = 0; i < COUNT; i++) await replica.send(`\u0001${prefix(i)}`);
    // All taken by the proxy's relay and handed to libzmq while the upstream still reads nothing.
    await eventually(async () => ((await forwarded()) === COUNT ? true : undefined), 60_000, 'all forwarded');
    upstream.resume();
    expect(missing(await drained(0))).toBe(0);
  }, 120_000);

  it('when its connection to the upstream is made again (XSUB sends its whole table)', async () => {
    const { upstream, replica, forwarded, drained } = await fixture();
    upstream.resume();
    for (let i = 0; i < COUNT; i++) await replica.send(`\u0001${prefix(i)}`);
    await eventually(async () => ((await forwarded()) === COUNT ? true : undefined), 60_000, 'all forwarded');
    expect(missing(await drained(0))).toBe(0);
    upstream.cut();
    expect(missing(await drained(1))).toBe(0);
  }, 120_000);

  it('after a new connection that followed a burst the upstream read none of', async () => {
    // libzmq's XSUB, once a change was dropped for a full queue, sent nothing more on that
    // connection's queue after a new connection was made (its pipe is marked writable again
    // without telling the distributor): every later subscription waited for the next one.
    const { upstream, replica, forwarded, drained } = await fixture();
    await eventually(() => (upstream.connections.length === 1 ? true : undefined), 20_000, 'the proxy connected');
    // 2101 changes while the upstream reads nothing, ending at more prefixes than ever before
    // (so the count below is reached only at the end).
    const PEAK = 700;
    for (let i = 0; i < PEAK; i++) await replica.send(`\u0001${prefix(i)}`);
    for (let i = 0; i < PEAK; i++) await replica.send(`\u0000${prefix(i)}`);
    for (let i = PEAK; i <= 2 * PEAK; i++) await replica.send(`\u0001${prefix(i)}`);
    await eventually(async () => ((await forwarded()) === PEAK + 1 ? true : undefined), 60_000, 'all forwarded');
    upstream.cut();
    upstream.resume();
    const seen = new Set(await drained(1));
    const held = Array.from({ length: PEAK + 1 }, (_, i) => `\u0001${prefix(PEAK + i)}`);
    expect(held.filter((s) => !seen.has(s))).toEqual([]);
  }, 120_000);
});
