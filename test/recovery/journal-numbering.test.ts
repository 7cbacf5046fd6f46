import { afterAll, describe, expect, it } from 'vitest';
import { type BusPublisher, joinedPublisher, journaledTotal, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

const total = async (svc: RunningService): Promise<number> =>
  ((await getJson(`${svc.base}/api/volume-by-category-1d?rows_per_page=100`)).body as { volume: number }[]).reduce(
    (n, r) => n + r.volume,
    0,
  );

/**
 * Trim may remove every journal record (all covered by snapshots and older than
 * --journal-max-age: a quiet bus). The next run must number new messages after the restored
 * state's journalSeq, or a crash before its first snapshot replays none of them.
 */
describe('journal numbering once trim has emptied the journal', () => {
  const dir = tempDir();
  const running: RunningService[] = [];
  const start = async (args: string[]) => {
    const svc = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-generations',
      '1',
      '--journal-max-age',
      '1h',
      ...args,
    ]);
    running.push(svc);
    await waitReady(svc);
    const pub = await joinedPublisher(svc);
    return { svc, pub };
  };
  const send = (pub: BusPublisher, n: number, timestamp: number) =>
    pub.send(
      'org.fedoraproject.prod.wiki.article.edit',
      JSON.stringify({
        topic: 'org.fedoraproject.prod.wiki.article.edit',
        msg_id: `numbering-${n}`,
        timestamp,
        msg: { n },
      }),
    );
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    dir.remove();
  });

  it('continues after the restored generation, so a crash before the next snapshot loses nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Run 1: five messages two hours old; snapshots every second let trim drop every record.
    let { svc, pub } = await start(['--snapshot-interval', '1']);
    for (let n = 0; n < 5; n++) await send(pub, n, now - 7200 + n);
    await eventually(async () => ((await total(svc)) === 5 ? true : undefined), 15_000, 'five counted');
    await eventually(
      async () => ((await journaledTotal(svc.base)) === 0 ? true : undefined),
      20_000,
      'journal trimmed empty',
    );
    const lastSeq = await metricOf(svc.base, 'statscache_journal_last_seq');
    expect(lastSeq).toBe(5);
    pub.close();
    expect(await svc.stop('SIGTERM')).toBe(0);

    // Run 2: three new messages, then killed before any snapshot.
    ({ svc, pub } = await start(['--snapshot-interval', '3600']));
    for (let n = 5; n < 8; n++) await send(pub, n, now);
    await eventually(async () => ((await total(svc)) === 8 ? true : undefined), 15_000, 'eight counted');
    expect(await metricOf(svc.base, 'statscache_journal_last_seq')).toBe(8);
    pub.close();
    await svc.stop('SIGKILL');

    // Run 3: the three are replayed from the journal on top of the snapshot of five.
    ({ svc, pub } = await start(['--snapshot-interval', '3600']));
    pub.close();
    expect(await total(svc)).toBe(8);
    expect(await journaledTotal(svc.base)).toBe(3);
    expect(await metricOf(svc.base, 'statscache_journal_last_seq')).toBe(8);
  });
});
