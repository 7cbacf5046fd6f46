import type { PluginHost } from '../actors/plugin-host.js';
import { builtinPlugins } from '../plugins/index.js';
import { slowApplyProblem } from '../actors/apply-timing.js';
import { watchHangs } from './hang-watch.js';
import { HungReport } from './hung-report.js';
import { HeapWatch, warnIfBudgetPastHeap } from './heap-check.js';
import { SkewWatch } from './skew-watch.js';
import { LagWatch } from './lag-watch.js';
import type { Journal } from '../snapshots/journal.js';
import { lockDataDir, unwritableDataDir, type DataDirLock } from '../snapshots/data-dir-lock.js';
import { DataStore } from '../snapshots/lmdb-store.js';
import { generationSizePaced } from '../snapshots/generation-size.js';
import { checkAndRead } from '../snapshots/check-and-read.js';
import { quarantineAndSalvage, removeOldSalvages, type SalvageReport } from '../snapshots/store-check.js';
import { removePidFile, writePidFile } from '../snapshots/pid-file.js';
import type { PrereadSlot, RestoreReport } from '../snapshots/restore.js';
import type { SnapshotReport, SnapshotterOptions } from '../snapshots/snapshotter.js';
import { SnapshotCycle } from './snapshot-cycle.js';
import { type AmqpClient, AmqpInputs, loadAmqpClient } from './amqp-inputs.js';
import {
  BIND_SOURCE,
  type BusHooks,
  type BusOptions,
  HARD_FRAME_FACTOR,
  subscribe,
  type BusSubscription,
  type EndpointState,
  type EndpointStatus,
} from './bus.js';
import { threadLimits } from './bus-prepare.js';
import { configBudget } from './bus-budget.js';
import { BusThreadHungError, subscribeThreaded } from './bus-thread.js';
import { nextTurn, systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { frameLimits } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import { BusIngest } from './bus-ingest.js';
import type { HttpHandler } from './http/api-routes.js';
import type { AdminHandler } from './http/admin-routes.js';
import type { ScanGate } from './http/scan-gate.js';
import type { HttpRequest, HttpResponse } from './http/responses.js';
import { listen, type RunningServer } from './http/uws-server.js';
import type { WsHub } from './http/ws-hub.js';
import { createHub, liveServerParts } from './http/ws-wiring.js';
import { errorText, throttled, type Logger } from './logger.js';
import type { Intake, IntakeCounters } from './intake.js';
import type { MetaDeriver } from './message.js';
import type { ServiceMetrics } from './metrics.js';
import { diskWaitProblem, keyBudgetProblem, persistenceProblem, type ReadinessView } from './readiness.js';
import { type CatchUpPlan, logCatchUp, planCatchUp } from './catch-up.js';
import type { NotLoadedMark } from '../snapshots/not-loaded.js';
import { Recovery } from './recovery.js';
import { createServiceHttp } from './service-http.js';
import { logRestore } from './restore-log.js';
import { StartupBackfill } from './startup-backfill.js';
import { assembleCore } from './core.js';
import { coreEventLog } from './core-event-log.js';

export interface ServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Plugin definitions; default: the built-in ones. */
  readonly plugins?: readonly unknown[];
  /** Snapshot chunking (the bench compares chunked with one-turn snapshots); defaults in snapshotter.ts. */
  readonly snapshotChunk?: Pick<SnapshotterOptions, 'chunkMs' | 'chunkEntries'>;
  readonly deriveMeta?: MetaDeriver;
  /**
   * Check the LMDB file in a child process before mapping it (default true). Only in-process
   * tests that restart hundreds of times over files they damaged at the value level turn it off.
   */
  readonly checkDataFile?: boolean;
  /** Back-off sleep for backfill retries (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Main-thread µs per replayed entry from which the replay thread takes over (startup-replay.ts; tests pin it). */
  readonly replayThreadWorthUs?: number;
  /** Entries left after the probe from which the replay thread takes over (startup-replay.ts; tests lower it). */
  readonly replayThreadMinEntries?: number;
  /** Entries hashed per event-loop turn when recovery settles the deferred digests (tests make it small). */
  readonly digestSettleStep?: number;
  /**
   * Called once if intake can no longer work (a bus receive loop ended while running); the CLI
   * stops and exits non-zero so a supervisor restarts the process. /healthz fails from then on.
   */
  readonly onFatal?: (err: Error) => void;
}

export type { IntakeCounters } from './intake.js';

type Phase = ReadinessView['phase'];

/** A gate the bus loop waits on while the journal replays and the start-up backfill runs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Entries hashed per event-loop turn when the digests deferred through restore and replay settle: a few ms. */
const DIGEST_SETTLE_STEP = 10_000;

/**
 * The whole service. build() validates plugins and restores the newest good snapshot;
 * start() opens HTTP, subscribes to the bus (holding live messages back), replays the
 * journal, backfills from datagrepper, then lets live messages in; stop() drains and
 * snapshots. Every accepted message is journaled before plugins see it and de-duplicated by
 * id, so after any stop or crash the state is what it would be had each message been seen once.
 */
export class Service {
  readonly host: PluginHost;
  /** The API routes (synchronous: every read is from memory). */
  readonly http: HttpHandler;
  /** Every request, routed (service-http.ts). */
  private readonly route: (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;
  /** Filtered /raw scans running and waiting (tests and metrics read it). */
  readonly scanGate: ScanGate;
  /** `/admin/*` routes (POST /admin/snapshot); null for other paths. */
  readonly admin: AdminHandler;
  readonly metrics: ServiceMetrics;
  readonly hub: WsHub;
  readonly journal: Journal;
  readonly intake: Intake;
  readonly restored: RestoreReport;
  get counters(): IntakeCounters {
    return this.intake.counters;
  }
  get lastSnapshot(): SnapshotReport | null {
    return this.snapshots.last;
  }
  private readonly snapshots: SnapshotCycle;
  /** Plugins behind the restored generation, caught up from the journal at start (catch-up.ts); null: none. */
  private readonly catchUpPlan: CatchUpPlan | null;
  private readonly holdBehind: (ident: string, mark: NotLoadedMark | null) => void;
  /** Per plugin loaded again, journal records its catch-up found trimmed (statscache_plugin_catch_up_missing_records). */
  private readonly catchUpMissing = new Map<string, number>();
  /** Rows restored with timestamps ahead of the clock (written before the clock bound existed) and dropped. */
  readonly futureRowsDropped: Readonly<Record<string, number>>;
  /** Restored entries past a retention or key cap lowered since they were written, evicted at start. */
  readonly boundsEvicted: Readonly<Record<string, number>>;
  server: RunningServer | null = null;
  subscription: BusSubscription | null = null;
  /** The `--amqp` inputs (fedora-messaging), empty when none are configured. */
  readonly amqp: AmqpInputs;

  private phase: Phase = 'built';
  /** Set when build() found the data file damaged and moved it to quarantine. */
  quarantine: SalvageReport | null = null;
  /** The data dir lock, held from build() until stop() or close(). */
  private lock: DataDirLock | null = null;
  private readonly clock: Clock;
  private readonly readMeta: MetaDeriver;
  private readonly recovery: Recovery;
  private readonly timers: (() => void)[] = [];
  private readonly logLimited: ReturnType<typeof throttled>;
  private readonly liveGate = gate();
  private readonly skewWatch = new SkewWatch();
  private readonly lagWatch = new LagWatch();
  private readonly heapWatch = new HeapWatch();
  private readonly busIngest: BusIngest;
  private readonly abort = new AbortController();
  /**
   * What start() is opening now (the HTTP listener, the bus sockets): stop() waits for it, then
   * closes what it opened. A stop that did not wait found nothing to close yet, finished, and
   * the process exited with the bus thread's sockets half open: libzmq aborted the process
   * (SIGABRT, 3 of 40 starts stopped at random points).
   */
  private opening: Promise<unknown> = Promise.resolve();
  private readonly onFatal: ((err: Error) => void) | undefined;
  /** Why intake is dead (a receive loop ended while running); null while healthy. */
  private fatal: string | null = null;
  /** close() was called: bus batches still handed over are not taken in (the store is closing). */
  private released = false;
  /** Bus threads taken for stuck (--thread-hang-timeout): intake stopped. */
  private busThreadHangs = 0;
  /** The start-up backfill from datagrepper; `pending` while it runs past the ready bound (in the background). */
  private readonly startupFill = new StartupBackfill();
  /**
   * Inputs that lost messages before the service was running (a ZeroMQ endpoint that reconnected,
   * an AMQP input back on a new queue), by input: the earliest drop, and how to fill from it. The
   * start-up backfill cut its window when it started, so what was published past that window while
   * one was cut off reached neither; they are filled once running. Bounded by the configured inputs.
   */
  private readonly lostWhileStarting = new Map<string, { downSince: number; fill: (downSince: number) => void }>();
  /**
   * `--connect` endpoints not connected when the start-up backfill cut its window, with that time
   * (epoch ms): what one publishes before it connects is in neither the window nor the bus (a
   * publisher unreachable when the service started), so it is filled from then once it connects,
   * as a reconnect is. Unless it connects on the attempt that was under way at the cut without
   * ever failing: then only its TCP handshake was missed, as on every connection, and a fill
   * would take the gap backfill's turn (--gap-backfill-interval) on every start. Bounded by the
   * configured endpoints.
   */
  private readonly unconnectedAtCut = new Map<string, { readonly cut: number; failed: boolean }>();
  private readonly endpointLog: ReturnType<typeof throttled>;
  private readonly digestSettleStep: number;
  /** Messages plugins hung on in earlier runs, skipped for them now (--plugin-hang-timeout). */
  private readonly hungReport: HungReport;
  /** The thread that ends the process when a plugin hangs (hang-watch.ts); null when off or not started. */
  private hangWatch: { stop(): void } | null = null;
  /** Why the hang watch thread stopped watching before stop(), or null (the degraded reason). */
  private hangWatchFailed: string | null = null;

  private constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly store: DataStore,
    options: ServiceOptions,
    preread: PrereadSlot | null,
    amqpClient: AmqpClient | null,
  ) {
    this.clock = options.clock ?? systemClock;
    this.logLimited = throttled(() => this.clock.now());
    // An endpoint that keeps failing retries every second: one line a minute per endpoint is enough.
    this.endpointLog = throttled(() => this.clock.now(), 60_000, 1);
    this.onFatal = options.onFatal;
    this.digestSettleStep = options.digestSettleStep ?? DIGEST_SETTLE_STEP;
    const core = assembleCore({
      config,
      store,
      plugins: options.plugins ?? builtinPlugins(),
      now: () => this.clock.now(),
      deriveMeta: options.deriveMeta,
      snapshotChunk: options.snapshotChunk,
      events: coreEventLog({
        log,
        logLimited: this.logLimited,
        held: () => this.journal.backlog.held,
        snapshotNow: () => {
          if (this.phase !== 'stopping' && this.phase !== 'stopped') void this.snapshot().catch(() => undefined);
        },
      }),
      preread,
    });
    this.host = core.host;
    warnIfBudgetPastHeap(config.maxKeysTotal, log);
    this.restored = core.restored;
    this.journal = core.journal;
    this.hungReport = new HungReport(this.host, config.dataDir, this.journal.firstRetained, log);
    this.intake = core.intake;
    this.snapshots = new SnapshotCycle({
      config,
      log,
      clock: this.clock,
      store,
      journal: this.journal,
      intake: this.intake,
      snapshotter: core.snapshotter,
      running: () => this.phase === 'running',
    });
    this.catchUpPlan = planCatchUp(core.restored, core.host.idents);
    this.holdBehind = (ident, mark) => core.snapshotter.hold(ident, mark);
    // From now on: a stop before the catch-up is done snapshots them with where they stop.
    for (const b of this.catchUpPlan?.behind ?? [])
      this.holdBehind(b.ident, b.mark ?? { journalSeq: 0, newestTimestamp: 0 });
    this.readMeta = core.readMeta;
    this.futureRowsDropped = core.futureRowsDropped;
    this.boundsEvicted = core.boundsEvicted;
    const nowSeconds = () => this.clock.now() / 1000;
    this.recovery = new Recovery({
      intake: this.intake,
      journal: this.journal,
      log,
      datagrepper: config.datagrepper,
      nowSeconds,
      limits: frameLimits(config, nowSeconds),
      signal: this.abort.signal,
      sleep: options.sleep,
      clock: this.clock,
      gapIntervalMs: config.gapBackfillInterval * 1000,
      historyLagMs: config.historyLag * 1000,
      // A custom meta deriver is a function of this thread: the replay thread could not use it.
      replayThread:
        config.replayThread && !options.deriveMeta
          ? {
              dir: config.dataDir,
              maxFanout: config.maxFanout,
              worthUs: options.replayThreadWorthUs,
              minEntries: options.replayThreadMinEntries,
              hangTimeoutMs: config.threadHangTimeout * 1000,
            }
          : undefined,
      onAcceptError: (err, topic) => this.receiveFailed(err, 'backfill', topic),
    });
    this.busIngest = new BusIngest({
      config,
      log,
      logLimited: this.logLimited,
      intake: this.intake,
      held: () => (this.phase === 'running' || this.phase === 'stopping' ? null : this.liveGate.promise),
      fillGap: (window) => this.recovery.fillGap(window),
    });
    this.amqp = new AmqpInputs({
      config,
      client: amqpClient,
      intake: this.intake,
      limits: frameLimits(config, nowSeconds),
      log,
      logLimited: this.logLimited,
      held: () => (this.phase === 'running' || this.phase === 'stopping' ? undefined : this.liveGate.promise),
      onResumed: ({ input, downSince }) =>
        this.whenRunning(`amqp ${input}`, downSince, (since) => this.amqpQueueLost(input, since)),
      onFirstQueue: ({ input }) => {
        // Made before the start-up window was cut, the first queue missed nothing that window does not cover.
        const end = this.startupFill.windowEnd;
        if (end !== null && config.datagrepper)
          this.whenRunning(`amqp ${input}`, end * 1000, (since) => this.amqpFirstQueueLate(input, since));
      },
      now: () => this.clock.now(),
    });
    this.hub = createHub(this.host, config, this.clock, log, (topic, text) => this.server?.publish(topic, text));
    const web = createServiceHttp({
      config,
      log,
      host: this.host,
      clock: this.clock,
      hub: this.hub,
      journal: this.journal,
      intake: this.intake,
      meta: this.readMeta,
      amqp: this.amqp,
      busCounters: () => ({
        ...this.counters,
        ...this.intake.gaps.counters,
        ...this.recovery.counters,
        receiveErrors: this.busIngest.receiveErrors,
        busThreadHangs: this.busThreadHangs,
      }),
      server: () => this.server,
      endpoints: () => this.subscription?.endpoints() ?? [],
      readiness: () => this.readiness(),
      intakeLagSeconds: () => this.lagWatch.lag(this.clock.now() / 1000, this.lagCounts()),
      lastSnapshot: () => this.lastSnapshot,
      snapshotFailures: () => this.snapshots.failures,
      writesWaiting: () => this.store.writesWaiting(),
      quarantinedNow: () => this.quarantine !== null,
      phase: () => this.phase,
      fatal: () => this.fatal,
      snapshot: () => this.snapshotMeasured(),
      catchUpMissing: () => this.catchUpMissing,
    });
    this.http = web.api;
    this.admin = web.admin;
    this.metrics = web.metrics;
    this.scanGate = web.scanGate;
    this.route = web.handle;
  }

  /**
   * Locks the data dir (SC_DATA_DIR_LOCKED if another process holds it), checks the data file
   * in child processes that also read the newest snapshot ahead (check-and-read.ts; a damaged
   * file is quarantined and salvaged), validates plugins and restores the newest readable
   * snapshot; throws a coded StatscacheError when it must not go on.
   */
  static async build(options: ServiceOptions): Promise<Service> {
    const { dataDir } = options.config;
    const lock = lockDataDir(dataDir, 'serve');
    let store: DataStore | null = null;
    try {
      // Left by a salvage that was killed half-way (each a copy of the data); ours to remove under the lock.
      const leftovers = removeOldSalvages(dataDir);
      if (leftovers.length > 0)
        options.logger.warn({ removed: leftovers }, 'removed the work dirs of salvages that did not finish');
      const check =
        options.checkDataFile === false
          ? ({ ok: true, counts: {}, ms: 0, preread: null } as const)
          : await checkAndRead(dataDir, { write: true });
      let report: SalvageReport | null = null;
      if (check.ok) options.logger.debug({ ms: Math.round(check.ms), records: check.counts }, 'data file checked');
      else {
        report = quarantineAndSalvage(dataDir, check.problem, (options.clock ?? systemClock).now());
        options.logger.error(
          {
            file: report.file,
            problem: report.problem,
            quarantinedTo: report.quarantinedTo,
            salvagedSlots: report.slots,
            salvagedJournal: report.journal,
            lost: report.lost,
          },
          'data file damaged: moved to quarantine; starting from what could be salvaged (older generations, the journal, --datagrepper backfill)',
        );
      }
      try {
        store = new DataStore(dataDir);
      } catch (err) {
        throw unwritableDataDir(dataDir, err) ?? err;
      }
      if (store.repairedTimeKeys > 0)
        options.logger.warn(
          { repairedTimeKeys: store.repairedTimeKeys },
          'history time index repaired: messages dated -0 by an older statscache were indexed under a key no /raw window reached; re-keyed to time 0 (or dropped where their journal record is gone)',
        );
      const service = new Service(
        options.config,
        options.logger,
        store,
        options,
        check.ok ? check.preread : null,
        await loadAmqpClient(options.config),
      );
      service.lock = lock;
      service.quarantine = report;
      // Tells offline tools and operators which process holds this data dir.
      writePidFile(dataDir);
      return service;
    } catch (err) {
      const opened = store;
      if (opened) void opened.close().finally(() => lock.release());
      else lock.release();
      throw err;
    }
  }

  async start(): Promise<void> {
    const { config, log } = this;
    logRestore(this.log, this.restored, this.futureRowsDropped, this.boundsEvicted);
    // Before the replay: a plugin can hang on a journaled message as well as on a live one.
    this.hangWatch = watchHangs(this.host, config.dataDir, config.pluginHangTimeout, this.heapWatch.share, (err) => {
      this.hangWatchFailed = `plugin hang watch thread failed (${String((err as Error)?.message ?? err)}): a plugin that hangs now holds every read and probe until restart (--plugin-hang-timeout no longer applies)`;
      log.error({ err: errorText(err) }, 'the plugin hang watch thread failed: hangs go unnoticed until restart');
    });
    this.metrics.start();
    this.heapWatch.start();
    const live = liveServerParts(this.hub, config);
    this.server = await this.step(
      listen(
        { host: config.host, port: config.port, ...live.options },
        (req) => this.handle(req),
        live.ws,
        (err) => log.error({ err: errorText(err) }, 'request handler failed'),
        live.sse,
      ),
    );
    if (this.abort.signal.aborted) return;
    if (!this.server.native)
      log.warn('uWebSockets.js native binary did not load for this Node.js; using the slow JS fallback');
    // Subscribe first so nothing published from now on is missed; the gate holds it back.
    const budget = configBudget(config);
    if (budget) log.info({ busQueueMaxBytes: config.busQueueMaxBytes, ...budget }, 'bus queue bounded in bytes');
    const busOptions: BusOptions = {
      connect: config.connect,
      bind: config.bind,
      topics: config.topic,
      maxMessageBytes: config.maxFrameBytes * HARD_FRAME_FACTOR,
      queueMax: budget?.connectQueue ?? config.busQueueMax,
      ...(budget ? { bindQueueMax: budget.bindQueue } : {}),
      keepaliveSeconds: config.busKeepalive,
    };
    const busHooks: Omit<BusHooks, 'onFrames'> = {
      onReceiveError: (err, source) => this.receiveFailed(err, source),
      onLoopEnd: (err, source) => {
        if (err instanceof BusThreadHungError) this.busThreadHangs++;
        this.die(`bus receive loop for ${source} ended${err ? `: ${String((err as Error)?.message ?? err)}` : ''}`);
      },
      onReconnect: ({ address, downSince }) => {
        log.warn(
          { address, downSince: new Date(downSince).toISOString() },
          'bus endpoint reconnected; messages published meanwhile were missed',
        );
        this.whenRunning(`bus ${address}`, downSince, (since) => this.fillSince(since));
      },
      onEndpoint: (status: EndpointStatus, previous: EndpointState) => this.endpointChanged(status, previous),
      now: () => this.clock.now(),
    };
    this.subscription = await this.step(
      config.busThread
        ? subscribeThreaded(
            busOptions,
            {
              limits: threadLimits(config),
              lingerMs: config.busLinger,
              tickMs: config.wsTickMs,
              hangTimeoutMs: config.threadHangTimeout * 1000,
              ...(budget
                ? { maxInFlight: budget.inFlightMessages, maxInFlightBytes: budget.inFlightBytes, readThrough: true }
                : {}),
            },
            // close() keeps no state: what the bus thread hands over after it goes nowhere (stop() journals it).
            { ...busHooks, onBatch: (messages) => (this.released ? undefined : this.busIngest.prepared(messages)) },
          )
        : subscribe(busOptions, { ...busHooks, onFrames: (frames, source) => this.ingest(frames, source) }),
    );
    // Stopped meanwhile: stop() closes what was opened; nothing more is started.
    if (this.abort.signal.aborted) return;
    // Deliveries wait behind the same gate as ZeroMQ frames; unacked, the broker holds the rest.
    this.amqp.start();
    // On wall-clock multiples: the bus thread hands its batches over just before each (bus-linger.ts).
    this.timers.push(this.clock.aligned(config.wsTickMs, () => this.hub.tick()));
    log.info(
      {
        http: `http://${config.host}:${this.server.port}`,
        port: this.server.port,
        trustProxy: config.trustProxy,
        bound: this.subscription.bound,
        connected: this.subscription.connected,
        topics: config.topic,
        amqp: this.amqp
          .reports()
          .map((r) => ({ input: r.input, state: r.state, queue: config.amqpQueue, bindings: config.amqpBinding })),
        plugins: this.host.idents.length,
        dataDir: config.dataDir,
        datagrepper: config.datagrepper,
      },
      'statscache listening',
    );
    await this.recover();
    // Damage met during replay was logged by the replay itself.
    this.snapshots.damageSeen();
    if (this.abort.signal.aborted) return;
    this.timers.push(
      this.clock.every(config.snapshotInterval * 1000, () => void this.snapshot().catch(() => undefined)),
    );
    this.phase = 'running';
    this.liveGate.open();
    for (const { downSince, fill } of this.lostWhileStarting.values()) fill(downSince);
    this.lostWhileStarting.clear();
    // In the background: until it is built, de-duplication reads the id index for every new id.
    void this.journal.known.build();
    log.info({ journalSeq: this.journal.position }, 'ready: consuming the bus live');
  }

  /**
   * An AMQP input consumes its first queue (server-named) only after the start-up backfill cut its
   * window at `windowEnd` (epoch ms): a broker out of reach at start-up, or a connect slower than
   * the replay. What was published in between reached neither, and a first queue is no reconnect.
   */
  private amqpFirstQueueLate(input: string, windowEnd: number): void {
    this.log.warn(
      { input, windowEnd: new Date(windowEnd).toISOString() },
      'AMQP input consuming its first queue after the start-up backfill window ended; backfilling what was published meanwhile',
    );
    // The start-up backfill read up to there (and reads its tail again for what the history archives late).
    this.recovery.fillGap({ start: windowEnd / 1000, end: this.clock.now() / 1000 });
  }

  /** An AMQP input consumes a queue made anew since `downSince` (epoch ms): what was published meanwhile never reached it. */
  private amqpQueueLost(input: string, downSince: number): void {
    const { config, log } = this;
    if (!config.datagrepper) {
      // As a ZeroMQ reconnect says so: the loss is the operator's to know, even with nothing to fill it.
      log.warn(
        { input, downSince: new Date(downSince).toISOString() },
        'AMQP input reconnected on a new queue (server-named, or the durable one was deleted); messages published meanwhile were missed (no --datagrepper to backfill them)',
      );
      return;
    }
    log.warn(
      { input, downSince: new Date(downSince).toISOString() },
      'AMQP input reconnected on a new queue (server-named, or the durable one was deleted); backfilling what was published meanwhile',
    );
    this.fillSince(downSince);
  }

  /** Backfills everything since the newest message we have or the drop at `downSince` (epoch ms), minus the usual overlap. */
  private fillSince(downSince: number): void {
    const from = Math.min(this.intake.newestTimestamp || downSince / 1000, downSince / 1000);
    this.recovery.fillGap({ start: from - this.config.backfillOverlap, end: this.clock.now() / 1000 });
  }

  /**
   * Runs `fill` for an input that missed what was published since `downSince` now if running, or
   * once running if still starting (the earliest drop per input covers its later ones); not at all
   * when stopping.
   */
  private whenRunning(input: string, downSince: number, fill: (downSince: number) => void): void {
    if (this.phase === 'running') fill(downSince);
    else if (this.phase !== 'stopping' && this.phase !== 'stopped') {
      const earlier = this.lostWhileStarting.get(input)?.downSince ?? downSince;
      this.lostWhileStarting.set(input, { downSince: Math.min(earlier, downSince), fill });
    }
  }

  /** Every HTTP request (service-http.ts): admin, history and example routes, /metrics, the API. */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
    return this.route(req);
  }

  /**
   * Brings state up to date without the network edges: replays the journal after the
   * restored snapshot, then backfills from datagrepper what the journal lacks. A history
   * that is slow or down holds this for at most `readyTimeout` seconds: then it returns and
   * the backfill goes on in the background (/readyz: ready, with a `degraded` reason).
   */
  async recover(): Promise<void> {
    this.phase = 'replaying';
    this.host.replaying();
    const meta = this.restored.meta;
    // A generation an import wrote or left behind counts messages to its own mark without their
    // ids: a backfill must refuse those and only those (each import sets the data dir's mark
    // for the state it wrote).
    if (meta?.coveredThrough !== undefined) await this.store.markRestored(meta.coveredThrough);
    // First: the plugins behind take the records up to the generation the others hold, then
    // every plugin takes what follows in journal order.
    if (this.catchUpPlan !== null) {
      const plan = this.catchUpPlan;
      const outcomes = await this.recovery.catchUp(plan, this.holdBehind);
      if (this.abort.signal.aborted) return;
      logCatchUp(this.log, plan, outcomes);
      const loadedAgain = new Set(plan.behind.filter((b) => b.mark !== null).map((b) => b.ident));
      for (const o of outcomes)
        if (o.missing !== null && loadedAgain.has(o.ident))
          this.catchUpMissing.set(o.ident, o.missing.toSeq - o.missing.fromSeq + 1);
    }
    await this.recovery.replay(
      meta?.journalSeq ?? 0,
      meta !== null,
      meta?.replaySkip,
      meta?.coveredThrough !== undefined && meta.coveredAfter !== undefined
        ? { through: meta.coveredThrough, after: meta.coveredAfter }
        : undefined,
    );
    await this.host.settleDigests(this.digestSettleStep, nextTurn, this.abort.signal);
    this.host.live();
    if (this.config.datagrepper && !this.abort.signal.aborted) {
      this.phase = 'backfilling';
      const filled = this.startupFill.run({
        config: this.config,
        log: this.log,
        clock: this.clock,
        recovery: this.recovery,
        newestTimestamp: this.intake.newestTimestamp,
        signal: this.abort.signal,
      });
      // run() cut its window before its first await: the endpoints not connected at that moment.
      const cut = (this.startupFill.windowEnd ?? this.clock.now() / 1000) * 1000;
      for (const e of this.subscription?.endpoints() ?? [])
        if (e.state !== 'connected') this.unconnectedAtCut.set(e.endpoint, { cut, failed: e.state !== 'connecting' });
      await filled;
    }
  }

  /**
   * One multipart bus message from `source` (its --connect endpoint, or the bound socket):
   * held while starting, then decoded, de-duplicated, journaled and applied (bus-ingest.ts).
   */
  ingest(frames: readonly Uint8Array[], source: string = BIND_SOURCE): void | Promise<void> {
    return this.busIngest.frames(frames, source);
  }

  private receiveFailed(err: unknown, source: string, topic?: string): void {
    this.busIngest.failed(err, source, topic);
  }

  /** Intake can no longer work: /healthz fails and the owner (the CLI) is told to exit non-zero. */
  private die(reason: string): void {
    if (this.phase === 'stopping' || this.phase === 'stopped' || this.fatal !== null) return;
    this.fatal = reason;
    // Told before logging: the log itself may be what broke.
    this.onFatal?.(new Error(reason));
    this.log.error({ reason }, 'intake stopped; /healthz now fails');
  }

  private endpointChanged(status: EndpointStatus, previous: string): void {
    const unconnected = this.unconnectedAtCut.get(status.endpoint);
    if (status.state === 'connected') {
      if (previous !== 'connecting')
        this.log.info({ endpoint: status.endpoint, after: previous }, 'bus endpoint connected');
      this.unconnectedAtCut.delete(status.endpoint);
      if (unconnected?.failed) {
        this.log.warn(
          { endpoint: status.endpoint, since: new Date(unconnected.cut).toISOString() },
          'bus endpoint connected only after the start-up backfill read the history; backfilling what was published since',
        );
        this.whenRunning(`bus ${status.endpoint}`, unconnected.cut, (since) => this.fillSince(since));
      }
      return;
    }
    if (unconnected !== undefined) unconnected.failed = true;
    this.endpointLog(`endpoint:${status.endpoint}`, (suppressed) =>
      this.log.warn(
        {
          endpoint: status.endpoint,
          state: status.state,
          lastError: status.lastError,
          retries: status.retries,
          suppressed,
        },
        'bus endpoint not connected; libzmq keeps retrying',
      ),
    );
  }

  /** De-duplicates and journals one envelope; plugins apply it once its journal batch commits (see settled()). False for a duplicate. */
  accept(envelope: Envelope): boolean {
    return this.intake.accept(envelope);
  }

  /** Settles once every message accepted so far is committed to the journal and applied. */
  settled(): Promise<void> {
    return this.intake.settled();
  }

  async snapshot(): Promise<SnapshotReport> {
    return this.snapshots.take();
  }

  /**
   * A snapshot for `POST /admin/snapshot` (`snapshot take`): the report, plus the generation's
   * whole stored size as `snapshot list` measures it (generationSize). The report's `bytes` is
   * what this snapshot wrote, which an operator compared with list's figure and found apart.
   * Read only here: it walks every entry of the slot, which the periodic snapshots need not pay,
   * in chunks between which reads and probes are answered.
   */
  async snapshotMeasured(): Promise<SnapshotReport & { generationEntries: number; generationBytes: number }> {
    const report = await this.snapshots.take();
    const size = await generationSizePaced(this.store, report.slot);
    return { ...report, generationEntries: size.entries, generationBytes: size.bytes };
  }

  /** Marks `opening` as what start() awaits now, so a stop meanwhile waits for it. */
  private step<T>(opening: Promise<T>): Promise<T> {
    this.opening = opening.catch(() => undefined);
    return opening;
  }

  /** Stops intake, pushes the last updates, writes a final snapshot and flushes LMDB. */
  async stop(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    this.abort.abort();
    this.metrics.stop();
    this.heapWatch.stop();
    this.hangWatch?.stop();
    for (const cancel of this.timers) cancel();
    // A start under way finishes opening its listener or bus sockets first (start() then returns).
    await this.opening;
    this.subscription?.close();
    this.liveGate.open();
    // Cancels the consumers and acks what reached the journal; the broker requeues the rest.
    // Started in the same turn as the gate opens (held deliveries are let through, as the gate
    // resolved first): the cancel reaches the broker ahead of their acks, so the freed prefetch
    // window is not refilled while the bus thread winds down.
    const amqpClosed = this.amqp.close();
    await this.subscription?.done;
    await amqpClosed;
    await this.recovery.drained();
    await this.startupFill.pending;
    this.hub.tick();
    try {
      // A stop during replay still snapshots: what was replayed is state like any other.
      const report = await this.snapshot();
      this.log.info(
        { generation: report.generation, written: report.written, ms: Math.round(report.durationMs), wasRunning },
        'final snapshot written',
      );
    } catch (err) {
      // The last chance to put held messages on disk is gone: say what goes with the process.
      const unwritten = this.journal.backlog.status();
      if (unwritten !== null)
        this.log.error(
          { held: unwritten.held, dropped: unwritten.dropped, lastError: unwritten.lastError },
          'stopping with accepted messages on no disk (journal writes and the final snapshot failed): lost unless --datagrepper backfills them',
        );
      throw err;
    } finally {
      this.server?.close();
      this.host.stop();
      this.journal.known.stop();
      this.journal.stopRetrying();
      await this.store.close();
      this.releaseDataDir();
      this.phase = 'stopped';
    }
  }

  /** Releases everything without a final snapshot (tools and tests that only read). */
  async close(): Promise<void> {
    this.released = true;
    this.abort.abort();
    this.metrics.stop();
    this.heapWatch.stop();
    this.hangWatch?.stop();
    for (const cancel of this.timers) cancel();
    await this.opening;
    this.subscription?.close();
    await this.amqp.close();
    this.server?.close();
    this.host.stop();
    this.journal.known.stop();
    this.journal.stopRetrying();
    await this.journal.flush();
    await this.store.close();
    this.releaseDataDir();
    this.phase = 'stopped';
  }

  /** The pid file goes first, while the lock still says it is ours to remove. */
  private releaseDataDir(): void {
    removePidFile(this.config.dataDir);
    this.lock?.release();
    this.lock = null;
  }

  private readiness(): ReadinessView {
    return {
      phase: this.phase,
      fatal: this.fatal,
      readyTimeout: this.config.readyTimeout,
      progress: this.recovery.progress?.describe() ?? null,
      startupFillPending: this.startupFill.pending !== null,
      gapFilling: this.recovery.filling,
      endpoints: this.subscription?.endpoints() ?? [],
      amqp: this.amqp.readiness(),
      persistence: persistenceProblem(this.journal.backlog.status(), this.snapshots.failure),
      quarantined: this.host.runtimes.filter((r) => r.lifecycleState === 'quarantined').map((r) => r.ident),
      keyBudget: keyBudgetProblem(this.host.keyBudget, this.host.atKeyBudget()),
      clockSkew: this.skewWatch.problem(
        this.clock.now() / 1000,
        {
          passed: this.counters.accepted + this.counters.duplicates,
          future: this.counters.decodeErrors.future_timestamp,
        },
        this.config.maxClockSkew,
      ),
      heap: this.heapWatch.problem(),
      intakeLag: this.lagWatch.problem(this.clock.now() / 1000, this.lagCounts()),
      slowPlugins: slowApplyProblem(this.host.timing.recentSlow()),
      hungSkipped: this.hungReport.problem(),
      hangWatch: this.hangWatchFailed,
      diskWait: diskWaitProblem(this.store.writesWaiting(), this.config.diskHangTimeout),
    };
  }

  /** Live messages taken in so far (backfilled ones are not live) and the newest message's time. */
  private lagCounts(): { live: number; newest: number } {
    return { live: this.counters.accepted - this.counters.backfilled, newest: this.intake.newestTakenIn };
  }
}
