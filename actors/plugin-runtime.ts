import { BEACON } from './apply-beacon.js';
import type { TimedContainer } from './containers.js';
import { isThenable, refusePromise } from './hook-result.js';
import type { PluginMessage, UpdateContext } from './plugin-api.js';
import type { RegisteredPlugin } from './registry.js';
import type { Row } from './row-store.js';
import { RuntimeFailures } from './runtime-failures.js';
import type { PluginErrorHandler, RuntimeOptions } from './runtime-options.js';
import { contextFor, type RuntimeUpdateContext } from './update-context.js';
import type { ErasedView, ErasedViewIsRows } from './runtime-views.js';

export type { DropReason, PluginCounters, PluginStats } from './plugin-counters.js';
export {
  DEFAULT_MAX_KEYS,
  DEFAULT_QUARANTINE_AFTER,
  DEFAULT_QUARANTINE_SECONDS,
  type PluginErrorHandler,
  type RuntimeOptions,
} from './runtime-options.js';
export type { LoadedEntries, LoadedState } from './runtime-snapshots.js';
export { MAX_ROWS_DECLARED } from './runtime-views.js';

/** send()'s positions: its message is the first of its batch of one. */
const FIRST: readonly number[] = [0];

/** 0, 1, … count − 1: the positions of apply()'s messages, grown as needed and shared (never written past its growth). */
const IN_ORDER: number[] = [];
function inOrder(count: number): readonly number[] {
  for (let i = IN_ORDER.length; i < count; i++) IN_ORDER.push(i);
  return IN_ORDER;
}

/** The one place the plugin's generics are erased: the runtime calls its functions on erased containers. */
type ErasedUpdate = (m: PluginMessage, c: UpdateContext<Row, never>) => void;

/**
 * The only owner of one plugin's state: applies messages (rolling back a failing update,
 * counting, enforcing retention and caps), answers view queries, hands out change-log
 * readers, dumps and loads snapshots, and reports stats. Its lifecycle is an XState machine
 * (lifecycle.ts); messages do not go through the actor, so applying one allocates nothing.
 * Built in layers (runtime-state.ts); this one is the per-message path: apply and expiry, with
 * the key cap (runtime-key-cap.ts) and a failing update's undo and quarantine (runtime-failures.ts).
 */
export class PluginRuntime extends RuntimeFailures {
  private readonly updateContext: RuntimeUpdateContext;
  private readonly update: ErasedUpdate;
  /** send()'s batch of one, emptied after it, so no applied message is kept alive. */
  private readonly one: (PluginMessage | undefined)[] = [undefined];

  constructor(plugin: RegisteredPlugin, onError: PluginErrorHandler, options: RuntimeOptions = {}) {
    super(
      plugin,
      options,
      plugin.definition.view as ErasedView | undefined,
      plugin.definition.viewIsRows as ErasedViewIsRows | undefined,
      onError,
    );
    this.update = plugin.definition.update as ErasedUpdate;
    // One context object reused for every message: only `bucket` changes.
    this.updateContext = contextFor(this.state.rows, this.facing as Record<string, unknown>, plugin.intervalSeconds);
  }

  // ── apply ──────────────────────────────────────────────────────────────────────

  /** Applies one message (kept under its old name: the host and tests call it). */
  send(message: PluginMessage): void {
    const one = this.one;
    one[0] = message;
    try {
      this.applyAt(one as readonly PluginMessage[], FIRST, 1);
    } finally {
      one[0] = undefined;
    }
  }

  /**
   * Applies the first `count` of `messages` in order (the host reuses its arrays: plugin-host.ts).
   * With a beacon, each message's journal seq (`seqs`, parallel to `messages`) is put in it first,
   * so a watch thread can tell which message this plugin is stuck on (apply-beacon.ts).
   */
  apply(
    messages: readonly PluginMessage[],
    count = messages.length,
    seqs?: readonly number[],
    beacon?: Float64Array,
  ): void {
    this.applyAt(messages, inOrder(count), count, seqs, beacon);
  }

  /**
   * apply() of the messages at the first `count` of `positions` in `batch`, in that order, their
   * journal seqs at the same positions of `seqs` (the host's one batch for every plugin: plugin-host.ts).
   *
   * The per-message path, one loop for the batch: what stays the same for every message (the
   * plugin's interval and retention, its containers, counters and update context) is read once
   * here, not once per message in a method called for each (~500 instructions a plugin-message
   * of loads and their map checks, redone after every call of the plugin's update). What a
   * message may change (the lifecycle, the key cap, the row store's newest timestamp) is read
   * per message as before; the rare outcomes (quarantine, an update that threw, a store over the
   * key cap) are methods of their own.
   */
  applyAt(
    batch: readonly PluginMessage[],
    positions: readonly number[],
    count: number,
    seqs?: readonly number[],
    beacon?: Float64Array,
  ): void {
    const state = this.state;
    const { counters, rows } = state;
    const lifecycle = this.lifecycle;
    const interval = this.plugin.intervalSeconds;
    const retention = this.plugin.retentionSeconds;
    const ctx = this.updateContext;
    const update = this.update;
    const hasStores = this.storeList.length > 0;
    const hasTimed = this.timed.length > 0;
    const hasWindowed = this.windowed.length > 0;
    const marked = beacon !== undefined && seqs !== undefined;
    // A module constant read once: in the loop each read checked that the binding was initialized.
    const seqSlot = BEACON.seq;
    for (let i = 0; i < count; i++) {
      const at = positions[i] as number;
      if (marked) beacon[seqSlot] = seqs[at] as number;
      const message = batch[at] as PluginMessage;
      counters.received++;
      if (lifecycle.current === 'quarantined' && !this.release(message)) {
        counters.dropped.quarantined++;
        continue;
      }
      const timestamp = message.timestamp;
      // bucketEnd(timestamp, interval) spelled out: V8 did not inline the call (the loop spends
      // its inlining budget on the calls below), and the call was ~50 instructions of each
      // bucketed plugin-message against the formula's ~8 (test/actors/update-context checks both agree).
      const bucket = interval === null ? timestamp : (Math.floor(timestamp / interval) + 1) * interval;
      // Read only when there is a retention; with no rows the newest is NaN and the test false.
      if (retention !== null && bucket < rows.newestOrNaN - retention) {
        counters.dropped.expired++;
        continue;
      }
      ctx.bucket = bucket;
      // Expiry first, committed on its own (outside the undo scope): a message dropped below takes
      // back only its own writes. Undone with it, the expiry ran again on every later message, and
      // a counter at the key cap kept the entries that should have made room (O(state) per message).
      if (hasTimed) counters.expired += this.advanceTimed(message.timestamp);
      rows.beginMessage();
      if (hasStores) this.beginStores();
      try {
        const result: unknown = update(message, ctx as never);
        // Its writes after the first await would land outside the message's undo scope. Most
        // updates return nothing: that one compare, not isThenable()'s type and member checks.
        if (result !== undefined && isThenable(result))
          refusePromise(
            result,
            'update returned a promise: plugin updates must be synchronous; message skipped for this plugin',
          );
      } catch (err) {
        this.updateFailed(state, message, err);
        continue;
      }
      this.failures = 0;
      // The checks below called only when they can find something: most plugins keep rows alone.
      if (hasStores && this.storeOverCap()) {
        this.rollbackAll(state);
        counters.dropped.key_cap++;
        continue;
      }
      // The undo slots are cleared once after the batch (releaseUndo below), not per message.
      rows.endMessageInBatch();
      if (hasStores) this.endStores();
      counters.applied++;
      // The message's own number, read again after the update: the local above may be held unboxed,
      // and storing it would box a new HeapNumber for every plugin-message.
      if (counters.lastMessageAt === null || message.timestamp > counters.lastMessageAt)
        counters.lastMessageAt = message.timestamp;
      if (retention !== null) counters.evicted += rows.evictOlderThan(retention);
      if (hasWindowed || rows.size > this.cap) this.evictToCap();
    }
    // Not in a finally: a batch cut short by a throw leaves old values alive only until the next
    // batch's release or a rollback's endMessage() clears them.
    rows.releaseUndo();
  }

  /** A message this plugin hung on in an earlier run, skipped: received, and dropped as `hung`. */
  skipHung(): void {
    this.state.counters.received++;
    this.state.counters.dropped.hung++;
  }

  /**
   * Expiry runs before the message's update and outside its undo scope: the deletes stay done
   * (recorded in the change log, so snapshots and live views see them) even when the message is
   * then dropped, and a late message still sees the window as of the newest message time.
   */
  private advanceTimed(messageTime: number): number {
    const now = Math.max(this.clock, messageTime);
    this.clock = now;
    let expired = 0;
    for (let i = 0; i < this.timed.length; i++) expired += (this.timed[i] as TimedContainer).advance(now, messageTime);
    return expired;
  }
}
