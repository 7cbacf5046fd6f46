/**
 * A start and stop with nothing new writes no snapshot. Each stop after a restart wrote a new
 * generation of the whole state (284 entries for the 510 fixtures, every restart, slots wrapped
 * or not), though the generation restored was still exactly the state: its next slot holds an
 * older generation whose content the run does not know. Now the stop writes nothing and reports
 * the generation restored; a message taken in after a restart is written as a run that did not
 * restart writes it. The real CLI, spawned, on a real LMDB data dir; the state read over HTTP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { type RawEnvelope, recentSamples } from '../helpers/fixtures.js';
import { type BusPublisher, joinedPublisher, loggedLine, metricsText, sampleOf, waitReady } from '../helpers/probes.js';
import { servedViews } from '../helpers/reference.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

const TOKEN = 'restart-unchanged-token-0123';
const END = Math.floor(Date.now() / 1000) - 120;
const SAMPLES = recentSamples(END);
/** One message none of the samples is, dated within them. */
const NEW_ONE: RawEnvelope = { ...(SAMPLES.at(-1) as RawEnvelope), msg_id: 'restart-unchanged-new-1', timestamp: END };

/**
 * Messages taken in on the main thread: what a stop writes is the subject here, not the bus
 * thread's hand-over (test/core/bus-thread and others), and each of the 10 starts spares a worker.
 */
const NO_BUS_THREAD = ['--bus-thread', 'false'];

interface FinalSnapshot {
  readonly generation: number;
  readonly written: number;
}

/**
 * A publisher joined to `svc`, for as many batches as a run sends: `publish` sends `envelopes`
 * and then a marker of its own, and waits until the marker is applied (every one before it came in).
 */
async function publisherTo(svc: RunningService) {
  // Ready first (/readyz is cheap): the join probe renders the whole of /metrics at each try, and
  // the service counts no frame before it is ready.
  await waitReady(svc);
  const pub: BusPublisher = await joinedPublisher(svc);
  return {
    async publish(envelopes: readonly RawEnvelope[], marker: string): Promise<void> {
      const last = { ...(envelopes.at(-1) as RawEnvelope), msg_id: marker };
      for (const e of [...envelopes, last]) await pub.send(e.topic, JSON.stringify(e));
      await eventually(
        async () => {
          if ((await getJson(`${svc.base}/id?id=${marker}`)).status !== 200) return undefined;
          const text = await metricsText(svc.base);
          const applied = sampleOf(text, 'statscache_journal_applied_seq');
          return applied === sampleOf(text, 'statscache_journal_last_seq') ? true : undefined;
        },
        30_000,
        `${marker} applied`,
      );
    },
    close: () => pub.close(),
  };
}

/** One batch on a publisher of its own (publisherTo). */
async function publish(svc: RunningService, envelopes: readonly RawEnvelope[], marker: string): Promise<void> {
  const pub = await publisherTo(svc);
  try {
    await pub.publish(envelopes, marker);
  } finally {
    pub.close();
  }
}

async function adminSnapshot(svc: RunningService): Promise<FinalSnapshot> {
  const res = await fetch(`${svc.base}/admin/snapshot`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as FinalSnapshot;
}

/** SIGTERM, exit 0, and what the final snapshot's log line says. */
async function stopped(svc: RunningService): Promise<FinalSnapshot> {
  expect(await svc.stop()).toBe(0);
  const line = await loggedLine(svc, (l) => l.includes('"final snapshot written"'), 'final snapshot');
  const { generation, written } = JSON.parse(line) as FinalSnapshot;
  return { generation, written };
}

async function everyView(svc: RunningService): Promise<Map<string, Row[]>> {
  const body = (await getJson(`${svc.base}/plugins`)).body as { plugins: { ident: string }[] };
  // Uncompressed: compression is not under test here, and each of the 8 reads is ~50 pages.
  return servedViews(
    svc.base,
    body.plugins.map((p) => p.ident),
    { 'accept-encoding': 'identity' },
  );
}

describe('a restart with nothing new', () => {
  const dir = tempDir();
  let svc: RunningService | null = null;
  const start = async (extra: readonly string[] = []) => {
    svc = await startService(['--data-dir', dir.path, ...NO_BUS_THREAD, ...extra], { STATSCACHE_ADMIN_TOKEN: TOKEN });
    return svc;
  };
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('writes nothing at stop and reports the generation restored, slots wrapped; a new message after it is written', async () => {
    // Three generations at three positions: every slot written, the newest in slot 0.
    const first = await start();
    const third = Math.ceil(SAMPLES.length / 3);
    const pub = await publisherTo(first);
    try {
      for (let i = 0; i < 3; i++) {
        await pub.publish(SAMPLES.slice(i * third, (i + 1) * third), `restart-unchanged-part-${i}`);
        expect((await adminSnapshot(first)).generation).toBe(i + 1);
      }
    } finally {
      pub.close();
    }
    const views = await everyView(first);
    expect(views.size).toBeGreaterThan(0);
    expect(await stopped(first)).toEqual({ generation: 3, written: 0 });

    for (let run = 0; run < 3; run++) {
      const again = await start();
      expect(await everyView(again)).toEqual(views);
      // Before: generation 4, 5, 6, each writing every entry into the next slot.
      expect(await stopped(again)).toEqual({ generation: 3, written: 0 });
    }

    const withNew = await start();
    await publish(withNew, [NEW_ONE], 'restart-unchanged-marker');
    const changed = await everyView(withNew);
    expect(changed).not.toEqual(views);
    const final = await stopped(withNew);
    expect(final.generation).toBe(4);
    expect(final.written).toBeGreaterThan(0);

    // And that generation is again what the next restart restores and keeps.
    const again = await start();
    expect(await everyView(again)).toEqual(changed);
    expect(await stopped(again)).toEqual({ generation: 4, written: 0 });
  }, 240_000);
});

describe('with one generation kept, a message after a restart is written as a run without the restart writes it', () => {
  const restarted = tempDir();
  const straight = tempDir();
  let svc: RunningService | null = null;
  const start = async (dataDir: string) => {
    svc = await startService(['--data-dir', dataDir, '--snapshot-generations', '1', ...NO_BUS_THREAD], {
      STATSCACHE_ADMIN_TOKEN: TOKEN,
    });
    return svc;
  };
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    restarted.remove();
    straight.remove();
  });

  it('writes only what that message changed, and nothing at a restart with nothing new', async () => {
    // Without a restart: the samples, a snapshot, the message, the stop.
    const one = await start(straight.path);
    const pub = await publisherTo(one);
    let whole: FinalSnapshot;
    try {
      await pub.publish(SAMPLES, 'restart-unchanged-all');
      whole = await adminSnapshot(one);
      await pub.publish([NEW_ONE], 'restart-unchanged-marker');
    } finally {
      pub.close();
    }
    const expected = await everyView(one);
    const noRestart = await stopped(one);
    expect(noRestart.generation).toBe(2);
    expect(noRestart.written).toBeGreaterThan(0);
    expect(noRestart.written).toBeLessThan(whole.written);

    // The same, with restarts between the snapshot and the message.
    const two = await start(restarted.path);
    await publish(two, SAMPLES, 'restart-unchanged-all');
    expect(await stopped(two)).toEqual({ generation: 1, written: whole.written });
    const quiet = await start(restarted.path);
    // Before: generation 2, written 0 (a new generation of the same state, the meta rewritten).
    expect(await stopped(quiet)).toEqual({ generation: 1, written: 0 });
    const three = await start(restarted.path);
    await publish(three, [NEW_ONE], 'restart-unchanged-marker');
    expect(await everyView(three)).toEqual(expected);
    expect(await stopped(three)).toEqual({ generation: 2, written: noRestart.written });
  }, 240_000);
});
