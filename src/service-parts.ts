import type { PluginHost } from '../actors/plugin-host.js';
import { builtinPlugins } from '../plugins/index.js';
import type { Journal } from '../snapshots/journal.js';
import type { DataStore } from '../snapshots/lmdb-store.js';
import type { NotLoadedMark } from '../snapshots/not-loaded.js';
import type { PrereadSlot, RestoreReport } from '../snapshots/restore.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';
import type { AmqpClient } from './amqp-inputs-deps.js';
import { AmqpInputs } from './amqp-inputs.js';
import { BusIngest } from './bus-ingest.js';
import { appliedThrough, type CatchUpPlan, planCatchUp } from './catch-up.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { assembleCore } from './core.js';
import { coreEventLog } from './core-event-log.js';
import { frameLimits } from './decode-frames.js';
import { HeapWatch, warnIfBudgetPastHeap } from './heap-check.js';
import type { WsHub } from './http/ws-hub.js';
import { type ViewFailureLog, viewFailureLog } from './http/view-failure-log.js';
import { createHub } from './http/ws-wiring.js';
import { HungReport } from './hung-report.js';
import type { Intake } from './intake.js';
import { LagWatch } from './lag-watch.js';
import { PluginErrorWatch } from './plugin-error-watch.js';
import { throttled, type Logger, type LogOutputStatus } from './logger.js';
import type { MetaDeriver } from './message.js';
import { MissedFills } from './missed-fills.js';
import { Recovery } from './recovery.js';
import type { ServiceOptions } from './service-options.js';
import type { ServiceState } from './service-state.js';
import { amqpInputThreadOptions, amqpPrepareThreadOptions, replayThreadOptions } from './service-thread-options.js';
import { SkewWatch } from './skew-watch.js';
import { SnapshotCycle } from './snapshot-cycle.js';
import { StartupBackfill } from './startup-backfill.js';

/** Entries hashed per event-loop turn when the digests deferred through restore and replay settle: a few ms. */
const DIGEST_SETTLE_STEP = 10_000;

/** Every part of the service, built once from the config (buildParts) and shared by its sequences. */
export interface ServiceParts {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly store: DataStore;
  readonly state: ServiceState;
  readonly logLimited: ReturnType<typeof throttled>;
  /** The log of plugin views failing (view-failure-log.ts), shared by the HTTP routes and the hub. */
  readonly viewFailed: ViewFailureLog;
  readonly digestSettleStep: number;
  /** ServiceOptions.onFatal: told once if intake can no longer work. */
  readonly onFatal: ((err: Error) => void) | undefined;
  /** ServiceOptions.logOutput: the logger's drops, for /readyz. */
  readonly logOutput: LogOutputStatus | undefined;
  /** ServiceOptions.stopWatch: its failure, for /readyz. */
  readonly stopWatch: { problem(): string | null } | undefined;
  readonly host: PluginHost;
  readonly restored: RestoreReport;
  readonly journal: Journal;
  readonly intake: Intake;
  readonly readMeta: MetaDeriver;
  /** Rows restored with timestamps ahead of the clock (written before the clock bound existed) and dropped. */
  readonly futureRowsDropped: Readonly<Record<string, number>>;
  /** Restored entries past a retention or key cap lowered since they were written, evicted at start. */
  readonly boundsEvicted: Readonly<Record<string, number>>;
  readonly snapshots: SnapshotCycle;
  /** Plugins behind the restored generation, caught up from the journal at start (catch-up.ts); null: none. */
  readonly catchUpPlan: CatchUpPlan | null;
  readonly holdBehind: (ident: string, mark: NotLoadedMark | null) => void;
  /** Per plugin loaded again, journal records its catch-up found trimmed (statscache_plugin_catch_up_missing_records). */
  readonly catchUpMissing: Map<string, number>;
  /** Messages plugins hung on in earlier runs, skipped for them now (--plugin-hang-timeout). */
  readonly hungReport: HungReport;
  readonly recovery: Recovery;
  readonly busIngest: BusIngest;
  readonly missed: MissedFills;
  /** The `--amqp` inputs (fedora-messaging), empty when none are configured. */
  readonly amqp: AmqpInputs;
  readonly hub: WsHub;
  /** The start-up backfill from datagrepper; `pending` while it runs past the ready bound (in the background). */
  readonly startupFill: StartupBackfill;
  readonly skewWatch: SkewWatch;
  readonly lagWatch: LagWatch;
  readonly pluginErrorWatch: PluginErrorWatch;
  readonly heapWatch: HeapWatch;
}

export interface PartsSource {
  readonly config: Config;
  readonly log: Logger;
  readonly store: DataStore;
  readonly options: ServiceOptions;
  readonly preread: PrereadSlot | null;
  readonly amqpClient: AmqpClient | null;
  readonly state: ServiceState;
  /** The service's own snapshot(), taken when the core asks for one. */
  readonly snapshot: () => Promise<SnapshotReport>;
}

/**
 * Builds the parts from the config, in this order: the core (plugins validated, the newest
 * good snapshot restored, the journal opened), then what reads and feeds it. Nothing is
 * opened to the network here: that is start()'s.
 */
export function buildParts(source: PartsSource): ServiceParts {
  const { config, log, store, options, preread, amqpClient, state, snapshot } = source;
  const catchUpMissing = new Map<string, number>();
  const skewWatch = new SkewWatch();
  const lagWatch = new LagWatch();
  const pluginErrorWatch = new PluginErrorWatch();
  const heapWatch = new HeapWatch();
  const startupFill = new StartupBackfill();
  const clock = options.clock ?? systemClock;
  const logLimited = throttled(() => clock.now());
  const digestSettleStep = options.digestSettleStep ?? DIGEST_SETTLE_STEP;
  const core = assembleCore({
    config,
    store,
    plugins: options.plugins ?? builtinPlugins(),
    now: () => clock.now(),
    deriveMeta: options.deriveMeta,
    snapshotChunk: options.snapshotChunk,
    events: coreEventLog({
      log,
      logLimited,
      held: () => journal.backlog.held,
      snapshotNow: () => {
        if (state.phase !== 'stopping' && state.phase !== 'stopped') void snapshot().catch(() => undefined);
      },
    }),
    preread,
  });
  const host = core.host;
  warnIfBudgetPastHeap(config.maxKeysTotal, log, config.maxFanout);
  const restored = core.restored;
  const journal = core.journal;
  const hungReport = new HungReport(host, config.dataDir, journal.firstRetained, log, (ident) =>
    appliedThrough(restored, ident),
  );
  const intake = core.intake;
  const snapshots = new SnapshotCycle({
    config,
    log,
    clock,
    store,
    journal,
    intake,
    snapshotter: core.snapshotter,
    running: () => state.phase === 'running',
    trimPacing: options.trimPacing,
    retirePacing: options.retirePacing,
  });
  const catchUpPlan = planCatchUp(core.restored, core.host.idents);
  const holdBehind = (ident: string, mark: NotLoadedMark | null) => core.snapshotter.hold(ident, mark);
  // From now on: a stop before the catch-up is done snapshots them with where they stop.
  for (const b of catchUpPlan?.behind ?? []) holdBehind(b.ident, b.mark ?? { journalSeq: 0, newestTimestamp: 0 });
  const nowSeconds = () => clock.now() / 1000;
  const recovery = new Recovery({
    intake,
    journal,
    log,
    datagrepper: config.datagrepper,
    nowSeconds,
    limits: frameLimits(config, nowSeconds),
    signal: state.abort.signal,
    sleep: options.sleep,
    clock,
    gapIntervalMs: config.gapBackfillInterval * 1000,
    requestTimeoutMs: config.backfillRequestTimeout * 1000,
    rowsPerPage: config.backfillRowsPerPage,
    historyLagMs: config.historyLag * 1000,
    replayThread: replayThreadOptions(config, options),
    onAcceptError: (err, topic) => busIngest.lost(err, 'backfill', topic),
  });
  const busIngest = new BusIngest({
    config,
    log,
    logLimited,
    intake,
    held: () => (state.phase === 'running' || state.phase === 'stopping' ? null : state.liveGate.promise),
    fillGap: (window) => recovery.fillGap(window),
  });
  const missed = new MissedFills({
    config,
    log,
    clock,
    intake,
    recovery,
    phase: () => state.phase,
    startupWindowEnd: () => startupFill.windowEnd,
  });
  const amqp = new AmqpInputs({
    config,
    client: amqpClient,
    intake,
    limits: frameLimits(config, nowSeconds),
    log,
    logLimited,
    held: () => (state.phase === 'running' || state.phase === 'stopping' ? undefined : state.liveGate.promise),
    onResumed: ({ input, downSince }) => missed.amqpResumed(input, downSince),
    onFirstQueue: ({ input }) => missed.amqpFirstQueue(input),
    now: () => clock.now(),
    inputThread: amqpInputThreadOptions(config, clock, options),
    thread: amqpPrepareThreadOptions(config, clock, options),
  });
  // One for HTTP, WebSocket and SSE: a plugin's failing view is one throttled line whichever met it.
  const viewFailed = viewFailureLog(
    (fields, msg) => log.warn(fields, msg),
    () => clock.now() / 1000,
  );
  const hub = createHub(host, config, clock, log, (topic, text) => state.server?.publish(topic, text), viewFailed);
  return {
    config,
    log,
    clock,
    store,
    state,
    logLimited,
    viewFailed,
    digestSettleStep,
    onFatal: options.onFatal,
    logOutput: options.logOutput,
    stopWatch: options.stopWatch,
    host,
    restored,
    journal,
    intake,
    readMeta: core.readMeta,
    futureRowsDropped: core.futureRowsDropped,
    boundsEvicted: core.boundsEvicted,
    snapshots,
    catchUpPlan,
    holdBehind,
    catchUpMissing,
    hungReport,
    recovery,
    busIngest,
    missed,
    amqp,
    hub,
    startupFill,
    skewWatch,
    lagWatch,
    pluginErrorWatch,
    heapWatch,
  };
}
