/**
 * The bus fuzz's messages (bus-fuzz-cases.ts) through an in-process Service: journal, LMDB and
 * the HTTP handler. Every frame is refused with a counted reason or taken, every view and every
 * page of history is JSON, and a fresh service (a mid-way snapshot restored and the journal
 * replayed, then the final snapshot alone) answers the same. BUS_FUZZ_SEED=<n> replays another seed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import type { Mutated } from '../helpers/bus-mutations.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { COUNT, describeMessage, digests, dropped, frames, messages, SEED } from './bus-fuzz-cases.js';

/** Every meta field /raw can derive: the meta rules run on every journaled message. */
const META = 'title,subtitle,icon,secondary_icon,link,usernames,packages,objects,date';

describe(`bus fuzz: ${COUNT} mutated fixture messages (seed ${SEED})`, () => {
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
