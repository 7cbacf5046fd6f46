import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { digestsOf, joinedPublisher, metricOf, metricsText, sampleOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

/**
 * A plugin taken out of the config and put back, or added to a data dir that has run without
 * it, is caught up at start from the journal: it serves what a service that had it all along
 * serves, and every other plugin is left as it was (nothing counted twice). Where retention
 * trimmed part of what it missed, the start says which records, and /metrics counts them.
 * Real services over a real ZeroMQ bus, read over HTTP, against control runs.
 */
const COUNTER = `export default {
  name: 'Counter', summary: 's', description: 'd', interval: '1m',
  columns: ['topic', 'n'], key: ['timestamp', 'topic'],
  update(message, { rows, bucket }) {
    const previous = rows.get(rows.keyOf({ timestamp: bucket, topic: message.topic }));
    rows.put({ timestamp: bucket, topic: message.topic, n: (previous?.n ?? 0) + 1 });
  },
};`;
const IDENT = 'counter-1m';
const TOPICS = ['org.fedoraproject.prod.wiki.article.edit', 'org.fedoraproject.prod.git.receive'];

type Message = { topic: string; timestamp: number; msg_id: string; msg: Record<string, unknown> };

/** `n` messages named `name`, dated from `from` one every 7 seconds. */
const batch = (name: string, n: number, from: number): Message[] =>
  Array.from({ length: n }, (_, i) => ({
    topic: TOPICS[i % TOPICS.length] as string,
    timestamp: from + 7 * i,
    msg_id: `2026-catch-up-${name}-${i}`,
    msg: { user: `user${i % 3}`, title: 'Page', package: 'bash' },
  }));

const dirs: { remove(): void }[] = [];
/** Every service started: a failed assertion leaves one running, which the next test must not orphan. */
const started: RunningService[] = [];
afterAll(async () => {
  for (const s of started) await s.stop('SIGKILL');
  for (const d of dirs) d.remove();
});

/** A data dir and two configs over it: with the counter plugin, and without it. */
function dataDir(extra: Record<string, unknown> = {}): { with: string; without: string } {
  const d = tempDir();
  dirs.push(d);
  writeFileSync(join(d.path, 'counter.mjs'), COUNTER);
  const write = (file: string, plugins: string[]) => {
    const path = join(d.path, file);
    writeFileSync(path, JSON.stringify({ plugins, dataDir: join(d.path, 'data'), ...extra }));
    return path;
  };
  return { with: write('with.json', ['./counter.mjs']), without: write('without.json', []) };
}

// The bus on the main thread: catch-up at start is under test, not how messages arrive, and the
// bus thread cost each start a worker's CPU and wall.
const start = async (config: string, args: string[] = []) => {
  const s = await startService(['--config', config, '--snapshot-interval', '86400', '--bus-thread', 'false', ...args]);
  started.push(s);
  await waitReady(s);
  // Logged once start-up is done, after what the catch-up logs: stdout may reach us after /readyz.
  await eventually(() => (logLines(s).some((l) => l['msg'] === 'ready: consuming the bus live') ? true : undefined));
  return s;
};
const stop = async (s: RunningService) => {
  expect(await s.stop('SIGTERM')).toBe(0);
};

/**
 * Publishes until the journal has taken `total` messages in all (its last seq: retention may have
 * trimmed some), all applied (repeats are de-duplicated by msg_id).
 */
async function publish(s: RunningService, messages: readonly Message[], total: number): Promise<void> {
  const pub = await joinedPublisher(s);
  try {
    await eventually(
      async () => {
        for (const m of messages) await pub.send(m.topic, JSON.stringify(m));
        const text = await metricsText(s.base);
        return sampleOf(text, 'statscache_journal_last_seq') === total &&
          sampleOf(text, 'statscache_journal_applied_seq') === total
          ? true
          : undefined;
      },
      20_000,
      `${total} messages journaled and applied`,
    );
  } finally {
    pub.close();
  }
}

const rowsOf = async (s: RunningService) => (await getJson(`${s.base}/api/${IDENT}?rows_per_page=100`)).body;
const logLines = (s: RunningService) =>
  s.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
const catchUpLines = (s: RunningService) =>
  logLines(s).filter((l) => l['plugin'] === IDENT && typeof l['fromSeq'] === 'number');

/**
 * What a service that had the plugin all along serves after each of `batches`: rows and every
 * plugin's digest, read once that batch is journaled and applied.
 */
async function control(batches: readonly Message[][]) {
  const cfg = dataDir();
  const s = await start(cfg.with);
  let total = 0;
  const out: { rows: unknown; digests: Record<string, string> }[] = [];
  for (const b of batches) {
    await publish(s, b, (total += b.length));
    out.push({ rows: await rowsOf(s), digests: await digestsOf(s.base) });
  }
  await stop(s);
  return out;
}

// At once: each test has data dirs and services of its own (and its own control run), and a
// chain of service starts and stops whose waits (readiness, SIGTERM's final snapshot) leave a
// core idle when run one after another.
describe.concurrent('a plugin behind the restored state is caught up from the journal at start', () => {
  const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 1800;
  const first = batch('first', 12, t0);
  const missed = batch('missed', 15, t0 + 60);
  const later = batch('later', 6, t0 + 240);
  /**
   * One control run for the first two tests: what it serves after `missed` is what a control of
   * `first` and `missed` alone served (the same messages, read before `later` is sent), so a
   * second run of the same start and batches is not needed.
   */
  let firstMissedLater: ReturnType<typeof control> | undefined;
  const controlOfFirstMissedLater = () => (firstMissedLater ??= control([first, missed, later]));

  it('loaded again: gets exactly what it missed, once, and the other plugins are untouched', async () => {
    const want = (await controlOfFirstMissedLater())[2];
    if (!want) throw new Error('the control run served nothing after later');
    const cfg = dataDir();
    let s = await start(cfg.with);
    await publish(s, first, first.length);
    await stop(s);
    s = await start(cfg.without);
    await publish(s, missed, first.length + missed.length);
    await stop(s);

    s = await start(cfg.with);
    // Caught up with the records the run without it journaled, and said so.
    const lines = catchUpLines(s);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: expect.stringContaining('plugin loaded again after runs without it: caught up from the journal'),
      notLoadedAfterSeq: first.length,
      fromSeq: first.length + 1,
      toSeq: first.length + missed.length,
      records: missed.length,
      applied: missed.length,
    });
    expect(await metricOf(s.base, 'statscache_intake_total', 'event="caught_up"')).toBe(missed.length);
    await publish(s, later, first.length + missed.length + later.length);
    expect(await rowsOf(s)).toEqual(want.rows);
    // Every plugin, the built-ins that saw every message live included: nothing counted twice.
    expect(await digestsOf(s.base)).toEqual(want.digests);
    await stop(s);

    // Caught up is caught up: the next start has nothing to replay into it and serves the same.
    s = await start(cfg.with);
    expect(catchUpLines(s)).toEqual([]);
    expect(await rowsOf(s)).toEqual(want.rows);
    expect(await digestsOf(s.base)).toEqual(want.digests);
    await stop(s);
  }, 180_000);

  it('new to the data dir: built from the journal the runs without it kept', async () => {
    const want = (await controlOfFirstMissedLater())[1];
    if (!want) throw new Error('the control run served nothing after missed');
    const cfg = dataDir();
    let s = await start(cfg.without);
    await publish(s, first, first.length);
    await publish(s, missed, first.length + missed.length);
    await stop(s);
    s = await start(cfg.with);
    expect(catchUpLines(s)).toEqual([
      expect.objectContaining({
        msg: 'plugin new to this data dir: built from the journal',
        fromSeq: 1,
        toSeq: first.length + missed.length,
      }),
    ]);
    expect(await rowsOf(s)).toEqual(want.rows);
    expect(await digestsOf(s.base)).toEqual(want.digests);
    await stop(s);
  }, 120_000);

  it('with the journal trimmed meanwhile: catches up what is left and names the records it lacks', async () => {
    // Dated past a 1 h retention: a snapshot lets them go once every generation covers them.
    const old = t0 - 3 * 3600;
    const firstOld = batch('first-old', 10, old);
    const trimmed = batch('trimmed', 8, old + 120);
    const kept = batch('kept', 9, t0 + 120);
    const token = 'catch-up-admin-token';
    // What it can hold: the records before and after the trimmed ones.
    const want = (await control([firstOld, kept]))[1];
    if (!want) throw new Error('the control run served nothing after kept');
    const cfg = dataDir({ journalMaxAge: '1h', snapshotGenerations: 1, adminToken: token });
    let s = await start(cfg.with);
    await publish(s, firstOld, firstOld.length);
    await stop(s);
    s = await start(cfg.without);
    await publish(s, trimmed, firstOld.length + trimmed.length);
    const taken = await fetch(`${s.base}/admin/snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(taken.status).toBe(200);
    await eventually(
      () => (logLines(s).some((l) => l['msg'] === 'journal trimmed') ? true : undefined),
      15_000,
      'journal trimmed',
    );
    await publish(s, kept, firstOld.length + trimmed.length + kept.length);
    await stop(s);

    s = await start(cfg.with);
    const gapFrom = firstOld.length + 1;
    const gapTo = firstOld.length + trimmed.length;
    expect(catchUpLines(s)).toEqual([
      expect.objectContaining({
        level: 40,
        msg: expect.stringContaining('the journal no longer holds every message taken in meanwhile'),
        notLoadedAfterSeq: firstOld.length,
        missingFromSeq: gapFrom,
        missingToSeq: gapTo,
        fromSeq: gapTo + 1,
        toSeq: gapTo + kept.length,
        applied: kept.length,
      }),
    ]);
    expect(await metricOf(s.base, 'statscache_plugin_catch_up_missing_records', `plugin="${IDENT}"`)).toBe(
      trimmed.length,
    );
    expect(await rowsOf(s)).toEqual(want.rows);
    await stop(s);
  }, 180_000);
});
