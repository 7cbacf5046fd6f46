/**
 * Seeded structural fuzz of bus messages through every built-in plugin (the generator:
 * test/helpers/bus-mutations.ts). Two halves: each mutated frame alone through the decoder,
 * the bus thread's door and a real PluginHost, so a failure names the message; then all of
 * them through an in-process Service (journal, LMDB, the HTTP handler), its state compared
 * after a snapshot and a journal replay in a fresh one. BUS_FUZZ_SEED=<n> replays another seed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { decodeFreshRecord } from '../../snapshots/journal-record.js';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import { createLogger } from '../../src/logger.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { decodeHead } from '../../src/prepared-head.js';
import { createRouter } from '../../src/router.js';
import { Service } from '../../src/service.js';
import { type Mutated, mutatedMessages, rng } from '../helpers/bus-mutations.js';
import { recentSamples } from '../helpers/fixtures.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { paramCases, rowsOf } from './harness.js';

const SEED = Number(process.env['BUS_FUZZ_SEED'] ?? 20260105);
const COUNT = 1000;
// Dated near the real clock, which the service judges timestamps by.
const NOW = Math.floor(Date.now() / 1000);
const config = loadConfig({ env: {}, flags: { port: 0, dataDir: '/nonexistent' } });
const limits = frameLimits(config, () => NOW);
const base = recentSamples(NOW - 600).map((e, i) => ({ ...e, msg_id: `fuzz-base-${i}` }));
const messages = mutatedMessages(SEED, COUNT, base, NOW);
const META = 'title,subtitle,icon,secondary_icon,link,usernames,packages,objects,date';
const frames = (m: Mutated) => [Buffer.from(m.topic), Buffer.from(m.text)];

/** What a failure says: enough to replay it alone. */
const describeMessage = (i: number, m: Mutated) =>
  `seed ${SEED} message ${i} (${m.ops.join(', ')}): topic ${JSON.stringify(m.topic).slice(0, 120)} text ${m.text.slice(0, 400)}${m.text.length > 400 ? `… (${m.text.length} chars)` : ''}`;

const dropped = (rt: PluginRuntime) => {
  const d = rt.stats().counters.dropped;
  return d.update_error + d.key_too_long + d.quarantined;
};
const digests = (host: PluginHost) => Object.fromEntries(host.runtimes.map((r) => [r.ident, r.digest]));

/** A value as JSON serves it: no undefined, NaN or Infinity anywhere (they would become null or vanish). */
function notPlain(v: unknown, where: string): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${where} is ${v}`;
  if (typeof v !== 'object') return `${where} is ${typeof v}`;
  for (const [k, x] of Object.entries(v as object)) {
    const bad = notPlain(x, `${where}.${k}`);
    if (bad) return bad;
  }
  return null;
}

/** Every view of every plugin, with every parameter case: rows that are not plain JSON, described. */
function viewProblems(host: PluginHost): { problems: string[]; rows: number } {
  const problems: string[] = [];
  let rows = 0;
  for (const rt of host.runtimes) {
    let all: Row[];
    try {
      all = rowsOf(rt);
      for (const params of paramCases(rt.plugin, all))
        for (const order of ['asc', 'desc'] as const) {
          const page = rowsOf(rt, params, order);
          rows += page.length;
          const bad = notPlain(page, `${rt.ident}?${JSON.stringify(params)}`);
          if (bad) problems.push(bad);
          else if (JSON.stringify(JSON.parse(JSON.stringify(page))) !== JSON.stringify(page))
            problems.push(`${rt.ident}: rows change through JSON`);
        }
    } catch (err) {
      problems.push(`${rt.ident}: view threw ${String(err)}`);
    }
  }
  return { problems, rows };
}

describe(`bus fuzz: ${COUNT} mutated fixture messages (seed ${SEED})`, () => {
  it('each one alone is refused with a reason or applied by every plugin without an error; both doors agree', () => {
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    const threadDoor = unclocked(threadLimits(config));
    const failures: string[] = [];
    const reasons: Record<string, number> = {};
    let applied = 0;
    messages.forEach((m, i) => {
      try {
        const decoded = decodeFrames(frames(m), limits);
        // The bus thread's door: the same verdict (its clock bound is judged later, on the main thread).
        const prepared = prepareFrames(frames(m), threadDoor);
        if (!decoded.ok) {
          reasons[decoded.reason] = (reasons[decoded.reason] ?? 0) + 1;
          if (prepared.kind === 'ready' && decoded.reason !== 'future_timestamp')
            failures.push(
              `bus thread accepted what the main thread refused (${decoded.reason}): ${describeMessage(i, m)}`,
            );
          if (prepared.kind === 'rejected' && prepared.reason !== decoded.reason)
            failures.push(`doors disagree ${prepared.reason} ≠ ${decoded.reason}: ${describeMessage(i, m)}`);
          return;
        }
        if (prepared.kind === 'rejected')
          failures.push(`bus thread refused (${prepared.reason}) what the main thread took: ${describeMessage(i, m)}`);
        if (prepared.kind === 'ready') {
          const head = decodeHead(prepared.head);
          const record = decodeFreshRecord(prepared.record);
          if (head.fields.topic !== decoded.envelope.topic || head.fields.timestamp !== decoded.envelope.timestamp)
            failures.push(`bus thread's head differs from the envelope: ${describeMessage(i, m)}`);
          if (JSON.stringify(record.envelope.msg) !== JSON.stringify(decoded.envelope.msg))
            failures.push(`bus thread's record body differs: ${describeMessage(i, m)}`);
        }
        const before = host.runtimes.map(dropped);
        const message = createPluginMessage(decoded.envelope, deriveMeta);
        host.queue(message, route(decoded.envelope.topic));
        host.applyQueued();
        applied++;
        host.runtimes.forEach((rt, k) => {
          if (dropped(rt) !== before[k]) failures.push(`${rt.ident} dropped it: ${describeMessage(i, m)}`);
        });
      } catch (err) {
        failures.push(`threw ${String(err)}: ${describeMessage(i, m)}`);
      }
    });
    expect(failures.slice(0, 5)).toEqual([]);
    // The fuzz reached both outcomes and several refusals, so the checks above are not vacuous.
    expect(applied).toBeGreaterThan(COUNT / 3);
    for (const reason of [
      'invalid_json',
      'not_object',
      'bad_topic',
      'bad_timestamp',
      'future_timestamp',
      'too_deep',
      'too_many_keys',
      'oversized',
    ])
      expect(reasons[reason] ?? 0, `${reason} in ${JSON.stringify(reasons)}`).toBeGreaterThan(0);
    const views = viewProblems(host);
    expect(views.problems.slice(0, 5)).toEqual([]);
    expect(views.rows).toBeGreaterThan(0);

    // Another host fed the same messages in uneven batches holds the same state.
    const other = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const r = rng(SEED ^ 0x5eed);
    let pending = 0;
    for (const m of messages) {
      const decoded = decodeFrames(frames(m), limits);
      if (!decoded.ok) continue;
      other.queue(createPluginMessage(decoded.envelope, deriveMeta), route(decoded.envelope.topic));
      if (++pending >= 1 + r.int(200)) {
        other.applyQueued();
        pending = 0;
      }
    }
    other.applyQueued();
    expect(digests(other)).toEqual(digests(host));
    host.stop();
    other.stop();
  });

  describe('through an in-process service, then a snapshot restore and a journal replay', () => {
    const dir = tempDir('statscache-bus-fuzz-');
    const open: Service[] = [];
    afterAll(async () => {
      for (const s of open) await s.close().catch(() => {});
      dir.remove();
    });
    const live = messages;
    const get = async (s: Service, path: string, query = '') =>
      await s.handle({ method: 'GET', path, query, header: () => '' });

    async function started(): Promise<Service> {
      const c = loadConfig({
        env: {},
        flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
      });
      const s = await Service.build({ config: c, logger: createLogger('silent') });
      open.push(s);
      await s.start();
      await eventually(async () => ((await get(s, '/readyz')).status === 200 ? true : undefined), 20_000, 'ready');
      return s;
    }

    /** Every page of every plugin's view as the HTTP handler answers it, each parsed as JSON. */
    async function served(s: Service): Promise<Record<string, unknown[]>> {
      const out: Record<string, unknown[]> = {};
      for (const ident of s.host.idents) {
        const rows: unknown[] = [];
        for (let page = 1; ; page++) {
          const res = await get(s, `/api/${ident}`, `rows_per_page=100&page=${page}`);
          expect(res.status, `${ident} page ${page}: ${String(res.body).slice(0, 200)}`).toBe(200);
          const body = typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString();
          let parsed: unknown;
          expect(
            () => {
              parsed = JSON.parse(body);
            },
            `${ident} page ${page} is not JSON: ${body.slice(0, 200)}`,
          ).not.toThrow();
          rows.push(...(parsed as unknown[]));
          if (page >= Number(res.headers['X-Link-Count'] ?? res.headers['x-link-count'] ?? 1)) break;
        }
        out[ident] = rows;
      }
      return out;
    }

    /** Every page of the journal's history (/raw, with every meta field derived), each parsed as JSON. */
    async function history(s: Service): Promise<unknown[]> {
      const out: unknown[] = [];
      for (let page = 1; ; page++) {
        const res = await get(s, '/raw', `rows_per_page=100&order=asc&meta=${META}&page=${page}`);
        const body = typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString();
        expect(res.status, `/raw page ${page}: ${body.slice(0, 200)}`).toBe(200);
        let parsed: { raw_messages: unknown[]; pages: number } = { raw_messages: [], pages: 0 };
        expect(
          () => {
            parsed = JSON.parse(body);
          },
          `/raw page ${page} is not JSON: ${body.slice(0, 200)}`,
        ).not.toThrow();
        out.push(...parsed.raw_messages);
        if (page >= parsed.pages) return out;
      }
    }

    let before: { digests: Record<string, string>; views: Record<string, unknown[]>; history: unknown[] };

    it('refuses each with a counted reason or takes it; no throw, no plugin error; every view is JSON', async () => {
      const s = await started();
      const half = COUNT >> 1;
      for (let i = 0; i < live.length; i++) {
        const m = live[i] as Mutated;
        const framesBefore = s.counters.frames;
        try {
          const pending = s.ingest(frames(m));
          if (pending) await pending;
        } catch (err) {
          throw new Error(`ingest threw ${String(err)}: ${describeMessage(i, m)}`);
        }
        expect(s.counters.frames, describeMessage(i, m)).toBe(framesBefore + 1);
        // A snapshot midway: the restart below restores it and replays the journal after it.
        if (i === half) {
          await s.settled();
          await s.snapshot();
        }
      }
      await s.settled();
      const c = s.counters;
      const refused = Object.values(c.decodeErrors).reduce((a, b) => a + b, 0);
      expect(c.frames).toBe(COUNT);
      expect(c.accepted + c.duplicates + refused, JSON.stringify(c)).toBe(COUNT);
      expect(c.applyErrors).toBe(0);
      expect(c.journalWriteErrors).toBe(0);
      const metrics = String((await get(s, '/metrics')).body);
      expect(metrics).toMatch(/statscache_intake_total\{event="receive_errors"\} 0\n/);
      for (const rt of s.host.runtimes) expect(dropped(rt), rt.ident).toBe(0);
      expect((await get(s, '/healthz')).status).toBe(200);
      before = { digests: digests(s.host), views: await served(s), history: await history(s) };
      expect(before.history.length).toBe(c.accepted);
      expect(Object.values(before.views).flat().length).toBeGreaterThan(0);
      // Closed without a final snapshot: the second half comes back from the journal.
      await s.close();
      open.splice(open.indexOf(s), 1);
    }, 60_000);

    it('a fresh service restores the snapshot and replays the journal to the same state and views', async () => {
      const s = await started();
      expect(s.counters.replayRejected).toBe(0);
      expect(digests(s.host)).toEqual(before.digests);
      expect(await served(s)).toEqual(before.views);
      expect(await history(s)).toEqual(before.history);
      // Stopped with a final snapshot, then restored from it alone.
      await s.stop();
      open.splice(open.indexOf(s), 1);
      const t = await started();
      expect(digests(t.host)).toEqual(before.digests);
      expect(await served(t)).toEqual(before.views);
      expect(await history(t)).toEqual(before.history);
    }, 60_000);
  });
});
