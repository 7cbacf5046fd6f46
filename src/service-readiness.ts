import { slowApplyProblem } from '../actors/apply-timing.js';
import type { Intake } from './intake.js';
import { diskWaitProblem, keyBudgetProblem, persistenceProblem, type ReadinessView } from './readiness.js';
import type { ServiceParts } from './service-parts.js';
import { viewFailingProblem } from './view-failing-problem.js';

/** What /readyz and /healthz judge (readiness.ts), read from every part of the service. */
export function readinessOf(s: ServiceParts): ReadinessView {
  const { state } = s;
  return {
    phase: state.phase,
    fatal: state.fatal,
    readyTimeout: s.config.readyTimeout,
    progress: s.recovery.progress?.describe() ?? null,
    startupFillPending: s.startupFill.pending !== null,
    gapFilling: s.recovery.filling,
    endpoints: state.subscription?.endpoints() ?? [],
    amqp: s.amqp.readiness(),
    persistence: persistenceProblem(s.journal.backlog.status(), s.snapshots.failure),
    quarantined: s.host.runtimes.filter((r) => r.lifecycleState === 'quarantined').map((r) => r.ident),
    pluginErrors: s.pluginErrorWatch.problem(
      s.clock.now() / 1000,
      s.host.runtimes.map((r) => ({ ident: r.ident, received: r.received, errors: r.updateErrors })),
    ),
    viewsFailing: viewFailingProblem(s.host.runtimes),
    keyBudget: keyBudgetProblem(s.host.keyBudget, s.host.atKeyBudget()),
    clockSkew: s.skewWatch.problem(
      s.clock.now() / 1000,
      {
        passed: s.intake.counters.accepted + s.intake.counters.duplicates,
        future: s.intake.counters.decodeErrors.future_timestamp,
      },
      s.config.maxClockSkew,
    ),
    heap: s.heapWatch.problem(),
    intakeLag: s.lagWatch.problem(s.clock.now() / 1000, lagCounts(s.intake)),
    slowPlugins: slowApplyProblem(s.host.timing.recentSlow()),
    hungSkipped: s.hungReport.problem(),
    hangWatch: state.hangWatchFailed,
    stopWatch: s.stopWatch?.problem() ?? null,
    amqpThread: s.amqp.thread?.problem() ?? null,
    diskWait: diskWaitProblem(s.store.writesWaiting(), s.config.diskHangTimeout),
    amqpUnjournaled: s.amqp.unjournaledProblem(),
    busLost: s.busIngest.lostProblem(),
    logOutput: s.logOutput?.problem() ?? null,
  };
}

/** Live messages taken in so far (backfilled ones are not live) and the newest message's time. */
export function lagCounts(intake: Intake): { live: number; newest: number } {
  return { live: intake.counters.accepted - intake.counters.backfilled, newest: intake.newestTakenIn };
}
