import type { SnapshotReport } from '../snapshots/snapshotter.js';
import type { ThreadedSubscription } from './bus-thread.js';
import type { IntakeCounters } from './intake.js';
import type { ServiceHttpDeps } from './service-http.js';
import type { ServiceOptions } from './service-options.js';
import type { ServiceParts } from './service-parts.js';
import { lagCounts, readinessOf } from './service-readiness.js';

/** What the HTTP side reads of the Service itself, beyond its parts. */
export interface HttpReadable {
  readonly counters: IntakeCounters;
  readonly lastSnapshot: SnapshotReport | null;
  /** Set when build() found the data file damaged and moved it to quarantine. */
  readonly quarantine: unknown;
  /** The admin snapshot, with its generation's stored size (Service.snapshotMeasured). */
  snapshotMeasured(): Promise<SnapshotReport>;
}

/**
 * The HTTP side's view of the running service (service-http.ts ServiceHttpDeps), wired from its
 * parts: each read when a request or scrape asks, none at build.
 */
export function serviceHttpDeps(parts: ServiceParts, options: ServiceOptions, service: HttpReadable): ServiceHttpDeps {
  const { config, log, store, state } = parts;
  return {
    config,
    log,
    host: parts.host,
    clock: parts.clock,
    hub: parts.hub,
    viewFailed: parts.viewFailed,
    journal: parts.journal,
    intake: parts.intake,
    meta: parts.readMeta,
    amqp: parts.amqp,
    busCounters: () => ({
      ...service.counters,
      ...parts.intake.gaps.counters,
      ...parts.recovery.counters,
      receiveErrors: parts.busIngest.receiveErrors,
      busDroppedDataFileFailed: parts.busIngest.droppedDataFileFailed,
      busThreadHangs: state.busThreadHangs,
      // Failed, hung or exited: large deliveries were decoded on the main thread until a fresh one was up (logged).
      amqpThreadFailures: (parts.amqp.thread?.failures ?? 0) + (parts.amqp.inputThread?.failures ?? 0),
    }),
    server: () => state.server,
    // Only a threaded subscription has one (bus-thread.ts).
    busThreadFlow: () => (state.subscription as Partial<ThreadedSubscription> | null)?.flow?.() ?? null,
    endpoints: () => state.subscription?.endpoints() ?? [],
    readiness: () => readinessOf(parts),
    intakeLagSeconds: () => parts.lagWatch.lag(parts.clock.now() / 1000, lagCounts(parts.intake)),
    lastSnapshot: () => service.lastSnapshot,
    snapshotFailures: () => parts.snapshots.failures,
    writesWaiting: () => store.writesWaiting(),
    quarantinedNow: () => service.quarantine !== null,
    phase: () => state.phase,
    fatal: () => state.fatal,
    snapshot: () => service.snapshotMeasured(),
    catchUpMissing: () => parts.catchUpMissing,
    ...(options.logOutput ? { logOutput: options.logOutput } : {}),
    stopping: state.abort.signal,
    historySlices: options.historySlices,
    trackScan: (scan) => state.walks.follow(scan),
  };
}
