import { execFileSync, spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import type { PluginRecord } from '../../snapshots/format.js';
import type { PluginShape } from '../../snapshots/plugin-shape.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { type CommandIO, runCommand } from '../../src/commands/common.js';
import { decodeExport, encodeExport } from '../../src/commands/export-format.js';
import { runSnapshotInspect } from '../../src/commands/snapshot-inspect.js';
import { runSnapshotList } from '../../src/commands/snapshot-list.js';
import { recentSamples } from '../helpers/fixtures.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { joinedPublisher } from '../helpers/probes.js';
import { CLI, eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { acceptedOnce, feed, type Sample } from '../history/feed.js';
import { type CliResult, runCli } from './cli.js';

interface Listed {
  journal: { firstSeq: number; lastSeq: number };
  generations: {
    slot: number;
    status: string;
    generation: number;
    journalSeq: number;
    entries: number;
    bytes: number;
    plugins: Record<string, { entries: number; bytes: number; version: number }>;
  }[];
}
interface Inspected {
  meta: { generation: number; journalSeq: number };
  plugins: Record<
    string,
    { record: unknown; rows: Record<string, Row & { volume?: number }>; stores: Record<string, unknown> }
  >;
  errors: string[];
}

/** The bus is not what is tested: its receive stays on the main thread (a bus thread is ~0.24 s of CPU a start). */
const BUS_ON_MAIN = ['--bus-thread', 'false'];

const sumVolume = (rows: Record<string, { volume?: number }>) =>
  Object.values(rows).reduce((n, r) => n + (r.volume ?? 0), 0);

/**
 * A read-only command run in this process as the CLI runs it (runCommand: the same exit code
 * and stderr line), for the reads that check what another command left: those runs are not what
 * is tested, and each CLI run is a node start-up of CPU (~0.2 s of the ~0.35 s a list costs).
 * Never a writer: lmdb-js shares one environment per file within a process, and a store closed
 * without waiting (as the read-only commands close theirs) may still be the one a later open here gets.
 */
const here = async (body: (io: CommandIO) => number): Promise<CliResult> => {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { out: (t) => void (stdout += t), err: (t) => void (stderr += t) };
  const code = await runCommand(io, () => body(io));
  return { code, stdout, stderr };
};

// Each test runs the CLI three to ten times, and every run is a node start-up of about 0.5 s of
// CPU: at a load of 20 on the 2-core box the seven of the inspect test took over 30 s (the
// default timeout) whether run one after another or together.
describe('operator commands on real data dirs: list, inspect, export/import, journal replay', {
  timeout: 90_000,
}, () => {
  const source = tempDir();
  const target = tempDir();
  const scratch = tempDir();
  const running = new Set<RunningService>();
  let kept: Sample[];
  let end: number;
  let views: Map<string, Row[]>;

  const start = async (dir: string) => {
    const s = await startService(['--data-dir', dir, ...BUS_ON_MAIN]);
    running.add(s);
    await eventually(
      async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    return s;
  };
  const stop = async (s: RunningService) => {
    expect(await s.stop('SIGTERM')).toBe(0);
    running.delete(s);
  };
  const parsed = <T>(r: CliResult): T => {
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const list = async (dir: string): Promise<Listed> =>
    parsed(await runCli(['snapshot', 'list', '--json', '--data-dir', dir]));
  const inspect = async (dir: string, generation: string, plugin?: string): Promise<Inspected> =>
    parsed(
      await runCli(['snapshot', 'inspect', generation, '--data-dir', dir, ...(plugin ? ['--plugin', plugin] : [])]),
    );
  /** `list` and `inspect` in this process (here), where what is tested is the command that ran before. */
  const listHere = async (dir: string): Promise<Listed> =>
    parsed(await here((io) => runSnapshotList({ dataDir: dir, json: true }, io)));
  const inspectHere = async (dir: string, generation: string, plugin?: string): Promise<Inspected> =>
    parsed(await here((io) => runSnapshotInspect(generation, { dataDir: dir, plugin }, io)));

  /**
   * A data dir whose journal retention has emptied it: a service's own snapshots and its trim,
   * which take seconds of waiting on a clock. Started in beforeAll beside the source's feed, not
   * after every other test; the test that replays it awaits it, and fails with its error.
   */
  const trimmedByRetention = async (dir: string): Promise<string> => {
    // One generation: a trim waits until every generation kept covers the messages, and a snapshot
    // of unchanged state writes none. With three, a first snapshot taken part-way through the 30
    // (a loaded box) pinned the rest untrimmed for good, and this timed out at the journal emptied.
    const s = await startService([
      ...BUS_ON_MAIN,
      '--data-dir',
      dir,
      '--journal-max-age',
      '1s',
      '--snapshot-interval',
      '1',
      '--snapshot-generations',
      '1',
    ]);
    running.add(s);
    const pub = await joinedPublisher(s);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 30; i++) {
      const m = { topic: 'org.fedoraproject.prod.buildsys.tag', timestamp: now - 30 + i, msg_id: `trim-${i}`, msg: {} };
      await pub.send(m.topic, JSON.stringify(m));
    }
    pub.close();
    await eventually(
      async () => ((await getJson(`${s.base}/api/volume-1m`)).body as unknown[]).length > 0 || undefined,
      20_000,
      'the messages counted',
    );
    // Trimmed once a snapshot covers them and they are older than a second.
    await eventually(
      async () => (((await getJson(`${s.base}/raw`)).body as { total: number }).total === 0 ? true : undefined),
      20_000,
      'the journal emptied by retention',
    );
    await stop(s);
    return dir;
  };
  let trimmed: Promise<string>;

  /**
   * `snapshot export` of the source as the feed left it, run once for the tests that import it:
   * the source is not written until the journal replay test, so every run gave the same file.
   */
  let exported: Promise<{ file: string; run: CliResult }> | undefined;
  const exportOnce = () => {
    exported ??= (async () => {
      const file = join(scratch.path, 'state.scx');
      return { file, run: await runCli(['snapshot', 'export', file, '--data-dir', source.path]) };
    })();
    return exported;
  };

  /**
   * `snapshot import` of that export into the fresh `target`, run once: the export → import test
   * goes on with it, and the half-way import test takes the size of the data file it made (what
   * the whole import writes) right after it, before anything else writes there.
   */
  let imported: Promise<{ run: CliResult; bytes: number }> | undefined;
  const importOnce = () => {
    imported ??= (async () => {
      const { file, run: exportRun } = await exportOnce();
      expect(exportRun.code, exportRun.stderr).toBe(0);
      const run = await runCli(['snapshot', 'import', file, '--data-dir', target.path]);
      const bytes = run.code === 0 ? statSync(join(target.path, 'statscache.lmdb')).size : Number.NaN;
      return { run, bytes };
    })();
    return imported;
  };

  /**
   * `snapshot list --json` and `snapshot inspect latest` of the source as the feed left it, run
   * once for the tests that read them (list, inspect, and journal replay's state before it
   * replays): nothing writes the source before that replay, so every run printed the same.
   */
  let sourceListed: Promise<Listed> | undefined;
  let sourceLatest: Promise<Inspected> | undefined;
  const listSourceOnce = () => {
    sourceListed ??= list(source.path);
    return sourceListed;
  };
  const inspectSourceOnce = () => {
    sourceLatest ??= inspect(source.path, 'latest');
    return sourceLatest;
  };

  beforeAll(async () => {
    trimmed = trimmedByRetention(join(scratch.path, 'trimmed'));
    // Awaited by its test; until then a failure must not surface as an unhandled rejection.
    trimmed.catch(() => undefined);
    end = Math.floor(Date.now() / 1000) - 5;
    const samples = recentSamples(end) as Sample[];
    kept = acceptedOnce(samples);
    const svc = await start(source.path);
    await feed(svc, samples);
    views = await servedViews(svc.base, referenceViews([]).keys());
    await stop(svc);
  }, 90_000);

  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    for (const d of [source, target, scratch]) d.remove();
  });

  it('snapshot list shows generations with journal position and per-plugin sizes', async () => {
    // Read-only runs, independent of each other: started together (each is a node start-up of CPU).
    const [listed, human, missing] = await Promise.all([
      listSourceOnce(),
      runCli(['snapshot', 'list', '--data-dir', source.path]),
      runCli(['snapshot', 'list', '--data-dir', join(scratch.path, 'nope')]),
    ]);
    expect(listed.journal.lastSeq).toBe(kept.length);
    const newest = listed.generations[0];
    expect(newest?.status).toBe('ok');
    expect(newest?.journalSeq).toBe(kept.length);
    expect(newest?.entries).toBeGreaterThan(0);
    expect(newest?.plugins['volume-by-category-1d']?.entries).toBeGreaterThan(0);
    expect(newest?.bytes).toBe(Object.values(newest?.plugins ?? {}).reduce((n, p) => n + p.bytes, 0));
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/GENERATION\s+SLOT\s+TAKEN/);
    expect(human.stdout).toContain('volume-by-category-1d');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no statscache data/);
  });

  it('snapshot inspect decodes a generation, one plugin at a time if asked', async () => {
    const newest = (await listSourceOnce()).generations[0]?.generation as number;
    // Read-only runs, independent of each other: started together (each is a node start-up of CPU).
    const [one, all, inherited, bad, padded, huge] = await Promise.all([
      inspect(source.path, String(newest), 'volume-by-category-1d'),
      inspectSourceOnce(),
      // A name every object has (toString): no such plugin, not an empty one (it printed {} and exit 0).
      runCli(['snapshot', 'inspect', 'latest', '--plugin', 'toString', '--data-dir', source.path]),
      runCli(['snapshot', 'inspect', '9999', '--data-dir', source.path]),
      // Leading zeros name the same generation (007 used to be "no readable generation 007", exit 1).
      inspect(source.path, `00${newest}`, 'volume-by-category-1d'),
      // Past Number.MAX_SAFE_INTEGER no generation can be named: a usage error, not "not found",
      // made before the data dir is opened (one that does not exist was "no statscache data", exit 1).
      runCli(['snapshot', 'inspect', '99999999999999999999', '--data-dir', join(scratch.path, 'nothing-here')]),
    ]);
    expect(Object.keys(one.plugins)).toEqual(['volume-by-category-1d']);
    expect(sumVolume(one.plugins['volume-by-category-1d']?.rows ?? {})).toBe(kept.length);
    expect(one.errors).toEqual([]);
    expect(all.meta.generation).toBe(newest);
    expect(Object.keys(all.plugins).length).toBeGreaterThan(5);
    expect(inherited.code).toBe(1);
    expect(inherited.stderr).toMatch(/has no plugin "toString"/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no readable generation 9999/);
    expect(padded.meta.generation).toBe(newest);
    expect(padded.plugins).toEqual(one.plugins);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toMatch(/generation "99999999999999999999" must be a number or "latest"/);
  });

  it('export to a folder, a missing folder, a symlink or a pipe: a clear refusal, or the bytes where they were asked', async () => {
    const folder = join(scratch.path, 'a-folder');
    mkdirSync(folder);
    // The destination is refused before the data dir is opened: a data dir whose store check
    // fails (a data file LMDB refuses), or one that does not exist, still gets the destination's
    // refusal. Before, the store was checked (a child process) and read first: these failed
    // with "is damaged" and "no statscache data", exit 1.
    const damaged = join(scratch.path, 'damaged-data-dir');
    mkdirSync(damaged);
    writeFileSync(join(damaged, 'statscache.lmdb'), 'not an LMDB file');
    const missing = join(scratch.path, 'no-data-dir');
    const [toFolder, noFolder] = await Promise.all([
      runCli(['snapshot', 'export', folder, '--data-dir', damaged]),
      runCli(['snapshot', 'export', join(scratch.path, 'nope', 'x.scx'), '--data-dir', missing]),
    ]);
    expect(toFolder.code).toBe(2);
    expect(toFolder.stderr).toMatch(/is a folder: name a file/);
    // Nothing left beside it (the rename failed after a full write, and the tmp file stayed).
    expect(readdirSync(scratch.path).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toMatch(/folder .*nope does not exist/);
    // Neither data dir was opened: LMDB's lock file is made by any open, read-only too.
    expect(readdirSync(damaged)).toEqual(['statscache.lmdb']);
    expect(existsSync(missing)).toBe(false);
    // A symlink: its target is replaced, the link stays a link.
    const real = join(scratch.path, 'real.scx');
    writeFileSync(real, 'old');
    const link = join(scratch.path, 'link.scx');
    symlinkSync(real, link);
    expect((await runCli(['snapshot', 'export', link, '--data-dir', source.path])).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(decodeExport(readFileSync(real)).meta.generation).toBeGreaterThan(0);
    // A pipe (as /dev/stdout into ssh): written in place, not replaced by a file; the line goes to stderr.
    const fifo = join(scratch.path, 'pipe.scx');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const reading = new Promise<void>((resolve, reject) =>
      createReadStream(fifo)
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', resolve)
        .on('error', reject),
    );
    const piped = await runCli(['snapshot', 'export', fifo, '--data-dir', source.path]);
    await reading;
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe('');
    expect(piped.stderr).toMatch(/exported generation/);
    expect(decodeExport(Buffer.concat(chunks)).meta.generation).toBeGreaterThan(0);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('export → import into a fresh data dir → the service there serves the same rows', async () => {
    const { file, run: exported } = await exportOnce();
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 8).toString()).toBe('SCEXPORT');
    const { run: imported } = await importOnce();
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/as generation 1 /);

    const svc = await start(target.path);
    const got = await servedViews(svc.base, views.keys());
    for (const [ident, rows] of views) expect({ ident, rows: got.get(ident) }).toEqual({ ident, rows });
    // The journal tail came along: a backfill overlapping the export de-duplicates against it.
    expect(((await getJson(`${svc.base}/raw?rows_per_page=1`)).body as { total: number }).total).toBe(kept.length);

    // Writers refuse while a service holds the data dir lock, naming its pid (exit 2, like any start-up refusal).
    // Both refused before writing anything: started together (each is a node start-up of CPU).
    const [busy, busyReplay] = await Promise.all([
      runCli(['snapshot', 'import', file, '--data-dir', target.path]),
      runCli(['journal', 'replay', '--from', '0', '--data-dir', target.path, '--force']),
    ]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(
      new RegExp(`SC_DATA_DIR_LOCKED: .*pid ${svc.child.pid} \\(statscache serve\\) is using it`),
    );
    expect(busyReplay.code).toBe(2);
    expect(busyReplay.stderr).toMatch(new RegExp(`pid ${svc.child.pid} .*is using`));
    await stop(svc);
  });

  it('an import the disk refuses half-way leaves no journal tail behind: all of it lands, or none', async () => {
    const { file, run: exported } = await exportOnce();
    expect(exported.code, exported.stderr).toBe(0);
    const tail = decodeExport(readFileSync(file)).journalTail.length;
    expect(tail).toBeGreaterThan(0);
    const refused = tempDir();
    try {
      // The same import into a fresh data dir, whole: the size of what it writes.
      const { run: ok, bytes: full } = await importOnce();
      expect(ok.code, ok.stderr).toBe(0);
      // Room for about two thirds of what the import writes (a file size limit fails LMDB's
      // commit with EFBIG, as a full disk does). The tail and the generation used to be two
      // transactions: the tail fit, the generation did not, and a start served the tail alone.
      const limitKb = Math.floor((full * 2) / 3 / 1024);
      const cut = await new Promise<number | null>((resolve) => {
        const child = spawn(
          'bash',
          [
            '-c',
            'ulimit -S -f "$0" && exec "$@"',
            String(limitKb),
            process.execPath,
            CLI,
            'snapshot',
            'import',
            file,
            '--data-dir',
            refused.path,
          ],
          { stdio: 'ignore', env: { ...process.env, STATSCACHE_ADMIN_TOKEN: '' } },
        );
        child.once('exit', (code) => resolve(code));
      });
      expect(cut).not.toBe(0);
      const store = new DataStore(refused.path);
      try {
        expect({ journal: store.lastSeq(), generations: store.slots() }).toEqual({ journal: 0, generations: [] });
      } finally {
        await store.close();
      }
      // Room again: the same import lands whole.
      const again = await runCli(['snapshot', 'import', file, '--data-dir', refused.path]);
      expect(again.code, again.stderr).toBe(0);
      const after = new DataStore(refused.path);
      try {
        expect({ journal: after.lastSeq(), generations: after.slots().length }).toEqual({
          journal: tail,
          generations: 1,
        });
      } finally {
        await after.close();
      }
    } finally {
      refused.remove();
    }
  });

  it('refuses a corrupted, truncated, foreign or too-new export and writes nothing', async () => {
    const { file, run } = await exportOnce();
    expect(run.code, run.stderr).toBe(0);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    const at = 52 + Math.floor((flipped.length - 52) / 2);
    flipped[at] = (flipped[at] as number) ^ 0x10;
    const newer = Buffer.from(good);
    newer.writeUInt32BE(99, 8);
    // Well framed and checksummed, but holding what restore would refuse at the next start.
    const payload = decodeExport(good);
    const ident = Object.keys(payload.plugins).find((i) => (payload.plugins[i]?.rows.length ?? 0) > 0) as string;
    const badRows = encodeExport({
      ...payload,
      plugins: { ...payload.plugins, [ident]: { rows: [['k', { no: 'timestamp' }]], stores: {} } },
    });
    const badTail = encodeExport({ ...payload, journalTail: [null as never] });
    // The bus refuses a message dated before 1970 (bad_timestamp); from an export's tail it was
    // journaled, and every plugin new to the data dir counted it, at 1970.
    const earlyTail = encodeExport({
      ...payload,
      journalTail: [{ topic: 'org.fedoraproject.prod.x', msg_id: 'early', timestamp: -5, msg: {} }],
    });
    // What the next start would refuse (SC_SNAPSHOT_TOO_NEW), refused before a data dir exists.
    const record = payload.meta.plugins[ident] as PluginRecord;
    const tooNew = encodeExport({
      ...payload,
      meta: {
        ...payload.meta,
        plugins: { ...payload.meta.plugins, [ident]: { ...record, version: record.version + 1 } },
      },
    });
    // Same version, other key columns: restore would refuse it (SC_SNAPSHOT_SHAPE_CHANGED).
    const reshaped = encodeExport({
      ...payload,
      meta: {
        ...payload.meta,
        plugins: {
          ...payload.meta.plugins,
          [ident]: { ...record, shape: { ...(record.shape as PluginShape), key: ['timestamp', 'elsewhere'] } },
        },
      },
    });
    const cases: [string, Buffer, RegExp][] = [
      ['bad rows', badRows, new RegExp(`plugin "${ident}", row "k" has no numeric timestamp`)],
      ['bad tail', badTail, /journalTail entry 0 is not a message envelope/],
      ['tail before 1970', earlyTail, /journalTail entry 0 has no timestamp of epoch seconds >= 0/],
      [
        'plugin state too new',
        tooNew,
        new RegExp(
          `plugin "${ident}" has state version ${record.version + 1} but this statscache knows version ${record.version}`,
        ),
      ],
      [
        'plugin shape changed',
        reshaped,
        new RegExp(
          `plugin "${ident}" has state of its version ${record.version} written with another shape: key columns \\[timestamp, elsewhere\\] are now`,
        ),
      ],
      ['flipped', flipped, /checksum mismatch/],
      ['truncated', good.subarray(0, good.length - 100), /truncated/],
      ['foreign', Buffer.from('{"not":"an export"}'), /not a statscache snapshot export/],
      ['newer', newer, /version 99 is newer/],
    ];
    // Padded past its announced end (the read stops one byte past it, which is enough to tell).
    const padded = join(scratch.path, 'padded.scx');
    writeFileSync(padded, Buffer.concat([good, Buffer.alloc(4 * 1024 * 1024)]));
    // Every import names a data dir of its own: the runs are independent and start together.
    const refusals = cases.map(([name, bytes]) => {
      const bad = join(scratch.path, `${name}.scx`);
      writeFileSync(bad, bytes);
      return runCli(['snapshot', 'import', bad, '--data-dir', join(scratch.path, `import-${name}`)]);
    });
    // Read as far as the header says and no further: readFileSync read /dev/zero for ever.
    const zeroRun = runCli(['snapshot', 'import', '/dev/zero', '--data-dir', join(scratch.path, 'import-zero')]);
    const padRun = runCli(['snapshot', 'import', padded, '--data-dir', join(scratch.path, 'import-padded')]);
    for (const [i, [name, , message]] of cases.entries()) {
      const r = await (refusals[i] as Promise<CliResult>);
      expect({ name, code: r.code }).toEqual({ name, code: 1 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/nothing was written/);
      expect(existsSync(join(scratch.path, `import-${name}`, 'statscache.lmdb'))).toBe(false);
    }
    const zero = await zeroRun;
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(
      /refusing to import \/dev\/zero: not a statscache snapshot export \(bad magic header\); nothing was written/,
    );
    const pad = await padRun;
    expect(pad.code).toBe(1);
    expect(pad.stderr).toMatch(
      new RegExp(`announces ${good.length - 52} payload bytes, the file holds ${good.length - 51}`),
    );
  });

  it('lists a damaged generation as unreadable and exports the previous good one', async () => {
    // A second generation over the imported one: the start and stop above took nothing new in,
    // so its stop wrote none (the generation restored is still the state).
    const replayed = await runCli(['journal', 'replay', '--from', '0', '--data-dir', target.path]);
    expect(replayed.code, replayed.stderr).toBe(0);
    const listed = await list(target.path);
    expect(listed.generations.map((g) => g.generation)).toEqual([2, 1]);
    const [newest, previous] = listed.generations;
    expect(newest?.status).toBe('ok');
    expect(previous?.status).toBe('ok');
    const store = new DataStore(target.path);
    // slotRaw yields the meta record first, whatever the key layout.
    const meta = store.slotRaw(newest?.slot as number).next().value as { key: unknown };
    await store.putRaw(meta.key, Buffer.from('torn write'));
    await store.close();

    const damaged = await list(target.path);
    expect(damaged.generations.find((g) => g.slot === newest?.slot)?.status).toBe('unreadable');
    expect(damaged.generations[0]?.generation).toBe(previous?.generation);
    const file = join(scratch.path, 'fallback.scx');
    const r = await runCli(['snapshot', 'export', file, '--data-dir', target.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`skipped damaged slot ${newest?.slot}`));
    expect(r.stdout).toMatch(new RegExp(`exported generation ${previous?.generation} `));
  });

  it('journal replay --from rebuilds state equal to the live state, and --from a later time only that part', async () => {
    const before = await listSourceOnce();
    const live = await inspectSourceOnce();
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', source.path]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain(`replayed ${kept.length} messages`);
    expect(replay.stdout).toMatch(/\d+ msg\/s/);
    const after = await listHere(source.path);
    expect(after.generations[0]?.generation).toBe((before.generations[0]?.generation as number) + 1);
    expect(after.generations[0]?.journalSeq).toBe(kept.length);
    const rebuilt = await inspectHere(source.path, 'latest');
    expect(rebuilt.meta.generation).toBe(after.generations[0]?.generation);
    expect(rebuilt.plugins).toEqual(live.plugins);

    const svc = await start(source.path);
    const got = await servedViews(svc.base, views.keys());
    for (const [ident, rows] of views) expect({ ident, rows: got.get(ident) }).toEqual({ ident, rows });
    await stop(svc);

    const from = end - 99;
    const partial = await runCli([
      'journal',
      'replay',
      '--from',
      new Date(from * 1000).toISOString(),
      '--data-dir',
      source.path,
    ]);
    expect(partial.code, partial.stderr).toBe(0);
    const part = await inspectHere(source.path, 'latest', 'volume-by-category-1d');
    expect(sumVolume(part.plugins['volume-by-category-1d']?.rows ?? {})).toBe(
      kept.filter((e) => e.timestamp >= from).length,
    );
    const badFrom = await runCli(['journal', 'replay', '--from', 'last tuesday', '--data-dir', source.path]);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toMatch(/--from "last tuesday" must be epoch seconds or an ISO-8601 date/);

    // A --from no message reaches would write empty state as the newest generation: refused, nothing written.
    const generations = await listHere(source.path);
    const ms = await runCli(['journal', 'replay', '--from', String(Date.now()), '--data-dir', source.path]);
    expect(ms.code).toBe(2);
    expect(ms.stderr).toMatch(/--from "\d+" is \d+ s ahead of the clock: no message is that new/);
    const newest = Math.max(...kept.map((e) => e.timestamp));
    const past = await runCli([
      'journal',
      'replay',
      '--from',
      String(Math.floor(newest) + 1),
      '--data-dir',
      source.path,
    ]);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/no journal message has a timestamp >= .*: nothing was written/);
    expect(await listHere(source.path)).toEqual(generations);
  }, 90_000);

  it('journal replay on a dir whose journal retention has emptied refuses (exit 2) and writes nothing', async () => {
    const dir = await trimmed;
    const generations = await listHere(dir);
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dir]);
    // Before: exit 0 and a generation of 0 entries above the good one; the next start served nothing.
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/retention trimmed all \d+ of them/);
    expect(replay.stderr).toMatch(/holds no message to replay .*holds state for .*volume-1m.*nothing was written/);
    expect(await listHere(dir)).toEqual(generations);
  }, 60_000);
});
