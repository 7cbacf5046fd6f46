import { parseInterval } from '../actors/interval.js';
import { PluginHost } from '../actors/plugin-host.js';
import { registerPlugins } from '../actors/registry.js';
import { applyRetention, builtinPlugins } from '../plugins/index.js';
import { Journal } from '../snapshots/journal.js';
import { coveredByAllGenerations, trimJournal } from '../snapshots/journal-trim.js';
import { DataStore } from '../snapshots/lmdb-store.js';
import { removePidFile, writePidFile } from '../snapshots/pid-file.js';
import { restore, type RestoreReport } from '../snapshots/restore.js';
import { Snapshotter, type SnapshotReport } from '../snapshots/snapshotter.js';
import { AmqpInputs } from './amqp-inputs.js';
import { subscribe, type BusSubscription } from './bus.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { frameLimits } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import { createHttpHandler, type HttpHandler } from './http/api-routes.js';
import { createAdminHandler, type AdminHandler } from './http/admin-routes.js';
import { EncodedCache } from './http/encoded-cache.js';
import { createHistoryHandler, type HistoryHandler } from './http/history-routes.js';
import type { HttpRequest, HttpResponse } from './http/responses.js';
import { listen, type RunningServer } from './http/uws-server.js';
import type { WsHub } from './http/ws-hub.js';
import { createHub, liveServerParts } from './http/ws-wiring.js';
import { throttled, type Logger } from './logger.js';
import { Intake, type IntakeCounters } from './intake.js';
import type { MetaDeriver } from './message.js';
import { deriveMeta } from './meta/index.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { Recovery } from './recovery.js';
import { createRouter } from './router.js';

export interface ServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Plugin definitions; default: the built-in ones. */
  readonly plugins?: readonly unknown[];
  readonly deriveMeta?: MetaDeriver;
  /** Back-off sleep for backfill retries (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type { IntakeCounters } from './intake.js';

type Phase = 'built' | 'replaying' | 'backfilling' | 'running' | 'stopping' | 'stopped';

/** Drops restored rows dated past `cutoff`: an older version let one message date ahead wipe history. */
function dropFutureRows(host: PluginHost, cutoff: number): Record<string, number> {
  const dropped: Record<string, number> = {};
  for (const r of host.runtimes) {
    // Rows are stamped with the end of their bucket, which may lie one interval past the message.
    const n = r.state.rows.evictAfter(cutoff + (r.plugin.intervalSeconds ?? 0));
    if (n > 0) dropped[r.ident] = n;
  }
  return dropped;
}

/** A gate the bus loop waits on while the journal replays and the start-up backfill runs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

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
  /** datagrepper's /raw and /id from the journal; a filtered scan answers asynchronously. */
  private readonly history: HistoryHandler;
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
  lastSnapshot: SnapshotReport | null = null;
  /** Rows restored with timestamps ahead of the clock (written before the clock bound existed) and dropped. */
  readonly futureRowsDropped: Readonly<Record<string, number>>;
  server: RunningServer | null = null;
  subscription: BusSubscription | null = null;
  /** The `--amqp` inputs (fedora-messaging), empty when none are configured. */
  readonly amqp: AmqpInputs;

  private phase: Phase = 'built';
  private readonly clock: Clock;
  private readonly meta: MetaDeriver;
  private readonly snapshotter: Snapshotter;
  private readonly recovery: Recovery;
  private readonly timers: (() => void)[] = [];
  private readonly logLimited: ReturnType<typeof throttled>;
  private readonly liveGate = gate();
  private readonly abort = new AbortController();

  private constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly store: DataStore,
    options: ServiceOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    // Bounded fan-out: one message naming 50,000 people becomes --max-fanout keys per plugin, counted.
    this.meta = options.deriveMeta ?? ((envelope) => deriveMeta(envelope, { maxFanout: config.maxFanout, onTruncated: () => this.counters.fanoutTruncated++ }));
    this.logLimited = throttled(() => this.clock.now());
    // Retention overrides from the config replace each matching definition's retention before validation.
    const plugins = registerPlugins(applyRetention(options.plugins ?? builtinPlugins(), options.config.retention));
    this.host = new PluginHost(
      plugins,
      (ident, err, message) => {
        this.logLimited(`plugin:${ident}`, (suppressed) =>
          this.log.warn({ plugin: ident, topic: message?.topic, msg_id: message?.msgId, err: String((err as Error)?.stack ?? err), suppressed }, 'plugin update threw; message skipped for this plugin'),
        );
      },
      { maxKeys: config.pluginMaxKeys },
    );
    this.restored = restore(this.host.runtimes, store);
    const nowSeconds = () => this.clock.now() / 1000;
    this.journal = new Journal(store, {
      dedupeWindow: config.dedupeWindow,
      onWriteError: (err) => {
        this.counters.journalWriteErrors++;
        this.logLimited('journal', (suppressed) => this.log.error({ err: String(err), suppressed }, 'journal write failed'));
      },
      // Plugins apply only what the journal has committed: nothing served can be lost to a crash.
      onCommitted: (entries) => this.intake.committed(entries),
    });
    this.intake = new Intake(
      {
        host: this.host,
        route: createRouter(this.host.runtimes.map((r) => r.plugin)),
        journal: this.journal,
        deriveMeta: this.meta,
        limits: frameLimits(config, nowSeconds),
        onDecodeFailure: (reason, detail) => this.logLimited(`decode:${reason}`, (suppressed) => this.log.warn({ reason, detail, suppressed }, 'bus frame skipped')),
        onReplayRejected: (entry, detail) =>
          this.logLimited('replay-rejected', (suppressed) => this.log.error({ seq: entry.seq, topic: entry.envelope.topic, detail, suppressed }, 'journaled message refused on replay (it breaks a bound this version enforces)')),
        onApplyError: (entry, err) => this.logLimited('apply', (suppressed) => this.log.error({ seq: entry.seq, err: String((err as Error)?.stack ?? err), suppressed }, 'committed message failed to apply')),
      },
      // A watermark restored from before the clock bound existed must not stay ahead of the clock.
      Math.min(this.restored.meta?.newestTimestamp ?? 0, nowSeconds() + config.maxClockSkew),
      this.restored.meta?.publishers ?? {},
    );
    this.amqp = new AmqpInputs({
      config,
      intake: this.intake,
      limits: frameLimits(config, nowSeconds),
      log,
      logLimited: this.logLimited,
      held: () => (this.phase === 'running' || this.phase === 'stopping' ? undefined : this.liveGate.promise),
      onResumed: ({ input, downSince }) => {
        if (this.phase !== 'running' || !config.datagrepper) return;
        log.warn({ input, downSince: new Date(downSince).toISOString() }, 'AMQP input reconnected on a new server-named queue; backfilling what was published meanwhile');
        const from = Math.min(this.intake.newestTimestamp || downSince / 1000, downSince / 1000);
        this.recovery.fillGap({ start: from - config.backfillOverlap, end: this.clock.now() / 1000 });
      },
      now: () => this.clock.now(),
    });
    this.recovery = new Recovery({ intake: this.intake, journal: this.journal, log, datagrepper: config.datagrepper, nowSeconds, limits: frameLimits(config, nowSeconds), signal: this.abort.signal, sleep: options.sleep });
    this.snapshotter = new Snapshotter(
      this.host.runtimes,
      store,
      {
        slots: config.snapshotGenerations,
        now: () => this.clock.now(),
        position: () => this.intake.position(),
      },
      this.restored,
    );
    // After the snapshotter tracks changes, so the next snapshot drops these rows on disk too.
    this.futureRowsDropped = dropFutureRows(this.host, nowSeconds() + config.maxClockSkew);
    this.hub = createHub(this.host, config, this.clock, log, (topic, text) => this.server?.publish(topic, text));
    const httpCache = new EncodedCache();
    this.metrics = createMetrics({
      host: this.host,
      bus: () => this.counters,
      lastSnapshot: () => this.lastSnapshot,
      wsClients: () => this.server?.connections() ?? 0,
      wsSubscribers: (ident) => this.hub.clientCount(ident),
      uwsNative: () => this.server?.native ?? null,
      commitDelay: () => this.intake.commitDelay,
      httpCache: () => ({ ...httpCache.stats, entries: httpCache.size, bytes: httpCache.totalBytes }),
      amqp: () => this.amqp.reports(),
    });
    const api = createHttpHandler({
      host: this.host,
      nowSeconds: () => this.clock.now() / 1000,
      notReadyReason: () => this.notReadyReason(),
      readiness: () => (this.amqp.inputs.length > 0 ? this.amqp.readiness() : {}),
      health: () => ({ phase: this.phase, uws_native: this.server?.native ?? null }),
      metrics: this.metrics,
      cache: httpCache,
    });
    // datagrepper's /raw and /id from the journal, so this instance can be another's --datagrepper.
    const history = createHistoryHandler({ journal: this.journal, deriveMeta: this.meta, nowSeconds: () => this.clock.now() / 1000 });
    this.http = api;
    this.history = history;
    // Asynchronous (a snapshot waits for LMDB): the HTTP adapter must route /admin/* here and await it.
    this.admin = createAdminHandler({ adminToken: config.adminToken, snapshot: () => this.snapshot() });
  }

  /** Validates plugins and restores the newest readable snapshot; throws a coded StatscacheError when it must not go on. */
  static build(options: ServiceOptions): Service {
    const store = new DataStore(options.config.dataDir);
    try {
      const service = new Service(options.config, options.logger, store, options);
      // Tells offline tools (snapshot import, journal replay) that this data dir is in use.
      writePidFile(options.config.dataDir);
      return service;
    } catch (err) {
      void store.close();
      throw err;
    }
  }

  async start(): Promise<void> {
    const { config, log } = this;
    this.reportRestore();
    this.metrics.start();
    const live = liveServerParts(this.hub, config);
    this.server = await listen(
      { host: config.host, port: config.port, ...live.options },
      (req) => this.handle(req),
      live.ws,
      (err) => log.error({ err: String((err as Error)?.stack ?? err) }, 'request handler failed'),
      live.sse,
    );
    if (!this.server.native) log.warn('uWebSockets.js native binary did not load for this Node.js; using the slow JS fallback');
    // Subscribe first so nothing published from now on is missed; the gate holds it back.
    this.subscription = await subscribe(
      { connect: config.connect, bind: config.bind, topics: config.topic },
      (frames) => this.ingest(frames),
      (err) => log.error({ err: String(err) }, 'bus receive loop failed'),
      ({ address, downSince }) => {
        log.warn({ address, downSince: new Date(downSince).toISOString() }, 'bus endpoint reconnected; messages published meanwhile were missed');
        // Everything since the newest message we have (or since the drop), minus the usual overlap.
        const from = Math.min(this.intake.newestTimestamp || downSince / 1000, downSince / 1000);
        if (this.phase === 'running') this.recovery.fillGap({ start: from - config.backfillOverlap, end: this.clock.now() / 1000 });
      },
    );
    // Deliveries wait behind the same gate as ZeroMQ frames; unacked, the broker holds the rest.
    this.amqp.start();
    this.timers.push(this.clock.every(config.wsTickMs, () => this.hub.tick()));
    log.info(
      { http: `http://${config.host}:${this.server.port}`, port: this.server.port, bound: this.subscription.bound, connected: this.subscription.connected, topics: config.topic, amqp: this.amqp.reports().map((r) => ({ input: r.input, state: r.state, queue: config.amqpQueue, bindings: config.amqpBinding })), plugins: this.host.idents.length, dataDir: config.dataDir, datagrepper: config.datagrepper },
      'statscache listening',
    );
    await this.recover();
    if (this.abort.signal.aborted) return;
    this.timers.push(this.clock.every(config.snapshotInterval * 1000, () => void this.snapshot().catch(() => undefined)));
    this.phase = 'running';
    this.liveGate.open();
    log.info({ journalSeq: this.journal.position }, 'ready: consuming the bus live');
  }

  /**
   * Every HTTP request. Admin answers come later (a snapshot waits for LMDB), /metrics renders
   * fresh (prom-client is asynchronous), a filtered /raw scan yields: the adapter awaits promises.
   */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
    const special = this.admin(req) ?? this.history(req);
    if (special) {
      // These bypass the API handler, which counts the rest.
      const route = req.path.startsWith('/admin/') ? '/admin/snapshot' : req.path.startsWith('/id') ? '/id' : '/raw';
      const count = (r: HttpResponse) => (this.metrics.countRequest(route, req.method, r.status), r);
      return special instanceof Promise ? special.then(count) : count(special);
    }
    if (req.path === '/metrics' && req.method === 'GET') return this.metrics.refresh().then(() => this.http(req));
    return this.http(req);
  }

  /**
   * Brings state up to date without the network edges: replays the journal after the
   * restored snapshot, then backfills from datagrepper what the journal lacks.
   */
  async recover(): Promise<void> {
    this.phase = 'replaying';
    await this.recovery.replay(this.restored.meta?.journalSeq ?? 0, this.restored.meta !== null);
    const { config } = this;
    if (config.datagrepper && !this.abort.signal.aborted) {
      const end = this.clock.now() / 1000;
      const newest = this.intake.newestTimestamp;
      const start = newest > 0 ? newest - config.backfillOverlap : end - parseInterval(config.journalMaxAge, 'journalMaxAge');
      this.phase = 'backfilling';
      await this.recovery.backfill({ start, end }, 'start-up');
    }
  }

  /** One multipart bus message: held while starting, then decoded, de-duplicated, journaled and applied. Never throws. */
  ingest(frames: readonly Uint8Array[]): void | Promise<void> {
    if (this.phase !== 'running' && this.phase !== 'stopping') return this.liveGate.promise.then(() => this.ingest(frames));
    const gap = this.intake.fromBus(frames);
    if (gap && this.config.datagrepper) {
      this.log.warn({ ...gap }, 'publisher sequence jumped; backfilling the gap');
      this.recovery.fillGap({ start: gap.start - this.config.backfillOverlap, end: gap.end });
    }
    // The bus waits (libzmq queues) while the journal is far behind, instead of memory growing.
    return this.intake.backpressure();
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
    try {
      // Everything accepted so far goes into this snapshot rather than the journal tail.
      await this.intake.settled();
      const report = await this.snapshotter.take();
      this.lastSnapshot = report;
      if (report.written + report.removed > 0) this.log.debug({ ...report }, 'snapshot written');
      await this.trimJournal();
      return report;
    } catch (err) {
      this.log.error({ err: String((err as Error)?.stack ?? err) }, 'snapshot failed; changes kept for the next one');
      throw err;
    }
  }

  /** Drops journal entries past retention that every retained snapshot generation covers. */
  private async trimJournal(): Promise<void> {
    const covered = coveredByAllGenerations(this.store);
    if (!Number.isFinite(covered)) return;
    const removed = await trimJournal(this.journal, {
      coveredSeq: covered,
      cutoffTimestamp: this.clock.now() / 1000 - parseInterval(this.config.journalMaxAge, 'journalMaxAge'),
      bytes: this.store.journalBytes(),
      maxBytes: this.config.journalMaxBytes,
    });
    if (removed > 0) this.log.info({ removed, covered }, 'journal trimmed');
  }

  /** Stops intake, pushes the last updates, writes a final snapshot and flushes LMDB. */
  async stop(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    this.abort.abort();
    this.metrics.stop();
    for (const cancel of this.timers) cancel();
    this.subscription?.close();
    this.liveGate.open();
    await this.subscription?.done;
    // Cancels the consumers and acks what reached the journal; the broker requeues the rest.
    await this.amqp.close();
    await this.recovery.drained();
    this.hub.tick();
    try {
      // A stop during replay still snapshots: what was replayed is state like any other.
      const report = await this.snapshot();
      this.log.info({ generation: report.generation, written: report.written, ms: Math.round(report.durationMs), wasRunning }, 'final snapshot written');
    } finally {
      this.server?.close();
      this.host.stop();
      await this.store.close();
      removePidFile(this.config.dataDir);
      this.phase = 'stopped';
    }
  }

  /** Releases everything without a final snapshot (tools and tests that only read). */
  async close(): Promise<void> {
    this.abort.abort();
    this.metrics.stop();
    for (const cancel of this.timers) cancel();
    this.subscription?.close();
    await this.amqp.close();
    this.server?.close();
    this.host.stop();
    await this.journal.flush();
    await this.store.close();
    removePidFile(this.config.dataDir);
    this.phase = 'stopped';
  }

  private reportRestore(): void {
    const { log, restored } = this;
    for (const f of restored.fallbacks) log.error({ slot: f.slot, generation: f.generation, reason: f.reason }, 'snapshot generation unreadable; falling back to an older one');
    const rows = Object.values(restored.restored).reduce((a, b) => a + b, 0);
    if (restored.meta) log.info({ generation: restored.meta.generation, journalSeq: restored.meta.journalSeq, plugins: Object.keys(restored.restored).length, rows, migrated: restored.migrated }, 'restored snapshot');
    else log.info({ fallbacks: restored.fallbacks.length }, 'no readable snapshot; starting empty and replaying the journal');
    for (const [plugin, rows] of Object.entries(this.futureRowsDropped)) log.error({ plugin, rows }, 'restored rows dated ahead of the clock dropped (written before timestamps were bounded)');
    for (const [ident, rec] of Object.entries(restored.retained)) log.warn({ plugin: ident, rows: rec.rows }, 'state on disk for a plugin that is not loaded; kept untouched');
  }

  private notReadyReason(): string | null {
    switch (this.phase) {
      case 'running':
        if (this.recovery.filling) return `backfilling a gap from datagrepper${this.recovery.progress ? `: ${this.recovery.progress.describe()}` : ''}`;
        return null;
      case 'built':
        return 'starting';
      case 'replaying':
      case 'backfilling':
        return this.recovery.progress ? this.recovery.progress.describe() : this.phase;
      default:
        return 'shutting down';
    }
  }
}

