import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KOJI } from '../helpers/plugin-config.js';
import { busFixture } from '../helpers/bus-fixture.js';
import { immutableFiles, setImmutable } from '../helpers/immutable-file.js';
import { type LmdbEnd, retryingLmdbEnds, unlessLmdbEnded } from '../helpers/lmdb-abort.js';
import { metricOf, waitReady } from '../helpers/probes.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { createLogger } from '../../src/logger.js';
import { pluginsForConfig } from '../../src/plugin-loader.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { eventually, startService, tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

/**
 * The offline writers on a data file that opens but cannot take the write they make: the file
 * may not grow (RLIMIT_FSIZE: EFBIG, as a full disk refuses it). `journal replay`, `snapshot
 * import` and `snapshot drop-plugin` ended with exit 1 and a bare stack, 'WriteFailedError: File too large: Attempting to
 * write page at position …', naming neither the data dir nor what was left of it. Each now ends
 * with SC_DATA_FILE_WRITE_FAILED naming the file, the cause and that nothing was written, and the
 * data dir is as it was.
 */

describe('offline writers on a data file that refuses their write', () => {
  const data = tempDir();
  const scratch = tempDir();
  const backup = join(scratch.path, 'backup.scx');
  const file = join(data.path, 'statscache.lmdb');
  const configFile = (name: string, plugins: string[]) => {
    const path = join(scratch.path, name);
    writeFileSync(path, JSON.stringify({ plugins, dataDir: data.path }));
    return path;
  };
  writeFileSync(join(scratch.path, 'koji.mjs'), KOJI);
  const withKoji = configFile('with.json', ['./koji.mjs']);
  const without = configFile('without.json', []);
  const config = loadConfig({
    env: {},
    file: withKoji,
    flags: { port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'] },
  });
  afterAll(() => {
    data.remove();
    scratch.remove();
  });

  const listed = async () => (await runCli(['snapshot', 'list', '--json', '--data-dir', data.path])).stdout;
  /** No room past the file's size now: the command's write that grows it fails. */
  const noRoom = () => ({ fileSizeLimitKb: Math.ceil(statSync(file).size / 1024) });

  it('journal replay, snapshot import and snapshot drop-plugin end with a coded error naming the file and cause, the data dir as it was', async () => {
    const service = await Service.build({
      config,
      logger: createLogger('silent'),
      checkDataFile: false,
      plugins: await pluginsForConfig(config, withKoji),
    });
    await service.recover();
    for (const m of recentSamples(Math.floor(Date.now() / 1000) - 5).slice(0, 200)) service.accept(m as Envelope);
    await service.settled();
    await service.stop();
    const exported = await runCli(['snapshot', 'export', backup, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    const before = await listed();

    const commands = [
      ['journal', 'replay', '--from', '0', '--data-dir', data.path],
      ['snapshot', 'import', backup, '--data-dir', data.path],
      // The plugin taken out of the config, its state kept: dropping it rewrites the generations.
      ['snapshot', 'drop-plugin', 'koji', '--config', without],
    ];
    for (const args of commands) {
      const r = await runCli(args, {}, noRoom());
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`statscache: SC_DATA_FILE_WRITE_FAILED: could not write the data file ${file} (`);
      expect(r.stderr).toMatch(/File too large.*\): nothing of this .* was written; the data dir is as it was/);
      // Its last line, no stack of its own (lmdb-js logs the failed page write itself, above it).
      expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^statscache: SC_DATA_FILE_WRITE_FAILED: /);
      expect(r.stderr).not.toMatch(/WriteFailedError|at writeFailure/);
      expect(await listed()).toBe(before);
    }
  }, 60_000);
});

/**
 * `snapshot take` against a running serve whose data file refuses writes (made immutable: EPERM,
 * as a file system remounted read-only refuses them). It ended (exit 1, in seconds: the store
 * settles a snapshot lmdb-js never reports on) with 'answered 500: snapshot_failed: the snapshot
 * failed: LMDB did not report the snapshot write of slot 2 as failed, but its meta is not in the
 * file', naming neither the data dir nor what the service does about it. Now the answer carries
 * SC_DATA_FILE_WRITE_FAILED with the data file, and the next take once it takes writes lands.
 */
describe('snapshot take against a serve whose data file refuses writes', () => {
  const { dir, pub, use } = busFixture();
  const { supported, track } = immutableFiles(dir.path);
  const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
  const TOKEN = 'correct-horse-battery-staple';

  /**
   * One run on a fresh data dir; an LmdbEnd (helpers/lmdb-abort.ts) when the service ended on a
   * known outcome of the refused write: lmdb-js 3.5.6's heap overrun on the failed page write,
   * then or later (SIGABRT), or the refusal landing mid-commit (MDB_PANIC: SC_DATA_FILE_PANIC,
   * exit 1). The file is made immutable only once every message sent is applied, so no journal
   * commit is under way then, and the take's is the one refused write.
   */
  async function run(attempt: number): Promise<'done' | LmdbEnd> {
    const dataDir = join(dir.path, `attempt-${attempt}`);
    const file = join(dataDir, 'statscache.lmdb');
    // The refused snapshot is found by a probe queued behind it (--write-probe-after): 2 s by default.
    const args = [
      '--connect',
      pub.lastEndpoint as string,
      '--data-dir',
      dataDir,
      '--snapshot-interval',
      '86400',
      '--write-probe-after',
      '0.2',
    ];
    const s = use(await startService(args, { STATSCACHE_ADMIN_TOKEN: TOKEN }));
    await waitReady(s);
    track(file);
    return unlessLmdbEnded(s, async () => {
      const take = () => runCli(['snapshot', 'take', '--url', s.base, '--token', TOKEN]);
      let sent = 0;
      // Sent until a snapshot holds some: the subscription may drop the first ones while it joins.
      const sendUntilTaken = async (): Promise<string> =>
        eventually(async () => {
          for (let i = 0; i < 20; i++, sent++) {
            const m = samples[sent % samples.length] as Record<string, unknown>;
            await pub.send([String(m['topic']), JSON.stringify({ ...m, msg_id: `take-refused-${attempt}-${sent}` })]);
          }
          const r = await take();
          expect(r.code, r.stderr).toBe(0);
          return (JSON.parse(r.stdout) as { written: number }).written > 0 ? r.stdout : undefined;
        });
      await sendUntilTaken();
      const seq = await metricOf(s.base, 'statscache_journal_last_seq');
      for (let i = 0; i < 20; i++, sent++) {
        const m = samples[sent % samples.length] as Record<string, unknown>;
        await pub.send([String(m['topic']), JSON.stringify({ ...m, msg_id: `take-refused-${attempt}-${sent}` })]);
      }
      // Journaled and applied before the file refuses (no commit under way when it does): the
      // snapshot below has changes to write.
      await eventually(async () =>
        (await metricOf(s.base, 'statscache_journal_applied_seq')) >= seq + 20 ? true : undefined,
      );
      setImmutable(file, true);
      let refused: Awaited<ReturnType<typeof take>>;
      try {
        refused = await take();
      } finally {
        setImmutable(file, false);
      }
      // Ended meanwhile (the take's answer may have come first): a retry, its cause named below.
      if (s.child.exitCode !== null || s.child.signalCode !== null) throw new Error('the service exited');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `answered 500: snapshot_failed: the snapshot failed: SC_DATA_FILE_WRITE_FAILED: could not write the data file ${file} (`,
      );
      expect(refused.stderr).toMatch(/the service keeps serving, and its state is written with the next snapshot/);
      const again = await take();
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as { written: number }).written).toBeGreaterThan(0);
      return 'done' as const;
    });
  }

  it.skipIf(!supported)(
    'ends with the data file and its cause, and the next take lands',
    async () => {
      await pub.bind('tcp://127.0.0.1:*');
      // As test/e2e/data-file-refused: about 1 run in 5 dies of lmdb-js's defect on a loaded host,
      // so 5 in a row (~1 in 3,000) is a failure, each run's cause named.
      await retryingLmdbEnds(5, run);
    },
    300_000,
  );
});
