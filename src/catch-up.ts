import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Journal } from '../snapshots/journal.js';
import type { NotLoadedMark } from '../snapshots/not-loaded.js';
import type { RestoreReport } from '../snapshots/restore.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';
import { Progress } from './progress.js';

/**
 * A plugin whose restored state stops short of the generation's journal position: loaded again
 * after runs without it (its record's mark), or new to the data dir (no record: it stops
 * before seq 1). Every other plugin holds the records up to that position already.
 */
export interface BehindPlugin {
  readonly ident: string;
  /** Its index in the host's runtimes (the router's targets). */
  readonly index: number;
  /** The last seq its state holds (0: none). */
  readonly after: number;
  /** The mark restored with it, or null when it is new to the data dir. */
  readonly mark: NotLoadedMark | null;
}

export interface CatchUpPlan {
  /** The restored generation's journal position: what every other plugin holds. */
  readonly through: number;
  readonly behind: readonly BehindPlugin[];
  /** Marks that name another data dir's journal (an import): nothing here can catch those up. */
  readonly foreign: Readonly<Record<string, NotLoadedMark>>;
}

/** What the catch-up gave one plugin, and what the journal no longer held for it. */
export interface CatchUpOutcome {
  readonly ident: string;
  /** The records it was given: those after `after` up to `through` the journal still holds. */
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Records read in that range whose topic the plugin takes (applied to it). */
  readonly applied: number;
  /**
   * The date of the oldest record it was given (epoch seconds), or null when none: what it holds
   * from, for a plugin new to the data dir (older messages, in the restored state of the others
   * or trimmed before, are not in it: after an import or --bootstrap the journal starts at the
   * export's tail).
   */
  readonly fromTime: number | null;
  /** Seqs it lacks that retention trimmed from the journal, or null when none. */
  readonly missing: { readonly fromSeq: number; readonly toSeq: number } | null;
}

/** Who is behind the restored generation, from what restore reported; null when nobody is. */
export function planCatchUp(restored: RestoreReport, idents: readonly string[]): CatchUpPlan | null {
  const meta = restored.meta;
  if (meta === null) return null;
  const through = meta.journalSeq;
  const behind: BehindPlugin[] = [];
  const foreign: Record<string, NotLoadedMark> = {};
  const added = new Set(restored.added ?? []);
  idents.forEach((ident, index) => {
    const mark = restored.resumed?.[ident];
    if (mark?.foreign) foreign[ident] = mark;
    else if (mark !== undefined && mark.journalSeq < through)
      behind.push({ ident, index, after: mark.journalSeq, mark });
    else if (added.has(ident) && through > 0) behind.push({ ident, index, after: 0, mark: null });
  });
  return behind.length === 0 && Object.keys(foreign).length === 0 ? null : { through, behind, foreign };
}

/**
 * The journal seq through which the restored generation holds `ident`'s state: every message up
 * to it applied (0: no generation, a plugin new to it, or a mark of another data dir's journal).
 */
export function appliedThrough(restored: RestoreReport, ident: string): number {
  const meta = restored.meta;
  if (meta === null || restored.restored[ident] === undefined) return 0;
  const mark = restored.resumed?.[ident];
  if (mark === undefined) return meta.journalSeq;
  return mark.foreign ? 0 : Math.min(mark.journalSeq, meta.journalSeq);
}

export interface CatchUpDeps {
  readonly intake: Intake;
  readonly journal: Journal;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /**
   * Where each plugin behind stands, for the snapshots taken meanwhile: a stop before the
   * catch-up is done writes its record with that mark, so the next start goes on from there;
   * null once it is done.
   */
  readonly hold: (ident: string, mark: NotLoadedMark | null) => void;
  /** Longest the loop runs before it yields (ms; default 50; tests make it 0 to yield after every record). */
  readonly sliceMs?: number;
}

/**
 * Replays the journal records after each plugin's `after` up to `plan.through` into it alone,
 * in journal order, in slices of at most ~50 ms so HTTP keeps answering: the state it would
 * have had, had it been loaded all along, as far as the journal still reaches back. Runs
 * before the replay after the generation, so each plugin then takes the rest in order like the
 * others. Returns what each was given; empty when stopped part-way.
 */
export async function catchUp(
  deps: CatchUpDeps,
  plan: CatchUpPlan,
  onProgress: (progress: Progress | null) => void,
): Promise<CatchUpOutcome[]> {
  const { intake, journal, log, signal } = deps;
  const first = journal.firstRetained;
  const behind = plan.behind;
  if (behind.length === 0) return [];
  /** Per runtime index, the last seq it holds (+Infinity: not behind). */
  const holds: number[] = [];
  for (const b of behind) holds[b.index] = b.after;
  const isBehind = (seq: number) => (i: number) => (holds[i] ?? Number.POSITIVE_INFINITY) < seq;
  const applied = new Map<number, number>(behind.map((b) => [b.index, 0]));
  const start = Math.min(...behind.map((b) => b.after));
  for (const b of behind) deps.hold(b.ident, b.mark ?? { journalSeq: 0, newestTimestamp: 0 });
  const progress = new Progress('catching up plugins from the journal', plan.through - start, log);
  onProgress(progress);
  let reached = start;
  /**
   * Called with everything read so far applied: a snapshot taken from here on (the final one of
   * a stop, while this waits for its next turn; POST /admin/snapshot) writes each plugin behind
   * with the seq it holds, so a later start neither skips nor repeats a record.
   */
  const holdReached = () => {
    for (const b of behind)
      if (b.after < reached) deps.hold(b.ident, { journalSeq: reached, newestTimestamp: b.mark?.newestTimestamp ?? 0 });
  };
  const sliceMs = deps.sliceMs ?? 50;
  let sliceStart = performance.now();
  try {
    for (const entry of journal.after(start, { remember: false, shape: intake.shapeBounds })) {
      if (entry.seq > plan.through || signal.aborted) break;
      const targets = intake.catchUp(entry, isBehind(entry.seq));
      for (const i of targets) applied.set(i, (applied.get(i) ?? 0) + 1);
      reached = entry.seq;
      const now = performance.now();
      progress.tick(1, now);
      if (now - sliceStart > sliceMs) {
        intake.applyQueued();
        holdReached();
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  } finally {
    intake.applyQueued();
    holdReached();
    onProgress(null);
  }
  // Stopped part-way: the next start goes on after `reached`.
  if (signal.aborted) return [];
  progress.finish();
  for (const b of behind) deps.hold(b.ident, null);
  return behind.map((b) => {
    const available = first === 0 ? plan.through + 1 : Math.max(first, b.after + 1);
    const oldest = available <= plan.through ? journal.get(available) : null;
    return {
      ident: b.ident,
      fromTime: oldest?.envelope.timestamp ?? null,
      fromSeq: Math.min(available, plan.through + 1),
      toSeq: plan.through,
      applied: applied.get(b.index) ?? 0,
      missing: available > b.after + 1 ? { fromSeq: b.after + 1, toSeq: Math.min(available - 1, plan.through) } : null,
    };
  });
}

/**
 * Epoch seconds as ISO text, or as the number given when no Date holds it: a mark comes from
 * the record as written, an imported export's included (whose checksum its writer computes), and
 * one dated 1e300 or NaN threw RangeError here on every start, after the service listened.
 */
const isoSeconds = (s: number): string =>
  Number.isFinite(s) && Math.abs(s * 1000) <= 8.64e15 ? new Date(s * 1000).toISOString() : String(s);

/** The catch-up in the log: one line per plugin, a warning for what the journal no longer held. */
export function logCatchUp(log: Logger, plan: CatchUpPlan, outcomes: readonly CatchUpOutcome[]): void {
  for (const [ident, mark] of Object.entries(plan.foreign))
    log.warn(
      { plugin: ident, stateThrough: isoSeconds(mark.newestTimestamp) },
      'plugin loaded again after runs without it: its state came with an imported snapshot from another data dir, whose journal this one does not hold; it is restored as it was then, without the messages taken in while it was not loaded',
    );
  const byIdent = new Map(plan.behind.map((b) => [b.ident, b]));
  for (const o of outcomes) {
    const b = byIdent.get(o.ident);
    const resumed = b?.mark != null;
    const fields = {
      plugin: o.ident,
      ...(resumed ? { notLoadedAfterSeq: b?.mark?.journalSeq } : {}),
      records: o.toSeq >= o.fromSeq ? o.toSeq - o.fromSeq + 1 : 0,
      fromSeq: o.fromSeq,
      toSeq: o.toSeq,
      applied: o.applied,
      ...(o.fromTime === null ? {} : { from: isoSeconds(o.fromTime) }),
    };
    if (o.missing === null)
      log.info(
        fields,
        resumed
          ? 'plugin loaded again after runs without it: caught up from the journal with the messages taken in while it was not loaded'
          : 'plugin new to this data dir: built from the journal',
      );
    else if (resumed)
      log.warn(
        {
          ...fields,
          missingFromSeq: o.missing.fromSeq,
          missingToSeq: o.missing.toSeq,
          stateThrough: isoSeconds(b?.mark?.newestTimestamp ?? 0),
        },
        'plugin loaded again after runs without it: the journal no longer holds every message taken in meanwhile (retention trimmed them); caught up with those it holds, the rest are missing from its state',
      );
    // A new plugin cannot expect more than the journal holds: said, not warned.
    else
      log.info(
        { ...fields, missingFromSeq: o.missing.fromSeq, missingToSeq: o.missing.toSeq },
        'plugin new to this data dir: built from the journal, which no longer holds the oldest messages (retention trimmed them)',
      );
  }
}
