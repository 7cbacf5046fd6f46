/**
 * The seeded bus fuzz (test/helpers/bus-mutations.ts) end to end: a real `serve` (bus thread,
 * journal, LMDB) takes thousands of mutated messages over real ZeroMQ, interleaved with the real
 * fixtures; /healthz stays 200 while intake really goes on, every real message is counted, and
 * after SIGKILL a restart answers every view as before. BUS_FUZZ_SEED=<n> replays another seed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { messageId } from '../../snapshots/journal-record.js';
import { loadConfig } from '../../src/config.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import { mutatedMessages } from '../helpers/bus-mutations.js';
import { categoryOfTopic, recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { digestsOf, metricOf, probeUntilJoined, waitReady } from '../helpers/probes.js';
import { probeJson } from '../helpers/health-probe.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const SEED = Number(process.env['BUS_FUZZ_SEED'] ?? 20260105);
const COUNT = 2000;

type CategoryRow = { category: string; volume: number };

async function allRows(base: string, ident: string): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (let page = 1; ; page++) {
    const res = await getJson(`${base}/api/${ident}?rows_per_page=100&page=${page}`);
    expect(res.status, `${ident} page ${page}`).toBe(200);
    // getJson parses JSON bodies; a body that is not JSON comes back as text.
    expect(
      Array.isArray(res.body),
      `${ident} page ${page} is not a JSON array: ${String(res.body).slice(0, 200)}`,
    ).toBe(true);
    rows.push(...(res.body as unknown[]));
    if (page >= Number(res.headers.get('x-link-count'))) return rows;
  }
}

async function categoryTotals(base: string): Promise<Record<string, number>> {
  // No prototype: fuzzed categories include `constructor` and `toString`.
  const out: Record<string, number> = Object.create(null);
  for (const r of (await allRows(base, 'volume-by-category-1d')) as CategoryRow[])
    out[r.category] = (out[r.category] ?? 0) + r.volume;
  return out;
}

async function everyView(base: string): Promise<Record<string, unknown[]>> {
  const plugins = (await getJson(`${base}/plugins`)).body as { plugins: { ident: string }[] };
  const out: Record<string, unknown[]> = {};
  for (const { ident } of plugins.plugins) out[ident] = await allRows(base, ident);
  return out;
}

describe(`bus fuzz over real ZeroMQ (seed ${SEED})`, () => {
  const dir = tempDir('statscache-bus-fuzz-e2e-');
  let svc: RunningService | null = null;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it(`${COUNT} mutated messages between the real ones: healthy, every real one counted, and SIGKILL loses nothing served`, async ({
    onTestFailed,
  }) => {
    onTestFailed(() => {
      const s = svc;
      if (s)
        console.log(
          `service ${s.base}: exit code ${s.child.exitCode}, signal ${s.child.signalCode}; its last log lines:\n${s.logs.slice(-40).join('\n')}`,
        );
    });
    const args = ['--data-dir', dir.path, '--snapshot-interval', '3600'];
    svc = await startService(args);
    const s = svc;
    await waitReady(s);
    // A PUB socket drops what outruns its queue (1000 messages by default): this one holds them all.
    const pub = new Publisher({ linger: 2000, sendHighWaterMark: 100_000 });
    pub.connect(s.bound);
    await probeUntilJoined(s, (frames) => pub.send(frames));

    const now = Math.floor(Date.now() / 1000);
    const real = recentSamples(now - 120).map((e, i) => ({ ...e, msg_id: `fuzz-real-${SEED}-${i}` }));
    const fuzz = mutatedMessages(
      SEED,
      COUNT,
      real.map((e, i) => ({ ...e, msg_id: `fuzz-${SEED}-${i}` })),
      now,
    );

    // What the service must take of the fuzz: its own decoder and message ids decide, as the journal de-duplicates.
    const limits = frameLimits(loadConfig({ env: {}, flags: { port: 0, dataDir: dir.path } }), () => now);
    const ids = new Set<string>();
    const accepted: string[] = [];
    const take = (topic: string) => accepted.push(categoryOfTopic(topic));
    for (const e of real) ids.add(messageId(e as never));
    for (const m of fuzz) {
      const d = decodeFrames([Buffer.from(m.topic), Buffer.from(m.text)], limits);
      if (!d.ok) continue;
      const id = messageId(d.envelope);
      if (ids.has(id)) continue;
      ids.add(id);
      // Dated before the 1 d view's ten-year retention (0, 1970, forty years ago): taken, and dropped as expired.
      if (d.envelope.timestamp > now - 5 * 365 * 86_400) take(d.envelope.topic);
    }
    for (const e of real) take(e.topic);

    let polling = true;
    const unhealthy: string[] = [];
    let polls = 0;
    const poller = (async () => {
      while (polling) {
        polls++;
        // A failed request is unhealthy too; noted and polled on, so the failure says whether the
        // service answered again (a connection closed under it) or was gone (its exit, below).
        // A new connection per poll (probeJson says why fetch's pooled ones would fail here).
        const res = await probeJson(`${s.base}/healthz`).catch((err: unknown) => {
          const cause = (err as { cause?: { message?: string } }).cause?.message;
          unhealthy.push(`poll ${polls}: ${String(err)}${cause ? ` (${cause})` : ''}`);
          return null;
        });
        if (res !== null && (res.status !== 200 || (res.body as { status?: string }).status !== 'ok'))
          unhealthy.push(`poll ${polls}: ${res.status} ${JSON.stringify(res.body)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const every = Math.floor(COUNT / real.length);
    let next = 0;
    for (let i = 0; i < fuzz.length; i++) {
      const m = fuzz[i]!;
      await pub.send([m.topic, m.text]);
      if (i % every === 0 && next < real.length) {
        const e = real[next++] as RawEnvelope;
        await pub.send([e.topic, JSON.stringify(e)]);
      }
    }
    for (; next < real.length; next++) {
      const e = real[next] as RawEnvelope;
      await pub.send([e.topic, JSON.stringify(e)]);
    }

    const want: Record<string, number> = Object.create(null);
    for (const c of accepted) want[c] = (want[c] ?? 0) + 1;
    // Waits for the count to get there; on a timeout the comparison below shows what is missing.
    await eventually(
      async () => {
        const got = await categoryTotals(s.base);
        return Object.values(got).reduce((a, b) => a + b, 0) >= accepted.length ? true : undefined;
      },
      60_000,
      `every accepted message counted (${accepted.length})`,
    ).catch(() => undefined);
    polling = false;
    await poller;
    expect(await categoryTotals(s.base)).toEqual(want);
    expect(unhealthy).toEqual([]);
    expect(polls).toBeGreaterThan(0);
    expect(await metricOf(s.base, 'statscache_intake_total', 'event="receive_errors"')).toBe(0);
    expect(await metricOf(s.base, 'statscache_intake_total', 'event="apply_errors"')).toBe(0);
    expect((await getJson(`${s.base}/readyz`)).status).toBe(200);

    const digests = await digestsOf(s.base);
    const views = await everyView(s.base);
    pub.close();
    await s.stop('SIGKILL');

    svc = await startService(args);
    const t = svc;
    await waitReady(t);
    expect(await digestsOf(t.base)).toEqual(digests);
    expect(await everyView(t.base)).toEqual(views);
    console.log(
      `bus fuzz e2e: ${COUNT} mutated + ${real.length} real; ${accepted.length} taken; ${polls} /healthz polls`,
    );
  }, 120_000);
});
