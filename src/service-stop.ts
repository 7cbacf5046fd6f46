import { APPLYING_FILE } from '../snapshots/applying-mark.js';
import { removePidFile } from '../snapshots/pid-file.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';
import type { ServiceParts } from './service-parts.js';

/** What the stop and close sequences call on the service itself. */
export interface Stoppable {
  snapshot(): Promise<SnapshotReport>;
  readonly metrics: { stop(): void };
  /** GET /admin/export's child killed by the abort has exited (bounded). */
  exportsEnded(): Promise<void>;
}

/**
 * Service.stop(): stops intake, pushes the last updates, writes a final snapshot and flushes
 * LMDB. The order is the durability contract: intake is closed and drained into the journal
 * before the final snapshot, and the store closes last.
 */
export async function stopService(s: ServiceParts, service: Stoppable): Promise<void> {
  const { state } = s;
  if (state.phase === 'stopping' || state.phase === 'stopped') return;
  const wasRunning = state.phase === 'running';
  state.phase = 'stopping';
  // The hang watch is not halted here: what the stop drains (held and in-flight batches, a
  // commit still pending) is applied by the plugins like any message, and a hang in it would
  // hold the process for good: --stop-timeout's timer runs on the thread the plugin holds.
  haltBackgroundWork(s, service, false);
  // A start under way finishes opening its listener or bus sockets first (start() then returns).
  await state.opening;
  state.subscription?.close();
  state.liveGate.open();
  // Cancels the consumers and acks what reached the journal; the broker requeues the rest.
  // Started in the same turn as the gate opens (held deliveries are let through, as the gate
  // resolved first): the cancel reaches the broker ahead of their acks, so the freed prefetch
  // window is not refilled while the bus thread winds down.
  const amqpClosed = s.amqp.close();
  await state.subscription?.done;
  await amqpClosed;
  await s.recovery.drained();
  // Aborted, the replay ends at its next entry, its thread stopped and waited for (bounded).
  await state.recovering;
  // The start-up backfill, in the background or not yet (a stop within --ready-timeout left it
  // running, untracked: `pending` is set only once run() gives up waiting on it).
  await s.startupFill.ended;
  s.hub.tick();
  try {
    // The data file failed for good (MDB_PANIC): no snapshot can be written in this process.
    if (s.store.panic !== null) throw s.store.panic;
    // A stop during replay still snapshots: what was replayed is state like any other. A
    // periodic or admin snapshot still being written is waited for, not cancelled as by close():
    // this one, serialised after it, then writes only what changed since, where after a cancel
    // it would write again all that one had written (its slot's cursors stay put). The admin
    // request gets its report, and should this one fail, that one's generation is on disk.
    const report = await service.snapshot();
    s.log.info(
      { generation: report.generation, written: report.written, ms: Math.round(report.durationMs), wasRunning },
      'final snapshot written',
    );
  } catch (err) {
    // Before the snapshot or during it alike.
    if (s.store.panic !== null) throw panicStop(s, s.store.panic);
    // The last chance to put held messages on disk is gone: say what goes with the process.
    const unwritten = s.journal.backlog.status();
    if (unwritten !== null)
      s.log.error(
        { held: unwritten.held, dropped: unwritten.dropped, lastError: unwritten.lastError },
        'stopping with accepted messages on no disk (journal writes and the final snapshot failed): lost unless --datagrepper backfills them',
      );
    throw err;
  } finally {
    state.server?.close();
    s.host.stop();
    s.journal.known.stop();
    s.journal.stopRetrying();
    // Killed by the abort: close() and stop() returned with it reading the data dir released below.
    await service.exportsEnded();
    // A periodic or admin snapshot's journal trim (steps over many turns, after its write, which
    // alone the final snapshot is serialised after) read on from the store closed below and
    // failed ('Can not renew a transaction from a closed database'). No snapshot starts from now.
    await s.snapshots.close();
    // An admin snapshot's size walk (after its write, like the trim) read on from the closed store.
    await state.walks.close();
    const unflushed = await s.store.close();
    // Last: a commit that settled while the store closed was applied, watched, before this.
    stopHangWatch(s);
    releaseDataDir(s);
    state.phase = 'stopped';
    if (unflushed !== null) unflushedStop(s, unflushed);
  }
}

/**
 * A write that failed while the store closed (a full disk): close() settles without waiting
 * for LMDB then (store-commits.ts). Nothing writes between the final snapshot and the close
 * today; should anything, what it held is gone with the process, and the stop says so and
 * fails (exit 1) rather than end as a clean one. After a failure already thrown (the final
 * snapshot's) the store closes without waiting, and this is not called.
 */
function unflushedStop(s: ServiceParts, failure: Error): never {
  const unwritten = s.journal.backlog.status();
  s.log.error(
    { err: failure.message, held: unwritten?.held ?? 0, dropped: unwritten?.dropped ?? 0 },
    'a write to the data file failed while it closed: what it held is not on disk, and is lost unless --datagrepper backfills it',
  );
  throw failure;
}

/**
 * Logs what a stop on a data file that failed for good (MDB_PANIC) loses: no final snapshot,
 * and the journal records held in memory (never written: the next start cannot replay them,
 * and only --datagrepper can backfill them), and the ZeroMQ messages received after it (BusIngest
 * droppedDataFileFailed). AMQP deliveries behind them were never acked, so the broker delivers
 * them again to the next start. Returns `panic`, for the stop to fail with.
 */
function panicStop(s: ServiceParts, panic: Error): Error {
  const unwritten = s.journal.backlog.status();
  const busDropped = s.busIngest.droppedDataFileFailed;
  s.log.error(
    {
      err: panic.message,
      held: unwritten?.held ?? 0,
      dropped: unwritten?.dropped ?? 0,
      busDropped,
    },
    `stopping without a final snapshot: the data file failed for good in this process (MDB_PANIC); ${String(unwritten?.held ?? 0)} journal records held in memory${unwritten?.dropped ? ` and ${String(unwritten.dropped)} let go past the hold` : ''} are lost unless --datagrepper backfills them (unacked AMQP deliveries come again)${busDropped > 0 ? `; ${String(busDropped)} bus messages received after the failure were dropped, never journaled (lost likewise)` : ''}; the next start opens the file afresh and serves its last generation and journal`,
  );
  return panic;
}

/** Service.close(): releases everything without a final snapshot (tools and tests that only read). */
export async function closeService(s: ServiceParts, service: Stoppable): Promise<void> {
  const { state } = s;
  state.released = true;
  haltBackgroundWork(s, service);
  // Held records go with the process (no final snapshot either): no retry starts from now. Stopped
  // only after the waits below, a retry that came due meanwhile (its 1 s back-off outlasting the bus
  // thread's end under load) wrote during close(), and its failure's panic check read the data file
  // in the turn close() returned in, leaving lmdb-js's 0 ms read-reset timer for the caller
  // (test/e2e/close-leaves-nothing.test.ts: 15 of 45 children, 3 at once on 2 cores).
  s.journal.stopRetrying();
  // From now on no snapshot starts; one in progress (its trim too) ends before the store closes:
  // closed under it, it failed and lmdb-js's read-transaction timer threw, uncaught. Its write
  // is cancelled at its next chunk, its transaction aborted: no final snapshot is written here,
  // so the one before it and the journal hold everything, as for a close between snapshots.
  const snapshotsEnded = s.snapshots.close({ cancel: true });
  // Paced reads HTTP started (the admin snapshot's size walk): ended at the pause they wait in.
  const walksEnded = state.walks.close({ cancel: true });
  await state.opening;
  state.subscription?.close();
  // Waited for as stop() waits: a caller's process.exit() right after met the bus thread's
  // sockets open, which zeromq's addon answers by aborting the process (SIGABRT). Bounded: a
  // thread that does not end is terminated, then let go (bus-thread.ts shutdown).
  const busDone = state.subscription?.done;
  await s.amqp.close();
  await busDone;
  // As stop() waits: aborted, the replay ends at its next entry, its thread stopped and waited
  // for (bounded, replay-thread.ts); it read on from the store closed below.
  await state.recovering;
  // And the backfills (start-up, gap, recheck): aborted, each ends at once (its request and its
  // back-off are let go) or once the page it took in is committed, which the flush below waits
  // for anyway. close() returned with them running, to end after the store closed.
  await s.recovery.drained();
  await s.startupFill.ended;
  state.server?.close();
  s.host.stop();
  s.journal.known.stop();
  await service.exportsEnded();
  await snapshotsEnded;
  await walksEnded;
  await s.journal.flush();
  const unflushed = await s.store.close();
  releaseDataDir(s);
  state.phase = 'stopped';
  // The flush above settles every write queued so far; one failing after it (none does today)
  // is close()'s to reject with, as it rejected with lmdb-js's bare "Commit failed" before.
  if (unflushed !== null) throw unflushed;
}

/**
 * The pid file goes first, while the lock still says it is ours to remove. One that cannot be
 * removed (the data dir made unwritable while running) fails nothing: the lock, not the file,
 * decides who may write, and a file naming a dead pid is what a crash leaves. It threw, so a
 * stop whose final snapshot was written said 'stop failed', exited 1 and kept the lock.
 */
function releaseDataDir(s: ServiceParts): void {
  try {
    removePidFile(s.config.dataDir);
  } catch (err) {
    s.log.warn({ err: (err as Error).message }, 'could not remove statscache.pid; it stays, naming this ended process');
  }
  s.state.lock?.release();
  s.state.lock = null;
}

/**
 * The hang watch's stop removes applying.json: between messages, a mark left would name one
 * that completed. One that cannot be removed (the data dir made unwritable while a slow message
 * was marked) fails nothing, as the pid file's does: the next start counts no death on a mark
 * whose message the restored generation's state of that plugin holds (hung-report.ts), which a
 * final snapshot written makes so. It threw: 'stop failed', exit 1, and the lock kept.
 */
function stopHangWatch(s: ServiceParts): void {
  try {
    s.state.hangWatch?.stop();
  } catch (err) {
    s.log.warn(
      { err: (err as Error).message },
      `could not remove ${APPLYING_FILE}; it stays, and the next start counts no death on it if its snapshot holds the message it names`,
    );
  }
}

/**
 * The first step of a stop and of a close alike: no timer, watch or start step runs on after
 * it; the plugin hang watch too unless `hangWatch` is false (a stop keeps it to its end).
 */
function haltBackgroundWork(s: ServiceParts, service: Stoppable, hangWatch = true): void {
  s.state.abort.abort();
  service.metrics.stop();
  s.heapWatch.stop();
  if (hangWatch) stopHangWatch(s);
  for (const cancel of s.state.timers) cancel();
}
