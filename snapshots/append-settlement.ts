/**
 * Journal appends whose outcome lmdb-js never reports, settled from the file.
 *
 * Under a failing disk (EIO from a commit: seen with a file size limit and several appends
 * queued, lmdb 3.5.6) lmdb-js sometimes settles none of one transaction's write promises, while
 * every later write commits or fails as usual; the records of each such append were absent
 * from the file. The journal chains its batches, so one such promise stopped intake for good,
 * with every health check still green (test/snapshots/lost-append-outcome.test.ts).
 *
 * LMDB commits in queue order: once a later append has settled, an earlier one still pending
 * is done, and it resolves here, for its caller to read from the file how (DataStore confirms
 * every append from the file anyway: lmdb-js also misreports outcomes). When nothing later
 * comes (a quiet bus, or AMQP's prefetch window full of deliveries waiting on that very
 * commit), a probe write queued behind the oldest pending append gives one.
 *
 * Other transactions are watched the same way (watchWrite): on a data file that refused
 * writes (EPERM once made immutable, as a file system remounted read-only refuses them), lmdb-js
 * settled a snapshot's write neither way, every time, while the appends beside it settled; the
 * snapshot cycle waited on it for good (no generation written after the disk took writes again,
 * /readyz 503 "snapshot write pending" until a restart, and a stop that waited out
 * --stop-timeout). A journal trim's transaction was left pending the same way.
 */
/** How long an append may stay pending before a probe is queued behind it, by default (`--write-probe-after`). */
export const PROBE_AFTER_MS = 2_000;

export interface AppendSettlementDeps {
  /** A write that changes nothing, queued behind every write before it. */
  readonly probe: () => Promise<unknown>;
  /** How long an append may stay pending before a probe is queued behind it. */
  readonly probeAfterMs: number;
  /** Milliseconds of a monotonic clock: appends are aged by it (a wall clock set back would hide a wedged disk). */
  readonly now: () => number;
  /**
   * Asked before a probe is queued: whether the environment failed for good (MDB_PANIC), where
   * lmdb-js settles no write, a probe's neither; the store then fails what is pending (fail()).
   */
  readonly failedForGood?: () => boolean;
}

/** What a queued write is: a journal append, another transaction (a snapshot, a trim), or a probe write. */
type PendingKind = 'append' | 'write' | 'probe';

interface Pending {
  /** Its place in the queue order, counted from 0 over the store's life. */
  readonly order: number;
  readonly since: number;
  readonly kind: PendingKind;
  done: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

export class AppendSettlement {
  /** Appends (and probes) in the order they were queued; the settled ones at the head dropped. */
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private queued = 0;
  /** Set by fail(): every write is failed with it. */
  private failed: { readonly err: unknown } | null = null;
  /** Set by stop(): no probe timer is armed again (the store is closing). */
  private stopped = false;
  /** Appends settled here because lmdb-js never reported their outcome. */
  recovered = 0;

  constructor(private readonly deps: AppendSettlementDeps) {}

  /** Settles with `write`, or resolves once a later write has settled: done, its outcome for the file to tell. */
  watch(write: Promise<unknown>): Promise<void> {
    return this.push(write, 'append');
  }

  /** watch() for another transaction (a snapshot, a trim): settled the same way, but no journal append (oldestPending). */
  watchWrite(write: Promise<unknown>): Promise<void> {
    return this.push(write, 'write');
  }

  /** When the oldest append still unsettled was queued (deps.now), or null when every one has settled. */
  oldestPending(): number | null {
    return this.queue.find((e) => !e.done && e.kind === 'append')?.since ?? null;
  }

  /**
   * Rejects every write still pending with `err`, and each one watched from now on at once
   * (the environment failed for good: lmdb-js will settle none of them).
   */
  fail(err: unknown): void {
    this.failed = { err };
    for (const entry of this.queue.splice(0)) {
      if (entry.done) continue;
      entry.done = true;
      entry.reject(err);
    }
    this.stop();
  }

  /**
   * No more probes (the store is closing), for good: a write watched after this arms no timer,
   * which would otherwise fire, and probe a closed store, in a process that goes on running.
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private push(write: Promise<unknown>, kind: PendingKind): Promise<void> {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const outcome = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    if (this.failed !== null) {
      write.catch(() => undefined);
      reject(this.failed.err);
      return outcome;
    }
    const entry: Pending = { order: this.queued++, since: this.deps.now(), kind, done: false, resolve, reject };
    this.queue.push(entry);
    write.then(
      () => this.settle(entry, null),
      (err: unknown) => this.settle(entry, err ?? new Error('write failed')),
    );
    this.arm();
    return outcome;
  }

  private settle(entry: Pending, err: unknown): void {
    if (entry.done) return;
    entry.done = true;
    if (err === null) entry.resolve();
    else entry.reject(err);
    while (this.queue[0]?.done) this.queue.shift();
    // Nothing queued before it still pending (every append but under a failing disk): nothing for it to overtake.
    const head = this.queue[0];
    if (head === undefined || head.order > entry.order) return;
    // The writes of one commit settle in queue order within one turn: look once they all have.
    setImmediate(() => this.overtaken(entry));
  }

  /** Every append queued before `later` and still pending is done: its caller reads the file. */
  private overtaken(later: Pending): void {
    // By order, not identity: `later` may have left the queue already, before appends queued since.
    for (const entry of this.queue) {
      if (entry.order >= later.order) break;
      if (entry.done) continue;
      entry.done = true;
      if (entry.kind === 'append') this.recovered++;
      entry.resolve();
    }
    while (this.queue[0]?.done) this.queue.shift();
  }

  /**
   * Looks at the oldest pending append `delay` ms from now. Left armed when every append has
   * settled (it then lapses at its turn): clearing it and arming it again for each append was a
   * timer made and dropped per journal commit.
   */
  private arm(delay = this.deps.probeAfterMs): void {
    if (this.timer !== undefined || this.stopped) return;
    // I/O pacing, not plugin time: nothing a test asserts depends on when it fires.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const oldest = this.queue.find((e) => !e.done);
      if (oldest === undefined) return;
      const waited = this.deps.now() - oldest.since;
      if (waited < this.deps.probeAfterMs) {
        // Queued after this timer was armed: its turn comes probeAfterMs after it was.
        this.arm(this.deps.probeAfterMs - waited);
        return;
      }
      // Failed for good: fail() has rejected every pending write, and no probe would settle.
      if (this.deps.failedForGood?.() === true) return;
      const last = this.queue[this.queue.length - 1];
      if (!(last?.kind === 'probe' && !last.done)) {
        let write: Promise<unknown>;
        try {
          write = this.deps.probe();
        } catch (err) {
          write = Promise.reject(err);
        }
        // A probe's own failure says nothing new: the appends it overtakes carry theirs.
        this.push(write, 'probe').catch(() => undefined);
      }
      this.arm();
    }, delay).unref();
  }
}
