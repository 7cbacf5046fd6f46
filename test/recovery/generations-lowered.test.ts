import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../commands/cli.js';
import { joinedPublisher, journaledTotal, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, type RunningService, startService, tempDir } from '../helpers/service-process.js';

interface Listed {
  generations: { slot: number; generation: number; status: string }[];
}

/**
 * Lowering --snapshot-generations leaves slots the rotation never writes again. They must go
 * once a snapshot at the new count is on disk: every slot pins the journal's trim, so they kept
 * --journal-max-age and --journal-max-bytes from ever being enforced.
 */
describe('--snapshot-generations lowered between runs', () => {
  const dir = tempDir();
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    dir.remove();
  });
  const run = async (args: string[], messages: number, first: number, timestamp: number) => {
    const svc = await startService(['--data-dir', dir.path, ...args]);
    running.push(svc);
    await waitReady(svc);
    const pub = await joinedPublisher(svc);
    for (let n = first; n < first + messages; n++)
      await pub.send(
        'org.fedoraproject.prod.wiki.article.edit',
        JSON.stringify({
          topic: 'org.fedoraproject.prod.wiki.article.edit',
          msg_id: `gens-${n}`,
          timestamp,
          msg: { n },
        }),
      );
    await eventually(
      async () => ((await metricOf(svc.base, 'statscache_journal_last_seq')) === first + messages ? true : undefined),
      15_000,
      'messages journaled',
    );
    pub.close();
    return svc;
  };
  const slots = async () => {
    const r = await runCli(['snapshot', 'list', '--json', '--data-dir', dir.path]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Listed).generations.map((g) => g.slot).sort();
  };

  it('removes the retired slots after the first snapshot at the new count, and the journal is trimmed again', async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    // Three runs at three generations, each ending in a snapshot of its own slot.
    for (let i = 0; i < 3; i++) {
      const svc = await run(['--snapshot-generations', '3', '--snapshot-interval', '3600'], 4, i * 4, old);
      expect(await svc.stop('SIGTERM')).toBe(0);
    }
    expect(await slots()).toEqual([0, 1, 2]);

    // One generation, snapshots every second, messages past --journal-max-age: trim may drop them all.
    const svc = await run(
      ['--snapshot-generations', '1', '--snapshot-interval', '1', '--journal-max-age', '1h'],
      4,
      12,
      old,
    );
    await eventually(
      async () => ((await journaledTotal(svc.base)) === 0 ? true : undefined),
      20_000,
      'journal trimmed',
    );
    // Logged before that trim, but the service logs asynchronously and the lines come over its
    // stdout, which this process may read after the HTTP answer that showed the trim.
    const removed = () => svc.logs.filter((l) => l.includes('snapshot slot past --snapshot-generations removed'));
    await eventually(() => (removed().length >= 2 ? true : undefined), 10_000, 'the two removals logged');
    expect(removed()).toHaveLength(2);
    expect(await svc.stop('SIGTERM')).toBe(0);
    expect(await slots()).toEqual([0]);
    // Four starts and stops and two CLI runs: past the 30 s default on a loaded machine once.
  }, 120_000);
});
