import { DataFilePanicError } from '../snapshots/store-write-errors.js';
import type { ThreadMessage } from './bus-thread.js';
import { nextTurn } from './clock.js';
import type { Config } from './config.js';
import type { GapSignal } from './gap-detector.js';
import type { Intake } from './intake.js';
import { errorText, type Logger, type throttled } from './logger.js';

/** Longest run of bus frames handled before the receive loop lets I/O (HTTP) in. */
const INGEST_SLICE_MS = 2;
/** Most bus messages accepted in one event-loop turn: they are applied together once their journal batch commits. */
const INGEST_TURN_MESSAGES = 128;

export interface BusIngestDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly logLimited: ReturnType<typeof throttled>;
  readonly intake: Intake;
  /** Null once live messages may go in; until then, what they wait for (replay and start-up backfill). */
  readonly held: () => Promise<void> | null;
  /** Joins the coalesced, rate-limited gap backfill. */
  readonly fillGap: (window: { start: number; end: number }) => void;
}

/**
 * The bus's way in: messages from the ZeroMQ receive loop (or the bus thread's batches) held
 * while the service starts, then handed to the intake in slices so HTTP is answered between
 * them; a throw on one message skips it and is counted, the loop goes on.
 */
export class BusIngest {
  /** Bus messages whose receive path threw: skipped, the loop went on. */
  receiveErrors = 0;
  /**
   * Bus messages taken off the bus after the data file failed for good (MDB_PANIC), until the
   * process exits: none can be de-duplicated or journaled in it, and ZeroMQ delivers nothing
   * again. Counted here, not as receive failures: the fatal line named the cause once, and the
   * stop's line (service-stop.ts) tells how many went.
   */
  droppedDataFileFailed = 0;
  /** Messages of those (taken off the bus or a backfill, then the intake threw): never journaled nor applied. */
  private lostCount = 0;
  private lastLost: { readonly at: number; readonly source: string; readonly error: string } | null = null;
  /** When the current run of bus frames began (performance.now()), -1 between runs. */
  private sliceStart = -1;
  /** Bus messages accepted in the current turn. */
  private sliceCount = 0;

  constructor(private readonly deps: BusIngestDeps) {}

  /** One multipart bus message from `source` (its --connect endpoint, or the bound socket). */
  frames(frames: readonly Uint8Array[], source: string): void | Promise<void> {
    const held = this.deps.held();
    if (held !== null) return held.then(() => this.frames(frames, source));
    this.startSlice();
    try {
      const gap = this.deps.intake.fromBus(frames, source);
      if (gap && this.deps.config.datagrepper) this.queueGap(gap);
    } catch (err) {
      this.lost(err, source);
    }
    // The bus waits (libzmq queues) while the journal is far behind, instead of memory growing.
    const behind = this.deps.intake.backpressure();
    if (behind || !this.sliceSpent()) return behind;
    return nextTurn();
  }

  /** A batch from the bus thread: like frames(), for messages already decoded and encoded there. */
  prepared(messages: readonly ThreadMessage[], from = 0): void | Promise<void> {
    const held = this.deps.held();
    if (held !== null) return held.then(() => this.prepared(messages, from));
    // The clocks are read once for the messages taken in one go (this call, up to the slice's end):
    // the service's clock for the bound and gap windows, and the monotonic one, read anyway for the
    // slice, as each message's accepted-at (the end of the one before it: microseconds early).
    const now = this.deps.intake.nowSeconds();
    let at = performance.now();
    for (let i = from; i < messages.length; i++) {
      const message = messages[i] as ThreadMessage;
      this.startSlice(at);
      try {
        const gap = this.deps.intake.fromThread(message, now, at);
        if (gap && this.deps.config.datagrepper) this.queueGap(gap);
      } catch (err) {
        this.lost(err, message.source);
      }
      if (i + 1 === messages.length) break;
      at = performance.now();
      // The rest of the batch waits for a later turn (see startSlice).
      if (this.sliceSpent(at)) return nextTurn().then(() => this.prepared(messages, i + 1));
    }
    const behind = this.deps.intake.backpressure();
    if (behind || !this.sliceSpent()) return behind;
    return nextTurn();
  }

  /** A message whose receive or apply path threw: skipped and counted, intake goes on. */
  failed(err: unknown, source: string, topic?: string): void {
    // The panic itself (a batch's backpressure wait refused with it): no message of its own, and
    // the fatal line told it.
    if (err instanceof DataFilePanicError) return;
    this.receiveErrors++;
    this.deps.logLimited('receive', (suppressed) =>
      this.deps.log.error({ source, topic, err: errorText(err), suppressed }, 'receive path failed; message skipped'),
    );
  }

  /**
   * A message the intake threw on (the journal refused its record): skipped as failed() does, and
   * lost to this instance, since nothing brings back a message it received, so /healthz and
   * /readyz say so for the rest of the run (lostProblem), as for AMQP deliveries left unjournaled.
   */
  lost(err: unknown, source: string, topic?: string): void {
    if (err instanceof DataFilePanicError) {
      this.droppedDataFileFailed++;
      return;
    }
    this.failed(err, source, topic);
    this.lostCount++;
    this.lastLost = { at: this.deps.intake.nowSeconds(), source, error: errorText(err).split('\n')[0] ?? '' };
  }

  /** The degraded reason for messages lost by lost(), or null. */
  lostProblem(): string | null {
    const last = this.lastLost;
    if (last === null) return null;
    const n = this.lostCount;
    return `${n} bus message${n === 1 ? '' : 's'} skipped this run because ${n === 1 ? 'its' : 'their'} receive path failed (never journaled nor applied: lost to this instance), the last at ${new Date(last.at * 1000).toISOString()} from ${last.source}: ${last.error}`;
  }

  /**
   * A burst of queued frames is received in one chain of microtasks, which HTTP never gets
   * between: after INGEST_SLICE_MS of it, or INGEST_TURN_MESSAGES accepted in one turn (they
   * are applied together when their journal batch commits, a stall of its own), the loop
   * waits for the check phase, so reads answer between slices instead of behind the whole
   * burst (the reads bench's p99).
   */
  private startSlice(now?: number): void {
    this.sliceCount++;
    if (this.sliceStart >= 0) return;
    this.sliceStart = now ?? performance.now();
    setImmediate(() => {
      this.sliceStart = -1;
      this.sliceCount = 0;
    });
  }

  private sliceSpent(now?: number): boolean {
    return this.sliceCount >= INGEST_TURN_MESSAGES || (now ?? performance.now()) - this.sliceStart >= INGEST_SLICE_MS;
  }

  /**
   * A seq_id jump is a real hole: its window is fetched as is. An `i` jump is only a hint (the
   * detector already ignores interleaved keys): its window is capped to the last
   * `backfillOverlap` seconds, as a key heard long ago would otherwise ask for days. Both only
   * join the coalesced, rate-limited gap backfill (`gapBackfillInterval`).
   */
  private queueGap(gap: GapSignal): void {
    const { config, log, logLimited } = this.deps;
    const { backfillOverlap } = config;
    // Publishers' clocks differ a little: a few seconds either side, not the whole overlap.
    const margin = Math.min(backfillOverlap, 5);
    const start = gap.basis === 'i' ? Math.max(gap.start, gap.end - backfillOverlap) : gap.start;
    logLimited(`gap:${gap.basis}`, (suppressed) =>
      log.warn(
        { ...gap, suppressed, nextBackfillWithin: config.gapBackfillInterval },
        gap.basis === 'seq_id'
          ? 'relay seq_id jumped: messages were lost; backfilling the window'
          : 'publisher i jumped (a hint only); window queued for the coalesced backfill',
      ),
    );
    this.deps.fillGap({ start: start - margin, end: gap.end + margin });
  }
}
