import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { loggedLine, metricOf, waitReady } from '../helpers/probes.js';
import { busFixture } from '../helpers/bus-fixture.js';
import { eventually, getJson, startService, type RunningService } from '../helpers/service-process.js';

/**
 * Frames over --max-frame-bytes are counted and skipped, but were first received whole: two
 * 1 GiB frames took the process from 118 MB to 2.2 GB. On a --bind socket libzmq now refuses a
 * frame over 4× the limit before reading it (ZMQ_MAXMSGSIZE) and drops the publisher that sent
 * it, which reconnects.
 */
const LIMIT = 65_536;
let n = 0;
const message = (category: string, pad = 0) => {
  const topic = `org.fedoraproject.prod.${category}.x`;
  n++;
  return [
    topic,
    JSON.stringify({ topic, timestamp: Date.now() / 1000, msg_id: `2026-cap-${n}`, msg: { pad: 'p'.repeat(pad) } }),
  ];
};
const volume = async (s: RunningService, category: string) => {
  const rows = (await getJson(`${s.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
    category: string;
    volume: number;
  }[];
  return rows.find((r) => r.category === category)?.volume ?? 0;
};

describe('the largest frame the bus socket takes in', () => {
  const { dir, pub, use } = busFixture();

  it('counts a frame over --max-frame-bytes, refuses one over 4× unread, and takes the next messages', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const s = await startService(['--bind', endpoint, '--data-dir', dir.path, '--max-frame-bytes', String(LIMIT)]);
    use(s);
    await waitReady(s);
    pub.connect(endpoint);
    // Joined once a probe gets through (a PUB drops what it sends before the subscription).
    await eventually(async () => {
      await pub.send(message('capjoin'));
      return (await volume(s, 'capjoin')) > 0 ? true : undefined;
    });
    const oversized = () => metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="oversized"');
    expect(await oversized()).toBe(0);

    // Over the limit, under the hard cap: received, counted, skipped.
    await pub.send(message('capover', 2 * LIMIT));
    await eventually(async () => ((await oversized()) === 1 ? true : undefined), 15_000, 'an oversized frame counted');

    // Over the hard cap: libzmq drops the connection before reading it, so it is never counted;
    // the publisher reconnects and later messages arrive.
    await pub.send(message('caphuge', 8 * LIMIT));
    await eventually(
      async () => {
        await pub.send(message('capafter'));
        return (await volume(s, 'capafter')) > 0 ? true : undefined;
      },
      30_000,
      'messages after the refused frame',
    );
    expect(await oversized()).toBe(1);
    expect(await volume(s, 'caphuge')).toBe(0);
    expect(s.child.exitCode).toBeNull();
  }, 60_000);
});

/**
 * A --connect socket had no such cap (libzmq never reconnects after refusing a frame there), so
 * a relay's 1 GiB frame was received whole before being counted and skipped. It now has the
 * cap, and is connected again after a refusal, which is counted as a receive error.
 */
describe('the largest frame a --connect socket takes in', () => {
  const { dir, pub, use } = busFixture();

  it('refuses a frame over 4× --max-frame-bytes unread, says so, connects again and takes the next messages', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    const relay = pub.lastEndpoint as string;
    const s = use(await startService(['--connect', relay, '--data-dir', dir.path, '--max-frame-bytes', String(LIMIT)]));
    await waitReady(s);
    await eventually(async () => {
      await pub.send(message('connjoin'));
      return (await volume(s, 'connjoin')) > 0 ? true : undefined;
    });
    const oversized = () => metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="oversized"');
    const refusals = () => metricOf(s.base, 'statscache_intake_total', 'event="receive_errors"');
    expect(await refusals()).toBe(0);

    await pub.send(message('connover', 2 * LIMIT));
    await eventually(async () => ((await oversized()) === 1 ? true : undefined), 15_000, 'an oversized frame counted');

    // Over the hard cap: refused before it is read (so never counted as oversized), reported,
    // and the socket connects to the relay again: later messages arrive.
    await pub.send(message('connhuge', 8 * LIMIT));
    await eventually(
      async () => {
        await pub.send(message('connafter'));
        return (await volume(s, 'connafter')) > 0 ? true : undefined;
      },
      30_000,
      'messages after the refused frame',
    );
    expect(await oversized()).toBe(1);
    expect(await refusals()).toBe(1);
    expect(await volume(s, 'connhuge')).toBe(0);
    // Logged at the refusal, but stdout may bring the line after the HTTP answers above (loggedLine).
    await loggedLine(
      s,
      (l) => l.includes('was refused unread and the connection dropped; connecting again'),
      'the refusal',
    );
    expect(s.child.exitCode).toBeNull();
  }, 60_000);
});
