import { isStatscacheError } from '../actors/errors.js';
import { PluginHost } from '../actors/plugin-host.js';
import { registerPlugins } from '../actors/registry.js';
import { builtinPlugins } from '../plugins/index.js';
import { SnapshotStore } from '../snapshots/lmdb-store.js';
import { restore, type RestoreReport } from '../snapshots/restore.js';
import { Snapshotter, type SnapshotReport } from '../snapshots/snapshotter.js';
import { subscribe, type BusSubscription } from './bus.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { DECODE_ERROR_REASONS, decodeFrames, type DecodeErrorReason } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import { createHttpHandler, type HttpHandler } from './http/api-routes.js';
import { listen, type RunningServer } from './http/uws-server.js';
import { WsHub } from './http/ws-hub.js';
import { throttled, type Logger } from './logger.js';
import { createPluginMessage, type MetaDeriver } from './message.js';
import { deriveMeta } from './meta/index.js';
import { createRouter, type Route } from './router.js';

export interface ServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Plugin definitions; default: the built-in ones. */
  readonly plugins?: readonly unknown[];
  readonly deriveMeta?: MetaDeriver;
}

export interface BusCounters {
  frames: number;
  accepted: number;
  filledTimestamps: number;
  decodeErrors: Record<DecodeErrorReason, number>;
}

type Phase = 'built' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The whole service, assembled but not yet listening: build() validates plugins and
 * restores state; start() opens the HTTP port and the bus; stop() drains and snapshots.
 * Tests drive it in-process through ingest() and the HTTP handler.
 */
export class Service {
  readonly host: PluginHost;
  readonly http: HttpHandler;
  readonly hub: WsHub;
  readonly bus: BusCounters = { frames: 0, accepted: 0, filledTimestamps: 0, decodeErrors: Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<DecodeErrorReason, number> };
  readonly restored: RestoreReport;
  lastSnapshot: SnapshotReport | null = null;
  server: RunningServer | null = null;
  subscription: BusSubscription | null = null;

  private phase: Phase = 'built';
  private readonly clock: Clock;
  private readonly route: Route;
  private readonly meta: MetaDeriver;
  private readonly snapshotter: Snapshotter;
  private readonly timers: (() => void)[] = [];
  private readonly logLimited: ReturnType<typeof throttled>;

  private constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly store: SnapshotStore,
    options: ServiceOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.meta = options.deriveMeta ?? deriveMeta;
    this.logLimited = throttled(() => this.clock.now());
    const plugins = registerPlugins(options.plugins ?? builtinPlugins());
    this.host = new PluginHost(plugins, (ident, err, message) => {
      this.logLimited(`plugin:${ident}`, (suppressed) =>
        this.log.warn({ plugin: ident, topic: message?.topic, msg_id: message?.msgId, err: String((err as Error)?.stack ?? err), suppressed }, 'plugin update threw; message skipped for this plugin'),
      );
    });
    this.route = createRouter(this.host.runtimes.map((r) => r.plugin));
    this.restored = restore(this.host.runtimes, store);
    const fresh = this.restored.meta === null ? [] : this.restored.migrated;
    this.snapshotter = new Snapshotter(this.host.runtimes, store, () => this.clock.now(), this.restored.meta, fresh, this.restored.retained);
    this.hub = new WsHub(this.host, (topic, text) => this.server?.publish(topic, text));
    this.http = createHttpHandler({
      host: this.host,
      nowSeconds: () => this.clock.now() / 1000,
      notReadyReason: () => this.notReadyReason(),
      health: () => ({ phase: this.phase, uws_native: this.server?.native ?? null }),
    });
  }

  /** Validates plugins and restores the last snapshot; throws a coded StatscacheError on bad plugins or unreadable state. */
  static build(options: ServiceOptions): Service {
    const store = new SnapshotStore(options.config.dataDir);
    try {
      return new Service(options.config, options.logger, store, options);
    } catch (err) {
      void store.close();
      throw err;
    }
  }

  async start(): Promise<void> {
    this.phase = 'starting';
    const { config, log } = this;
    const restoredRows = Object.values(this.restored.restored).reduce((a, b) => a + b, 0);
    log.info({ generation: this.restored.meta?.generation ?? 0, plugins: Object.keys(this.restored.restored).length, rows: restoredRows, migrated: this.restored.migrated }, this.restored.meta ? 'restored snapshot' : 'no snapshot yet; starting empty');
    for (const [ident, rec] of Object.entries(this.restored.retained)) log.warn({ plugin: ident, rows: rec.rows }, 'state on disk for a plugin that is not loaded; kept untouched');

    this.server = await listen(
      { host: config.host, port: config.port, maxPayloadBytes: 64 * 1024, idleTimeoutSeconds: 120 },
      this.http,
      { message: (peer, text) => this.hub.onMessage(peer, text), close: (peer) => this.hub.onClose(peer) },
      (err) => log.error({ err: String((err as Error)?.stack ?? err) }, 'request handler failed'),
    );
    if (!this.server.native) log.warn('uWebSockets.js native binary did not load for this Node.js; using the slow JS fallback');
    this.subscription = await subscribe(
      { connect: config.connect, bind: config.bind, topics: config.topic },
      (frames) => this.ingest(frames),
      (err) => log.error({ err: String(err) }, 'bus receive loop failed'),
    );
    this.timers.push(this.clock.every(config.wsTickMs, () => this.hub.tick()));
    this.timers.push(this.clock.every(config.snapshotInterval * 1000, () => void this.snapshot()));
    this.phase = 'running';
    log.info(
      { http: `http://${config.host}:${this.server.port}`, port: this.server.port, bound: this.subscription.bound, connected: this.subscription.connected, topics: config.topic, plugins: this.host.idents.length, dataDir: config.dataDir },
      'statscache listening',
    );
  }

  /** One multipart bus message: decode, count, route, apply. Never throws. */
  ingest(frames: readonly Uint8Array[]): void {
    this.bus.frames++;
    const result = decodeFrames(frames, this.config.maxFrameBytes, () => this.clock.now() / 1000);
    if (!result.ok) {
      this.bus.decodeErrors[result.reason]++;
      this.logLimited(`decode:${result.reason}`, (suppressed) => this.log.warn({ reason: result.reason, detail: result.detail, suppressed }, 'bus frame skipped'));
      return;
    }
    if (result.filledTimestamp) this.bus.filledTimestamps++;
    this.bus.accepted++;
    this.apply(result.envelope);
  }

  apply(envelope: Envelope): void {
    const targets = this.route(envelope.topic);
    if (targets.length > 0) this.host.dispatch(createPluginMessage(envelope, this.meta), targets);
  }

  async snapshot(): Promise<SnapshotReport> {
    try {
      const report = await this.snapshotter.take();
      this.lastSnapshot = report;
      this.log.debug({ ...report }, 'snapshot written');
      return report;
    } catch (err) {
      this.log.error({ err: String((err as Error)?.stack ?? err) }, 'snapshot failed; changes kept for the next one');
      throw err;
    }
  }

  /** Stops intake, pushes the last updates, writes a final snapshot and flushes LMDB. */
  async stop(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    this.phase = 'stopping';
    for (const cancel of this.timers) cancel();
    this.subscription?.close();
    await this.subscription?.done;
    this.hub.tick();
    try {
      const report = await this.snapshot();
      this.log.info({ generation: report.generation, written: report.written, ms: Math.round(report.durationMs) }, 'final snapshot written');
    } finally {
      this.server?.close();
      this.host.stop();
      await this.store.close();
      this.phase = 'stopped';
    }
  }

  private notReadyReason(): string | null {
    switch (this.phase) {
      case 'running':
        return null;
      case 'built':
      case 'starting':
        return 'restoring state and connecting to the bus';
      default:
        return 'shutting down';
    }
  }
}

export { isStatscacheError };
