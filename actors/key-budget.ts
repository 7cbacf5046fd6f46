/** Keys one container may hold by default (rows, and each extra store). Here, not in plugin-runtime.ts, so the settings do not load XState. */
export const DEFAULT_MAX_KEYS = 1_000_000;

/**
 * The service-wide key budget (--max-keys-total). Each plugin container is capped on its own
 * (--plugin-max-keys), but 27 built-in plugins with one to four containers each could together
 * hold tens of millions of keys: past the heap limit, a crash, and the same state restored into
 * the same crash. A flood of new names (one message naming 256 users reaches a dozen per-user
 * containers) fills them all at once, so the total needs a bound of its own.
 *
 * As Redis's `maxmemory`, it is checked every so often, not per write: every CHECK_EVERY
 * messages of the sequence the plugins are given (PluginHost.queue), wherever the batches they
 * are applied in begin and end, so replicas fed the same messages cut at the same points and
 * hold the same state (checked after each applied batch, a live replica, which applies a batch
 * per journal commit, and one replaying 1024 at a time cut at different messages with different
 * caps: 7 of 27 digests differed). Once the total
 * passes the budget, every container is capped at the max-min fair share of it (water-filling),
 * so the largest give way first and small ones may still grow to that share. The cap stays
 * until the total falls below LIFT_AT of the budget, and below LIFT_AT of what the last cut
 * left, so a full budget does not flap. The second bound is there because a cut can overshoot:
 * a windowed counter gives way by whole slices, so one whose oldest slice is most of it drops
 * far below the cap (top-users' day window: 3000 keys in two hourly slices cut to the newest
 * 300 under a cap of ~1000). The total then fell below LIFT_AT of the budget by the cut alone,
 * and the next check, with no message in between, lifted the cap it had just set.
 */

/**
 * Keys all plugins may hold together by default: at the ~130–460 B each that
 * test/plugins/memory.test.ts measures, 1–3.7 GB, inside the ~4 GB heap Node gives a 64-bit
 * process by default.
 */
export const DEFAULT_MAX_KEYS_TOTAL = 8_000_000;

/** Below this share of the budget the cap is lifted. */
export const LIFT_AT = 0.9;

/**
 * Messages between two checks. The bound this gives (test/actors/key-budget-overshoot.test.ts):
 * the total passes the budget only between two checks, for fewer than CHECK_EVERY messages, by
 * at most what those messages add (each container is still held to its own cap per write), and
 * each check brings it back under (rows and windowed counters give way; a plain store past the
 * cap stops growing but keeps what it holds). One meetbot message naming 256 new users adds
 * ~1,800 keys over the built-ins, so a flood of them passes the default budget by up to ~460k
 * keys (5.8%, ~210 MB at BYTES_PER_KEY_WORST) until the next check.
 *
 * Not exact, by choice. A shared total checked at each write cannot be: the host applies a batch
 * plugin by plugin, so which write met the budget would depend on where batches end, and
 * replicas fed the same messages would hold different state (the reason checks fall at fixed
 * messages). Caps set at each check so that they sum to the budget would be exact, and would
 * cut containers while the budget is far from full. A check at every message still passes it
 * by one message's keys, and cost 31.9 → 41.7 µs of CPU per message over the built-ins (batches
 * of 512 of the fixture messages, keyBudgetCheckEvery 256 vs 1, median of 4 alternated runs).
 */
export const CHECK_EVERY = 256;

/**
 * Keys one message may add at most over the built-ins, at the default --max-fanout (256 names):
 * a meetbot message naming 256 new users adds ~1,800 (test/actors/key-budget-overshoot.test.ts
 * holds it at or under this). With CHECK_EVERY, what the start-up heap warning leaves room for
 * (heap-check.ts).
 */
export const KEYS_PER_MESSAGE_WORST = 2_000;

/**
 * The budget's state as a snapshot keeps it (SnapshotMeta.keyBudget), so a restart restores the
 * cap, when it lifts and where the next check falls, as a replica that did not restart has them.
 */
export interface KeyBudgetRecord {
  readonly limit: number;
  /** null: no cap. */
  readonly cap: number | null;
  readonly total: number;
  readonly liftBelow: number;
  /** Messages given to the plugins since the last check. */
  readonly sinceCheck: number;
}

/** A KeyBudgetRecord read from disk, or null when `value` is not one (a snapshot from before it was kept). */
export function keyBudgetRecordOf(value: unknown): KeyBudgetRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const { limit, cap, total, liftBelow, sinceCheck } = value as Record<string, unknown>;
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!count(limit) || !count(total) || !count(sinceCheck)) return null;
  if (cap !== null && !(count(cap) && cap >= 1)) return null;
  if (typeof liftBelow !== 'number' || !Number.isFinite(liftBelow) || liftBelow < 0) return null;
  return { limit, cap, total, liftBelow, sinceCheck };
}

/**
 * The largest L with Σ min(size, L) ≤ limit: containers under it keep everything, larger ones
 * are cut to it. Infinity when the sizes fit the limit already.
 */
export function fairShare(sizes: readonly number[], limit: number): number {
  let total = 0;
  for (let i = 0; i < sizes.length; i++) total += sizes[i] as number;
  if (total <= limit) return Number.POSITIVE_INFINITY;
  const sorted = [...sizes].sort((a, b) => a - b);
  let remaining = limit;
  for (let i = 0; i < sorted.length; i++) {
    const size = sorted[i] as number;
    const share = Math.floor(remaining / (sorted.length - i));
    if (size > share) return Math.max(1, share);
    remaining -= size;
  }
  return Number.POSITIVE_INFINITY;
}

/** Where the budget stands after a check. */
export interface KeyBudgetState {
  readonly limit: number;
  /** Keys every plugin container holds together (PluginHost.keyBudget: counted when read). */
  readonly total: number;
  /** The cap every container is held to while the budget is full; Infinity otherwise. */
  readonly cap: number;
}

/**
 * Decides the cap from the containers' sizes (the host measures them and applies the cap): a
 * new, lower cap once the total passes the limit; none once it falls below LIFT_AT of it.
 */
export class KeyBudget {
  private current: KeyBudgetState;
  /** The total below which the cap is lifted: LIFT_AT of the budget, or of what the last cut left. */
  private liftBelow: number;

  constructor(readonly limit: number) {
    this.current = { limit, total: 0, cap: Number.POSITIVE_INFINITY };
    this.liftBelow = LIFT_AT * limit;
  }

  get state(): KeyBudgetState {
    return this.current;
  }

  /** Records the sizes; returns the cap to hold every container to (Infinity: none). */
  check(sizes: readonly number[]): number {
    let total = 0;
    for (let i = 0; i < sizes.length; i++) total += sizes[i] as number;
    let cap = this.current.cap;
    if (total > this.limit) cap = Math.min(cap, fairShare(sizes, this.limit));
    else if (total < this.liftBelow) {
      cap = Number.POSITIVE_INFINITY;
      this.liftBelow = LIFT_AT * this.limit;
    }
    this.current = { limit: this.limit, total, cap };
    return cap;
  }

  /** Records the total once the host has cut the containers to the cap check() returned. */
  cut(total: number): void {
    this.current = { ...this.current, total };
    this.liftBelow = LIFT_AT * Math.min(this.limit, total);
  }

  /** The state to keep in a snapshot; `sinceCheck` is the host's count. */
  record(sinceCheck: number): KeyBudgetRecord {
    const { cap, total } = this.current;
    return {
      limit: this.limit,
      cap: cap === Number.POSITIVE_INFINITY ? null : cap,
      total,
      liftBelow: this.liftBelow,
      sinceCheck,
    };
  }

  /** Takes the state a snapshot kept back; false (nothing changed) when it was kept for another limit. */
  restore(record: KeyBudgetRecord): boolean {
    if (record.limit !== this.limit) return false;
    this.current = { limit: this.limit, total: record.total, cap: record.cap ?? Number.POSITIVE_INFINITY };
    this.liftBelow = record.liftBelow;
    return true;
  }
}
