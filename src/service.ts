import type { PluginHost } from '../actors/plugin-host.js';
import type { Journal } from '../snapshots/journal.js';
import { DATA_FILE, type DataStore, dataFileWriteFailed } from '../snapshots/lmdb-store.js';
import { generationSizePaced } from '../snapshots/generation-size.js';
import type { SalvageReport } from '../snapshots/quarantine.js';
import type { PrereadSlot, RestoreReport } from '../snapshots/restore.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';
import { SnapshotUnmeasuredError } from '../snapshots/snapshot-unmeasured.js';
import type { WalkPacing } from '../snapshots/store-slot-reads.js';
import { WalkCancelledError } from '../snapshots/walk-cancelled.js';
import type { AmqpInputs } from './amqp-inputs.js';
import type { AmqpClient } from './amqp-inputs-deps.js';
import { BIND_SOURCE, type BusSubscription } from './bus.js';
import type { Config } from './config.js';
import type { Envelope } from './envelope.js';
import type { HttpHandler } from './http/api-routes.js';
import type { AdminHandler } from './http/admin-routes.js';
import type { ScanGate } from './http/scan-gate.js';
import { error, type HttpRequest, type HttpResponse } from './http/responses.js';
import type { RunningServer } from './http/uws-server.js';
import type { WsHub } from './http/ws-hub.js';
import type { Logger } from './logger.js';
import type { Intake, IntakeCounters } from './intake.js';
import type { ServiceMetrics } from './metrics.js';
import { buildService } from './service-build.js';
import { createServiceHttp } from './service-http.js';
import { serviceHttpDeps } from './service-http-deps.js';
import type { ServiceOptions } from './service-options.js';
import { buildParts, type ServiceParts } from './service-parts.js';
import { recoverService } from './service-recover.js';
import { startService } from './service-start.js';
import { ServiceState } from './service-state.js';
import { closeService, stopService } from './service-stop.js';

export type { IntakeCounters } from './intake.js';
export type { ServiceOptions } from './service-options.js';

/** What a start ended by MDB_PANIC leaves, as its error tells the operator. */
const START_PANIC_LEFT =
  'the start stops and exits 1 for its supervisor, whose restart opens the file afresh: nothing journaled is lost';

/**
 * The whole service. build() validates plugins and restores the newest good snapshot;
 * start() opens HTTP, subscribes to the bus (holding live messages back), replays the
 * journal, backfills from datagrepper, then lets live messages in; stop() drains and
 * snapshots. Every accepted message is journaled before plugins see it and de-duplicated by
 * id, so after any stop or crash the state is what it would be had each message been seen once.
 *
 * This is the composition root: the parts are built from the config in service-parts.ts, the
 * data dir opened in service-build.ts; the sequences live in service-start.ts, service-recover.ts
 * and service-stop.ts, /readyz's view in service-readiness.ts, what they share in service-state.ts,
 * what the HTTP side reads of them in service-http-deps.ts.
 */
export class Service {
  readonly host: PluginHost;
  /** The API routes (synchronous: every read is from memory). */
  readonly http: HttpHandler;
  /** Every request, routed (service-http.ts). */
  private readonly route: (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;
  /** Filtered /raw scans running and waiting (tests and metrics read it). */
  readonly scanGate: ScanGate;
  /** Settles once no GET /admin/export child runs (bounded): stop() and close() wait here. */
  readonly exportsEnded: () => Promise<void>;
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
    return this.parts.snapshots.last;
  }
  /** Rows restored with timestamps ahead of the clock (written before the clock bound existed) and dropped. */
  readonly futureRowsDropped: Readonly<Record<string, number>>;
  /** Restored entries past a retention or key cap lowered since they were written, evicted at start. */
  readonly boundsEvicted: Readonly<Record<string, number>>;
  get server(): RunningServer | null {
    return this.state.server;
  }
  get subscription(): BusSubscription | null {
    return this.state.subscription;
  }
  /** The `--amqp` inputs (fedora-messaging), empty when none are configured. */
  readonly amqp: AmqpInputs;
  /** Set when build() found the data file damaged and moved it to quarantine. */
  quarantine: SalvageReport | null = null;

  private readonly state = new ServiceState();
  private readonly parts: ServiceParts;
  /** The admin snapshot's size walk (ServiceOptions.sizePacing). */
  private readonly sizePacing: WalkPacing;

  private constructor(
    readonly config: Config,
    log: Logger,
    store: DataStore,
    options: ServiceOptions,
    preread: PrereadSlot | null,
    amqpClient: AmqpClient | null,
  ) {
    const { state } = this;
    this.sizePacing = options.sizePacing ?? {};
    const parts = buildParts({
      config,
      log,
      store,
      options,
      preread,
      amqpClient,
      state,
      snapshot: () => this.snapshot(),
    });
    this.parts = parts;
    this.host = parts.host;
    this.restored = parts.restored;
    this.journal = parts.journal;
    this.intake = parts.intake;
    this.futureRowsDropped = parts.futureRowsDropped;
    this.boundsEvicted = parts.boundsEvicted;
    this.amqp = parts.amqp;
    this.hub = parts.hub;
    // Read through `this` when asked: counters, the last snapshot, quarantine and the measured admin snapshot.
    const web = createServiceHttp(serviceHttpDeps(parts, options, this));
    this.http = web.api;
    this.admin = web.admin;
    this.metrics = web.metrics;
    this.scanGate = web.scanGate;
    this.exportsEnded = web.exportsEnded;
    this.route = web.handle;
  }

  /**
   * Locks the data dir (SC_DATA_DIR_LOCKED if another process holds it), checks the data file
   * in child processes that also read the newest snapshot ahead (check-and-read.ts; a damaged
   * file is quarantined and salvaged), validates plugins and restores the newest readable
   * snapshot; throws a coded StatscacheError when it must not go on.
   */
  static build(options: ServiceOptions): Promise<Service> {
    return buildService(options, ({ store, preread, amqpClient, lock, quarantine }) => {
      const service = new Service(options.config, options.logger, store, options, preread, amqpClient);
      service.state.lock = lock;
      service.quarantine = quarantine;
      return service;
    });
  }

  /**
   * Opens HTTP and the bus, recovers, then takes live messages in (service-start.ts). A start
   * that meets a data file failed for good (MDB_PANIC: a write during the start, or before it,
   * failed at its meta page) fails with SC_DATA_FILE_PANIC naming the file and what to do: its
   * reads (the journal replay, the catch-up) threw LMDB's bare "Invalid argument: MDB_PANIC",
   * naming neither, and the CLI printed that error's stack.
   */
  async start(): Promise<void> {
    try {
      await startService(this.parts, this);
    } catch (err) {
      const panic = this.parts.store.panicOf(err);
      if (panic === null) throw err;
      throw dataFileWriteFailed(this.config.dataDir, DATA_FILE, panic, START_PANIC_LEFT) ?? panic;
    }
  }

  /** Every HTTP request (service-http.ts): admin, history and example routes, /metrics, the API. */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
    let res: HttpResponse | Promise<HttpResponse>;
    try {
      res = this.route(req);
    } catch (err) {
      return this.panicAnswer(err);
    }
    return res instanceof Promise ? res.catch((err: unknown) => this.panicAnswer(err)) : res;
  }

  /**
   * A read of the data file (/raw, /id) that met MDB_PANIC: the file failed for good in this
   * process (store-write-errors.ts), which the store now tells (the service stops, exit 1).
   * Answered 503 data_file_failed naming it, not 500 "unexpected error"; any other error is thrown.
   */
  private panicAnswer(err: unknown): HttpResponse {
    const panic = this.parts.store.panicOf(err);
    if (panic === null) throw err;
    return error(503, 'data_file_failed', panic.message);
  }

  /**
   * Brings state up to date without the network edges: replays the journal after the
   * restored snapshot, then backfills from datagrepper what the journal lacks (service-recover.ts).
   */
  recover(): Promise<void> {
    return recoverService(this.parts);
  }

  /**
   * One multipart bus message from `source` (its --connect endpoint, or the bound socket):
   * held while starting, then decoded, de-duplicated, journaled and applied (bus-ingest.ts).
   */
  ingest(frames: readonly Uint8Array[], source: string = BIND_SOURCE): void | Promise<void> {
    return this.parts.busIngest.frames(frames, source);
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
    return this.parts.snapshots.take();
  }

  /**
   * A snapshot for `POST /admin/snapshot` (`snapshot take`): the report, plus the generation's
   * whole stored size as `snapshot list` measures it (generationSize). The report's `bytes` is
   * what this snapshot wrote, which an operator compared with list's figure and found apart.
   * Read only here: it walks every entry of the slot, which the periodic snapshots need not pay,
   * in chunks between which reads and probes are answered. close() ends the walk before the
   * store closes (the generation is on disk: SnapshotUnmeasuredError says which); stop() waits for it.
   */
  snapshotMeasured(): Promise<SnapshotReport & { generationEntries: number; generationBytes: number }> {
    // Tracked whole, take and walk: a stop waits for both, a close ends the walk (SnapshotUnmeasuredError).
    return this.state.walks.run(async (signal) => {
      const report = await this.parts.snapshots.take();
      try {
        const size = await generationSizePaced(this.parts.store, report.slot, { ...this.sizePacing, signal });
        return { ...report, generationEntries: size.entries, generationBytes: size.bytes };
      } catch (err) {
        throw err instanceof WalkCancelledError ? new SnapshotUnmeasuredError(report) : err;
      }
    });
  }

  /** Stops intake, pushes the last updates, writes a final snapshot and flushes LMDB (service-stop.ts). */
  stop(): Promise<void> {
    return stopService(this.parts, this);
  }

  /** Releases everything without a final snapshot (tools and tests that only read). */
  close(): Promise<void> {
    return closeService(this.parts, this);
  }
}
