import type { AmqpReadiness } from './amqp-input-report.js';
import type { BacklogStatus } from '../snapshots/journal-backlog.js';
import type { EndpointStatus } from './bus.js';

/** What /readyz is computed from; the service fills it in at each request. */
export interface ReadinessView {
  readonly phase: 'built' | 'replaying' | 'backfilling' | 'running' | 'stopping' | 'stopped';
  /**
   * Why intake is dead (a bus receive loop ended, the AMQP input thread gone for good), or null. The CLI stops at once, but a Service
   * whose owner does not (or a stop that takes its time) answered /readyz 200 meanwhile.
   */
  readonly fatal: string | null;
  readonly readyTimeout: number;
  /** The running step's progress line, when one reports progress. */
  readonly progress: string | null;
  /** The start-up backfill outlived `readyTimeout` and goes on in the background. */
  readonly startupFillPending: boolean;
  /** A gap backfill is queued or running. */
  readonly gapFilling: boolean;
  readonly endpoints: readonly EndpointStatus[];
  /** AMQP inputs; one that is not consuming degrades, it does not unready (as a down --connect endpoint). */
  readonly amqp: readonly AmqpReadiness[];
  /** Why accepted messages are not all on disk (failed journal commits or snapshots), or null. */
  readonly persistence: string | null;
  /** Plugins quarantined after repeated update errors: their views stand still meanwhile. */
  readonly quarantined: readonly string[];
  /** Why the key budget (--max-keys-total) holds plugins below --plugin-max-keys, or null. */
  readonly keyBudget: string | null;
  /** Most recent messages refused as dated ahead of the clock (skew-watch.ts), or null. */
  readonly clockSkew: string | null;
  /** Live heap past HEAP_DEGRADED_SHARE of its limit (heap-check.ts), or null. */
  readonly heap: string | null;
  /** Live messages keep coming but the newest is dated long ago (lag-watch.ts), or null. */
  readonly intakeLag: string | null;
  /** Plugins whose batch held the event loop a second or more lately (apply-timing.ts), or null. */
  readonly slowPlugins: string | null;
  /** Messages skipped this run because a plugin hung on them in an earlier one (hung-report.ts), or null. */
  readonly hungSkipped: string | null;
  /** Why the plugin hang watch thread (hang-watch.ts) no longer watches, or null. */
  readonly hangWatch: string | null;
  /** Why the stop watch thread (stop-watch.ts) no longer watches, or null. */
  readonly stopWatch: string | null;
  /** Why the AMQP prepare thread (amqp-prepare-thread.ts) is gone and until when large deliveries are decoded here, or null. */
  readonly amqpThread?: string | null;
  /** A journal commit or snapshot write waiting on the disk past --disk-hang-timeout (diskWaitProblem), or null. */
  readonly diskWait: string | null;
  /** AMQP deliveries acked this run that the journal could not store (AmqpInputs.unjournaledProblem), or null. */
  readonly amqpUnjournaled: string | null;
  /** Plugins throwing on most of their messages lately (plugin-error-watch.ts), or null. */
  readonly pluginErrors?: string | null;
  /** Plugins whose view is failing now (view-failing-problem.ts; rule in actors/view-failing.ts), or null. */
  readonly viewsFailing?: string | null;
  /** Bus messages the intake threw on this run, never journaled nor applied (BusIngest.lostProblem), or null. */
  readonly busLost?: string | null;
  /** Log lines being dropped because stdout does not take them (log-output.ts), or null. */
  readonly logOutput: string | null;
}

/** Why the service is not ready, or null. Only start-up holds readiness, the history part of it for at most `readyTimeout`, and intake that died (for good: the owner stops). */
export function notReadyReason(v: ReadinessView): string | null {
  if (v.fatal !== null) return `intake stopped: ${v.fatal}`;
  // Every message waits on that write before it is applied: what this replica serves stands still.
  if (v.diskWait !== null && (v.phase === 'running' || v.phase === 'backfilling')) return v.diskWait;
  switch (v.phase) {
    case 'running':
      return null;
    case 'built':
      return 'starting';
    case 'replaying':
      return v.progress ?? v.phase;
    case 'backfilling':
      return `${v.progress ?? v.phase} (ready, degraded, after at most ${v.readyTimeout} s if the history does not answer)`;
    default:
      return 'shutting down';
  }
}

/**
 * Why a ready instance is not fully trustworthy, or null: a start-up backfill still running
 * past `readyTimeout`, a gap being filled, a `--connect` endpoint that is not connected, data
 * that a restart would lose because the disk refuses writes, a plugin in quarantine.
 */
export function degradedReason(v: ReadinessView): string | null {
  // Lines dropped are the process's, not intake's: lost from the first line logged, and told
  // from then on. The rest describe the running service.
  if (v.phase !== 'running') return v.logOutput;
  const reasons: string[] = [];
  const progress = v.progress ? `: ${v.progress}` : '';
  if (v.startupFillPending)
    reasons.push(`history slow or down: start-up backfill still running after ${v.readyTimeout} s${progress}`);
  else if (v.gapFilling) reasons.push(`backfilling a gap from datagrepper${progress}`);
  const down = v.endpoints.filter((e) => e.state !== 'connected' && e.state !== 'connecting');
  if (down.length > 0)
    reasons.push(
      `bus endpoint${down.length > 1 ? 's' : ''} not connected: ${down.map((e) => `${e.endpoint} (${e.state})`).join(', ')}`,
    );
  const idle = v.amqp.filter((a) => a.state !== 'consuming');
  if (idle.length > 0)
    reasons.push(
      `AMQP input${idle.length > 1 ? 's' : ''} not consuming: ${idle.map((a) => `${a.input} (${a.state}${a.reason ? `: ${a.reason}` : ''})`).join(', ')}`,
    );
  if (v.persistence !== null) reasons.push(v.persistence);
  if (v.quarantined.length > 0)
    reasons.push(
      `plugin${v.quarantined.length > 1 ? 's' : ''} quarantined after repeated update errors (their messages are dropped): ${v.quarantined.join(', ')}`,
    );
  if (v.pluginErrors) reasons.push(v.pluginErrors);
  if (v.viewsFailing) reasons.push(v.viewsFailing);
  if (v.keyBudget !== null) reasons.push(v.keyBudget);
  if (v.clockSkew !== null) reasons.push(v.clockSkew);
  if (v.heap !== null) reasons.push(v.heap);
  if (v.intakeLag !== null) reasons.push(v.intakeLag);
  if (v.slowPlugins !== null) reasons.push(v.slowPlugins);
  if (v.hungSkipped !== null) reasons.push(v.hungSkipped);
  if (v.hangWatch !== null) reasons.push(v.hangWatch);
  if (v.stopWatch !== null) reasons.push(v.stopWatch);
  // Nothing is lost (its deliveries are decoded here instead), but each large one now holds
  // every read, push and probe on this thread, as before the thread: say so, as for the watches.
  if (v.amqpThread) reasons.push(v.amqpThread);
  if (v.diskWait !== null) reasons.push(v.diskWait);
  if (v.amqpUnjournaled !== null) reasons.push(v.amqpUnjournaled);
  if (v.busLost) reasons.push(v.busLost);
  if (v.logOutput !== null) reasons.push(v.logOutput);
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/** The key budget's part of the degraded reason: how full it is, the cap, who gives way. */
export function keyBudgetProblem(
  budget: { readonly limit: number; readonly total: number; readonly cap: number } | null,
  atCap: readonly string[],
): string | null {
  if (budget === null || budget.cap === Number.POSITIVE_INFINITY) return null;
  return (
    `key budget full: ${budget.total} keys held of --max-keys-total ${budget.limit}; every plugin container is held to ${budget.cap} keys ` +
    `(oldest rows and windowed slices give way, other stores drop messages that add keys) until the total falls below 90% of it` +
    (atCap.length > 0 ? `; at that cap: ${atCap.join(', ')}` : '')
  );
}

/**
 * Fields /readyz adds to its answer: the degraded reason (when ready, and before or after running,
 * where only log lines dropped degrade), every --connect endpoint's and AMQP input's state.
 */
export function readyDetails(v: ReadinessView, ready: boolean): Record<string, unknown> {
  const degraded = ready || v.phase !== 'running' ? degradedReason(v) : null;
  return {
    ...(degraded !== null ? { degraded } : {}),
    ...(v.amqp.length > 0 ? { amqp: v.amqp } : {}),
    ...(v.endpoints.length > 0
      ? {
          endpoints: v.endpoints.map((e) => ({
            endpoint: e.endpoint,
            state: e.state,
            lastError: e.lastError,
            since: new Date(e.since).toISOString(),
            retries: e.retries,
          })),
        }
      : {}),
  };
}

/** Since when snapshots fail (ms since the epoch), and the last failure's cause. */
export interface SnapshotFailure {
  readonly since: number;
  readonly error: string;
}

/** What the disk refused, in /readyz's words, or null when every accepted message is on disk or held by nothing. */
export function persistenceProblem(backlog: BacklogStatus | null, snapshots: SnapshotFailure | null): string | null {
  const reasons: string[] = [];
  if (backlog !== null && backlog.held > 0)
    reasons.push(
      `journal writes failing${backlog.failingSince === null ? '' : ` since ${new Date(backlog.failingSince).toISOString()}`}: ${backlog.lastError ?? 'unknown error'}; ${backlog.held} accepted messages held in memory for another try (a restart now would lose them)`,
    );
  if (backlog !== null && backlog.dropped > 0)
    reasons.push(
      `${backlog.dropped} accepted messages not journaled (too many to hold): on disk once a snapshot succeeds`,
    );
  if (snapshots !== null)
    reasons.push(`snapshots failing since ${new Date(snapshots.since).toISOString()}: ${snapshots.error}`);
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * A write the disk has not finished past `boundSeconds`, in /readyz's words, or null (also with
 * a bound of 0: never). Ages in ms, as DataStore.writesWaiting() gives them.
 */
export function diskWaitProblem(
  waiting: { readonly journal: number | null; readonly snapshot: number | null },
  boundSeconds: number,
): string | null {
  if (boundSeconds <= 0) return null;
  const reasons: string[] = [];
  const past = (ms: number | null): ms is number => ms !== null && ms >= boundSeconds * 1000;
  if (past(waiting.journal))
    reasons.push(
      `journal commit pending for ${Math.floor(waiting.journal / 1000)} s (--disk-hang-timeout ${boundSeconds}): the disk has not finished a write, and every message waits on it`,
    );
  if (past(waiting.snapshot))
    reasons.push(
      `snapshot write pending for ${Math.floor(waiting.snapshot / 1000)} s (--disk-hang-timeout ${boundSeconds}): the disk has not finished it`,
    );
  return reasons.length > 0 ? reasons.join('; ') : null;
}
