/**
 * A stop while the service still replays its journal at start-up (Ctrl-C, `systemctl
 * restart`, a supervisor bouncing it): the final snapshot must claim only what was replayed.
 * It claimed the whole journal while holding a few thousand messages, so the next start
 * replayed nothing and served partial counts without a word (helper-31: 1,051 of 150,000).
 * Real CLI processes on a real LMDB journal written beforehand, with no snapshot.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { Journal } from '../../snapshots/journal.js';
import { waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

/**
 * Journaled messages. The stop lands within the first few thousand replayed (helper-31's run
 * snapshotted 4,096 of 150,000), and replay is tens of µs a message on the slowest host: this
 * many still replay for over a second, and a stop that came too late fails (wasRunning below).
 */
const N = 30_000;

describe('a stop during start-up replay', () => {
  const dir = tempDir('statscache-stop-replay-');
  let svc: RunningService | undefined;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('snapshots only what was replayed; the next start replays the rest and counts every message once', async () => {
    // The journal a service killed before its first snapshot leaves behind.
    const store = new DataStore(dir.path);
    const journal = new Journal(store, {
      dedupeWindow: 1000,
      onWriteError: (err) => {
        throw err;
      },
    });
    const t0 = Math.floor(Date.now() / 1000) - 1800;
    for (let i = 0; i < N; i++) {
      journal.accept({
        topic: 'org.fedoraproject.prod.buildsys.build.state.change',
        timestamp: t0 + i / 100,
        msg_id: `r-${i}`,
        msg: {},
      });
      if (i % 10_000 === 9_999) await journal.flush();
    }
    await journal.flush();
    await store.close();

    svc = await startService(['--data-dir', dir.path]);
    // At once, while the journal replays (it takes seconds for this many).
    expect(await svc.stop('SIGTERM')).toBe(0);
    const stopped = svc.logs.map((l) => JSON.parse(l.startsWith('{') ? l : '{}') as Record<string, unknown>);
    const final = stopped.find((e) => e['msg'] === 'final snapshot written');
    // The stop came before the service ran live: this test is about that window.
    expect(final?.['wasRunning']).toBe(false);

    svc = await startService(['--data-dir', dir.path]);
    await waitReady(svc, 60_000);
    const total = async () => {
      const rows = (await getJson(`${svc!.base}/api/volume-by-category-1h?rows_per_page=100`)).body as {
        volume: number;
      }[];
      return rows.reduce((a, r) => a + r.volume, 0);
    };
    await eventually(async () => ((await total()) === N ? true : undefined), 30_000, `all ${N} counted`);
    expect(await total()).toBe(N);
  }, 120_000);
});
