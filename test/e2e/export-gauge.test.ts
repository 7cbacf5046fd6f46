import { describe, expect, it } from 'vitest';
import { adminServiceForBlock, holdExportChild } from '../helpers/export-service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { metricOf } from '../helpers/probes.js';

/**
 * statscache_exports_in_progress counts GET /admin/export's builds from the request until the
 * child ends, whichever way it ends, and statscache_exports_total{outcome} how each ended. A
 * gauge left up by one way of ending would show an export running forever. Real service, real
 * child, real HTTP; the child is held stopped where the test needs the export to be running.
 * (A failed child: export-child-killed.test.ts; one past its time bound: export-child-hang.test.ts.)
 */
const TOKEN = 'export-gauge-token-0123456789';

describe('statscache_exports_in_progress', () => {
  const start = adminServiceForBlock(TOKEN);

  it('goes back to 0 after an export with no snapshot, one whose client left, and one built', async () => {
    const { service: s, base, auth } = await start();
    const inProgress = () => metricOf(base, 'statscache_exports_in_progress');
    const ended = (outcome: string) => metricOf(base, 'statscache_exports_total', `outcome="${outcome}"`);
    /** Scrapes (paced by the service, one render per 100 ms at most) until `read` gives `want`. */
    const until = async (read: () => Promise<number>, want: number, what: string) => {
      const deadline = Date.now() + 30_000;
      while ((await read()) !== want) expect(Date.now(), what).toBeLessThan(deadline);
    };
    expect(await inProgress()).toBe(0);

    // No generation yet: the child writes nothing, the route answers 503.
    const none = await fetch(`${base}/admin/export`, { headers: auth });
    expect(none.status).toBe(503);
    await none.arrayBuffer();
    expect(await inProgress()).toBe(0);
    expect(await ended('no_snapshot')).toBe(1);

    for (const m of recentSamples(Math.floor(Date.now() / 1000)).slice(0, 200)) s.accept(m as never);
    await s.settled();
    await s.snapshot();

    // A client that goes away while its export is built: the build runs to its end (requests
    // sharing it still want it), and the gauge shows it until then, not until the client left.
    const leaving = new AbortController();
    const gone = fetch(`${base}/admin/export`, { headers: auth, signal: leaving.signal }).then(
      () => 'answered',
      () => 'aborted',
    );
    const deadline = Date.now() + 30_000;
    const child = await holdExportChild(() => expect(Date.now(), 'no export child within 30 s').toBeLessThan(deadline));
    await until(inProgress, 1, 'the export never showed in progress');
    leaving.abort();
    expect(await gone).toBe('aborted');
    expect(await inProgress()).toBe(1);
    process.kill(child, 'SIGCONT');
    await until(inProgress, 0, 'the export left behind by its client never ended');
    expect(await ended('built')).toBe(1);

    // And the next one, waited for, is built afresh and counted once.
    const next = await fetch(`${base}/admin/export`, { headers: auth });
    expect(next.status).toBe(200);
    expect((await next.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(await inProgress()).toBe(0);
    expect(await ended('built')).toBe(2);
    for (const outcome of ['timed_out', 'too_large', 'failed']) expect(await ended(outcome)).toBe(0);
  }, 60_000);
});
