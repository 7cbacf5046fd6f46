import { performance } from 'node:perf_hooks';
import type { ApplyBeacon } from './apply-beacon.js';
import { ApplyTiming, type Stopwatch } from './apply-timing.js';
import { type HungTargets, skips } from './hung-skips.js';
import { CHECK_EVERY, KeyBudget, type KeyBudgetRecord, type KeyBudgetState } from './key-budget.js';
import type { PluginMessage } from './plugin-api.js';
import { HostRuntimes } from './host-runtimes.js';
import type { PluginErrorHandler, PluginRuntime, RuntimeOptions } from './plugin-runtime.js';
import type { RegisteredPlugin } from './registry.js';

export interface HostOptions extends RuntimeOptions {
  /** Keys every plugin container may hold together (--max-keys-total; key-budget.ts). Default: no bound. */
  readonly maxKeysTotal?: number;
  /** The monotonic clock apply times are read from (apply-timing.ts). Default: performance.now. */
  readonly stopwatch?: Stopwatch;
  /** Messages between two key-budget checks (default CHECK_EVERY; tests make it small). */
  readonly keyBudgetCheckEvery?: number;
}

/**
 * Every plugin's actor (host-runtimes.ts), fed in batches: queue() routes each message to its
 * plugins, applyQueued() applies them plugin by plugin, with the key budget checked at fixed
 * points of the message sequence and recorded hangs skipped.
 */
export class PluginHost extends HostRuntimes {
  /**
   * The messages queue() has taken since the last applyQueued(), in order, each once: the first
   * batchLength of batch, with their journal seqs beside (for the beacon; 0 when not given).
   * Each plugin's are the positions in `positions[i]` (its first queuedCount[i]): a number per
   * plugin a message goes to, where an array of messages per plugin stored the message itself,
   * with a write barrier, and cleared every slot again after the batch. The arrays keep their
   * capacity between batches (setting length 0 freed the backing store, and every batch grew it
   * again push by push: 45 MiB of the 2.3 GiB a 20 k-message ingest-and-replay bench allocated).
   */
  private readonly batch: (PluginMessage | undefined)[] = [];
  private readonly batchSeqs: number[] = [];
  private batchLength = 0;
  private readonly positions: number[][];
  private readonly queuedCount: number[];
  /** Shared with the hang watch (src/hang-watch.ts), once watchHangs() is called. */
  private beacon: ApplyBeacon | null = null;
  /** Messages plugins hung on in earlier runs, by journal seq (hung-skips.ts); null when none. */
  private hung: ReadonlyMap<number, HungTargets> | null = null;
  /** Told of each (plugin, seq) skipped for a recorded hang. */
  private onHungSkip: ((ident: string, seq: number, message: PluginMessage) => void) | null = null;
  private readonly budget: KeyBudget | null;
  /** Reused by checkKeyBudget(): no allocation per batch. */
  private readonly sizes: number[] = [];
  private readonly checkEvery: number;
  /** Messages queue() has taken since the last key-budget check: the next falls at checkEvery. */
  private sinceCheck = 0;
  /**
   * The budget's checks are where a replica that never restarted has them (its state came back
   * from the snapshot restored, or nothing was restored): live() need not check.
   */
  private budgetRestored = false;
  /** A runtime's throw while applying at a key-budget check inside queue(), rethrown by applyQueued(). */
  private failure: { error: unknown } | null = null;
  /** How long each plugin's batches hold the event loop. */
  readonly timing: ApplyTiming;

  constructor(plugins: readonly RegisteredPlugin[], onError: PluginErrorHandler, options: HostOptions = {}) {
    super(plugins, onError, options);
    this.positions = this.runtimes.map(() => []);
    this.queuedCount = this.runtimes.map(() => 0);
    this.budget = options.maxKeysTotal === undefined ? null : new KeyBudget(options.maxKeysTotal);
    this.checkEvery = Math.max(1, options.keyBudgetCheckEvery ?? CHECK_EVERY);
    this.timing = new ApplyTiming(
      this.runtimes.map((r) => r.ident),
      // perf_hooks' object, not the global: globalThis.performance is a lazy getter, looked up
      // through a LoadGlobalIC and hasOwnProperty on every call, twice per plugin per batch.
      options.stopwatch ?? (() => performance.now()),
    );
  }

  /**
   * From now on, every plugin batch and message applied, and every call of a custom view, is
   * marked in `beacon`, which a watch thread reads to find a plugin stuck on one message or in
   * one view (apply-beacon.ts).
   */
  watchHangs(beacon: ApplyBeacon): void {
    this.beacon = beacon;
    this.runtimes.forEach((r, i) => r.watchViews(beacon, i));
  }

  /**
   * Messages plugins hung on in earlier runs (hung-skips.ts): when queue() is given one of these
   * seqs, the plugins named skip it (counted as dropped, `hung`) and `onSkip` is told.
   */
  skipRecordedHangs(
    table: ReadonlyMap<number, HungTargets>,
    onSkip: (ident: string, seq: number, message: PluginMessage) => void,
  ): void {
    this.hung = table.size > 0 ? table : null;
    this.onHungSkip = onSkip;
  }

  /**
   * dispatch(), deferred to applyQueued(), which applies a batch plugin by plugin, each in
   * message order. Plugins share no state, so each ends where dispatch() would leave it; one
   * plugin's updates back to back keep its state and code in cache (1.2–1.3× less CPU per
   * message over the built-ins than message by message). `seq`: the message's journal seq.
   */
  queue(message: PluginMessage, targets: readonly number[], seq = 0): void {
    const hung = this.hung === null ? undefined : this.hung.get(seq);
    const at = this.batchLength;
    this.batch[at] = message;
    this.batchSeqs[at] = seq;
    this.batchLength = at + 1;
    for (let k = 0; k < targets.length; k++) {
      const i = targets[k] as number;
      const positions = this.positions[i];
      if (positions === undefined) continue;
      if (hung !== undefined && this.skipsHung(i, hung, seq, message)) continue;
      const n = this.queuedCount[i] as number;
      positions[n] = at;
      this.queuedCount[i] = n + 1;
    }
    // The budget is checked at a point of the message sequence, not where a batch ends: what
    // is queued is applied first, as if the batch ended here.
    if (this.budget !== null && ++this.sinceCheck >= this.checkEvery) {
      this.applyAll();
      this.checkKeyBudget();
    }
  }

  /**
   * Applies what queue() holds. Every plugin gets its messages even if one runtime throws (a bug:
   * plugins' own errors are caught per message); the first such error is rethrown after.
   */
  applyQueued(): void {
    this.applyAll();
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw failure.error;
  }

  private skipsHung(i: number, hung: HungTargets, seq: number, message: PluginMessage): boolean {
    const runtime = this.runtimes[i] as PluginRuntime;
    if (!skips(hung, runtime.ident)) return false;
    runtime.skipHung();
    this.onHungSkip?.(runtime.ident, seq, message);
    return true;
  }

  private applyAll(): void {
    let failure = this.failure;
    const beacon = this.beacon;
    const batch = this.batch as readonly PluginMessage[];
    for (let i = 0; i < this.runtimes.length; i++) {
      const count = this.queuedCount[i] as number;
      if (count === 0) continue;
      const positions = this.positions[i] as number[];
      const start = this.timing.now();
      try {
        if (beacon === null) (this.runtimes[i] as PluginRuntime).applyAt(batch, positions, count);
        else {
          beacon.begin(i);
          (this.runtimes[i] as PluginRuntime).applyAt(batch, positions, count, this.batchSeqs, beacon.slots);
        }
      } catch (error) {
        failure ??= { error };
      } finally {
        beacon?.end();
        this.timing.record(i, start, count);
        this.queuedCount[i] = 0;
      }
    }
    // Cleared, not shortened: applied messages are not kept alive, and the capacity stays. A
    // loop, not fill(): that is a C++ builtin, ~900 instructions a call (callgrind).
    const n = this.batchLength;
    for (let k = 0; k < n; k++) this.batch[k] = undefined;
    this.batchLength = 0;
    this.failure = failure;
  }

  /**
   * Measures every container against --max-keys-total and holds them all to the fair share
   * while it is full (key-budget.ts). Runs every checkEvery messages queue() takes, and once
   * restore and replay are done unless the snapshot restored kept the budget's state for this
   * limit (a budget set or lowered since the state was written). Returns the entries evicted.
   */
  checkKeyBudget(): number {
    if (this.budget === null) return 0;
    this.sinceCheck = 0;
    const sizes = this.sizes;
    sizes.length = 0;
    for (const r of this.runtimes) r.containerSizes(sizes);
    const cap = this.budget.check(sizes);
    let evicted = 0;
    for (const r of this.runtimes)
      if (r.keyCap !== Math.min(r.maxKeys, cap) || r.largestContainer > cap) evicted += r.limitKeys(cap);
    if (evicted > 0) {
      let total = 0;
      for (const r of this.runtimes) total += r.keyCount;
      this.budget.cut(total);
    }
    return evicted;
  }

  /**
   * The key budget as of the last check, its total counted now (checks are CHECK_EVERY messages
   * apart), or null when --max-keys-total is not set.
   */
  get keyBudget(): KeyBudgetState | null {
    if (this.budget === null) return null;
    let total = 0;
    for (const r of this.runtimes) total += r.keyCount;
    return { ...this.budget.state, total };
  }

  /** The budget's state for a snapshot (SnapshotMeta.keyBudget), or null when there is no budget. */
  keyBudgetRecord(): KeyBudgetRecord | null {
    return this.budget?.record(this.sinceCheck) ?? null;
  }

  /**
   * Takes back the budget's state a restored snapshot kept, the containers held to its cap again
   * (they were, per write, when it was written: nothing is evicted), so the checks fall where
   * they would have without the restart. False when there is none for this limit: live() checks.
   */
  restoreKeyBudget(record: KeyBudgetRecord | null): boolean {
    if (this.budget === null || record === null || !this.budget.restore(record)) return false;
    this.sinceCheck = Math.min(record.sinceCheck, this.checkEvery - 1);
    const cap = this.budget.state.cap;
    for (const r of this.runtimes) if (r.keyCap !== Math.min(r.maxKeys, cap)) r.limitKeys(cap);
    this.budgetRestored = true;
    return true;
  }

  /** Plugins holding a container at the budget's cap: the ones giving way while it is full. */
  atKeyBudget(): string[] {
    const cap = this.budget?.state.cap ?? Number.POSITIVE_INFINITY;
    if (cap === Number.POSITIVE_INFINITY) return [];
    return this.runtimes.filter((r) => r.largestContainer >= cap).map((r) => r.ident);
  }

  /** No snapshot was restored: the journal is applied from its start, checked where any replica's is. */
  restoredNothing(): void {
    this.budgetRestored = true;
  }

  /** Lifecycle: restore and replay are done; messages now come live. */
  live(): void {
    for (const r of this.runtimes) r.live();
    // A restored state measured against a budget set or lowered since it was written.
    if (!this.budgetRestored) this.checkKeyBudget();
  }
}
