import { afterAll, describe, expect, it } from 'vitest';
import { categoryOfTopic, recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { probeJson } from '../helpers/health-probe.js';
import { metricOf, joinedPublisher } from '../helpers/probes.js';

type CategoryRow = { timestamp: number; category: string; volume: number };

async function allRows<T>(base: string, ident: string, query = ''): Promise<T[]> {
  const rows: T[] = [];
  for (let page = 1; ; page++) {
    const res = await getJson(`${base}/api/${ident}?rows_per_page=100&page=${page}${query}`);
    expect(res.status).toBe(200);
    rows.push(...(res.body as T[]));
    if (page >= Number(res.headers.get('x-link-count'))) return rows;
  }
}

const sumOf = (rows: readonly { volume: number }[]) => rows.reduce((a, r) => a + r.volume, 0);

/** What a category count must be, from the envelopes alone. */
function byCategory(envelopes: readonly RawEnvelope[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of envelopes) out[categoryOfTopic(e.topic)] = (out[categoryOfTopic(e.topic)] ?? 0) + 1;
  return out;
}

async function categoryTotals(base: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await allRows<CategoryRow>(base, 'volume-by-category-1d'))
    out[r.category] = (out[r.category] ?? 0) + r.volume;
  return out;
}

describe('a hostile bus: odd messages between real ones never stop intake, move time or blow up memory', () => {
  const dir = tempDir();
  let svc: RunningService | null = null;
  const now = Math.floor(Date.now() / 1000);
  const real = recentSamples(now - 60);
  const meetbot = (n: number, attendees: number): RawEnvelope => ({
    topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
    timestamp: now - 30 + n,
    msg_id: `2026-hostile-meetbot-${n}`,
    msg: {
      meeting_topic: 'flood',
      owner: 'attacker',
      chairs: {},
      attendees: Object.fromEntries(Array.from({ length: attendees }, (_, i) => [`person${n}x${i}`, 1])),
    },
  });
  const deep = (levels: number, open: string, close: string, middle = '') =>
    `{"topic":"org.fedoraproject.prod.wiki.article.edit","timestamp":${now},"msg_id":"2026-deep-${open.length}","msg":${open.repeat(levels)}${middle}${close.repeat(levels)}}`;
  const accepted: RawEnvelope[] = [];

  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('counts every real message exactly while refusing, correcting and capping the hostile ones', async () => {
    svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600']);
    const s = svc;
    const pub = await joinedPublisher(s);
    const rssBefore = await metricOf(s.base, 'process_resident_memory_bytes');

    const hostile: string[] = [
      deep(6000, '[', ']'), // 12 KB that once ended the receive loop for good
      deep(6000, '{"a":', '}', '0'),
      JSON.stringify({
        topic: 'org.fedoraproject.prod.buildsys.tag',
        timestamp: now + 2 * 86_400,
        msg_id: '2026-future',
        msg: { owner: 'mallory', name: 'evil', tag: 'f45' },
      }),
      JSON.stringify({
        topic: 'org.fedoraproject.prod.buildsys.tag',
        timestamp: (now + 2 * 86_400) * 1e6,
        msg_id: '2026-future-us',
        msg: { owner: 'mallory', name: 'evil', tag: 'f45' },
      }),
      JSON.stringify({
        topic: 'org.fedoraproject.prod.wiki.article.edit',
        timestamp: now,
        msg_id: '2026-wide',
        msg: Array.from({ length: 150_000 }, () => 0),
      }),
    ];
    // The longest /healthz answer while all this goes on: what a stall looks like from outside (reported, not asserted).
    // A poll every 50 ms: a stall longer than that still holds one; every 10 ms, the polls of a
    // loaded run (thousands, each a request on both sides) cost seconds of CPU. A new connection
    // per poll (probeJson says why fetch's pooled ones failed here: 'other side closed' at load 30).
    let polling = true;
    let longestHealthMs = 0;
    let polls = 0;
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now();
        await probeJson(`${s.base}/healthz`);
        polls++;
        longestHealthMs = Math.max(longestHealthMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const third = Math.floor(real.length / 3);
    const send = (e: RawEnvelope) => pub.send(e.topic, JSON.stringify(e));
    for (const e of real.slice(0, third)) await send(e);
    for (const body of hostile) await pub.send('org.fedoraproject.prod.x', body);
    // A real message stamped in milliseconds (time.time()*1000): read as seconds, counted once.
    const inMs = { ...real[0]!, msg_id: '2026-in-ms', timestamp: (now - 10) * 1000 };
    await send(inMs);
    for (const e of real.slice(third, 2 * third)) await send(e);
    // Eight messages naming 50,000 people each: accepted, their fan-out cut to --max-fanout.
    const floods = Array.from({ length: 8 }, (_, n) => meetbot(n, 50_000));
    for (const e of floods) await send(e);
    for (const e of real.slice(2 * third)) await send(e);
    accepted.push(...real, { ...inMs, timestamp: now - 10 }, ...floods);

    const want = byCategory(accepted);
    await eventually(
      async () =>
        sumOf(await allRows<CategoryRow>(s.base, 'volume-by-category-1d')) === accepted.length ? true : undefined,
      30_000,
      'every accepted message counted',
    );
    expect(await categoryTotals(s.base)).toEqual(want);
    polling = false;
    await poller;

    expect(await metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="too_deep"')).toBe(2);
    expect(await metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="future_timestamp"')).toBe(2);
    expect(await metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="too_many_keys"')).toBe(1);
    expect(await metricOf(s.base, 'statscache_intake_total', 'event="corrected_timestamps"')).toBe(1);
    expect(await metricOf(s.base, 'statscache_intake_total', 'event="fanout_truncated"')).toBe(8);

    // History intact: nothing evicted, the 1-second view (6 h retention) still holds every message.
    const evicted = ((await getJson(`${s.base}/metrics`)).body as string)
      .split('\n')
      .filter((l) => l.startsWith('statscache_plugin_rows_evicted_total{'));
    expect(evicted.length).toBeGreaterThan(0);
    for (const line of evicted) expect(line.endsWith(' 0')).toBe(true);
    expect(sumOf(await allRows<{ volume: number }>(s.base, 'volume-1s'))).toBe(accepted.length);
    const calendar = await allRows<{ date: string }>(s.base, 'contribution-calendar-1d');
    const today = new Date((now + 86_400) * 1000).toISOString().slice(0, 10);
    for (const r of calendar) expect(r.date <= today).toBe(true);

    // Bounded fan-out: each flood adds at most 256 users to a per-user view, not 50,000.
    const users = await allRows<{ user: string }>(s.base, 'volume-by-user-1m');
    const flooded = users.filter((r) => r.user.startsWith('person')).length;
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThanOrEqual(8 * 256);
    const rssGrowth = (await metricOf(s.base, 'process_resident_memory_bytes')) - rssBefore;
    console.log(
      `hostile bus: RSS growth ${(rssGrowth / 1e6).toFixed(1)} MB over 8 messages naming 50,000 people each; longest /healthz answer meanwhile ${longestHealthMs.toFixed(0)} ms (${polls} polls)`,
    );
    expect(rssGrowth).toBeLessThan(256 * 1024 * 1024);

    expect((await getJson(`${s.base}/healthz`)).status).toBe(200);
    expect((await getJson(`${s.base}/readyz`)).status).toBe(200);
    pub.close();
  }, 120_000);

  it('keeps the same counts over a graceful restart, and a later message survives SIGKILL once served', async () => {
    expect(await svc!.stop('SIGTERM')).toBe(0);
    svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600']);
    const s = svc;
    await eventually(
      async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    expect(await categoryTotals(s.base)).toEqual(byCategory(accepted));

    // A refused message once used up a journal seq, so the next one was covered by the snapshot but never replayed.
    const pub = await joinedPublisher(s);
    await pub.send('org.fedoraproject.prod.x', deep(6000, '[', ']'));
    const later = { ...real[5]!, msg_id: '2026-after-restart', timestamp: now };
    await pub.send(later.topic, JSON.stringify(later));
    await eventually(
      async () =>
        sumOf(await allRows<CategoryRow>(s.base, 'volume-by-category-1d')) === accepted.length + 1 ? true : undefined,
      15_000,
      'the later message served',
    );
    pub.close();
    await s.stop('SIGKILL');

    svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600']);
    const t = svc;
    await eventually(
      async () => ((await getJson(`${t.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready after SIGKILL',
    );
    expect(await categoryTotals(t.base)).toEqual(byCategory([...accepted, later]));
  }, 120_000);
});
