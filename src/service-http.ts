import type { PluginHost } from '../actors/plugin-host.js';
import type { Journal } from '../snapshots/journal.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';
import { quarantineFolders } from '../snapshots/quarantine.js';
import type { AmqpInputs } from './amqp-inputs.js';
import type { EndpointStatus } from './bus.js';
import type { BusThreadFlow } from './bus-credit.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { ExportTally } from './export-tally.js';
import { settledWithin } from './settled-within.js';
import { serviceAdmin } from './service-admin.js';
import type { AdminHandler } from './http/admin-routes.js';
import { createHttpHandler, type HttpHandler } from './http/api-routes.js';
import type { ViewFailureLog } from './http/view-failure-log.js';
import { EncodedCache } from './http/encoded-cache.js';
import { createHistoryHandler } from './http/history-routes.js';
import type { ScanBudget } from './http/history-search.js';
import { builtExamplesDir, createExamplesHandler } from './http/pages/examples-route.js';
import type { HttpRequest, HttpResponse } from './http/responses.js';
import { ScanGate } from './http/scan-gate.js';
import { answerMemo } from './http/view-routes.js';
import type { RunningServer } from './http/uws-server.js';
import type { WsHub } from './http/ws-hub.js';
import type { Intake, IntakeCounters } from './intake.js';
import type { MetaDeriver } from './message.js';
import type { Logger, LogOutputStatus } from './logger.js';
import { linkStats } from './meta/safe-link.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { notReadyReason, degradedReason, type ReadinessView, readyDetails } from './readiness.js';

/** What the HTTP side reads of the running service, each read when a request or scrape asks. */
export interface ServiceHttpDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly host: PluginHost;
  readonly clock: Clock;
  readonly hub: WsHub;
  /** The log of plugin views failing, the hub's too: one throttled line per plugin whichever transport met it. */
  readonly viewFailed: ViewFailureLog;
  readonly journal: Journal;
  readonly intake: Intake;
  readonly meta: MetaDeriver;
  readonly amqp: AmqpInputs;
  /** The intake's counters with the gap detector's, the recovery's and the bus's receive errors. */
  readonly busCounters: () => IntakeCounters & Record<string, unknown>;
  /** The bus thread's hand-over as the main thread sees it; null without a bus thread. */
  readonly busThreadFlow?: () => BusThreadFlow | null;
  readonly server: () => RunningServer | null;
  readonly endpoints: () => readonly EndpointStatus[];
  readonly readiness: () => ReadinessView;
  readonly intakeLagSeconds: () => number;
  readonly lastSnapshot: () => SnapshotReport | null;
  readonly snapshotFailures: () => number;
  /** DataStore.writesWaiting(): ms the journal commit and snapshot write have waited on the disk. */
  readonly writesWaiting: () => { readonly journal: number | null; readonly snapshot: number | null };
  /** Whether this start moved a damaged data file to quarantine. */
  readonly quarantinedNow: () => boolean;
  readonly phase: () => ReadinessView['phase'];
  /** Why intake is dead, or null. */
  readonly fatal: () => string | null;
  readonly snapshot: () => Promise<SnapshotReport>;
  /** Per plugin loaded again, journal records its start-up catch-up found trimmed. */
  readonly catchUpMissing?: () => ReadonlyMap<string, number>;
  /** The logger's output, whose dropped lines /metrics counts. */
  readonly logOutput?: LogOutputStatus;
  /** Aborted by stop() and close(): an export child still running is killed. */
  readonly stopping?: AbortSignal;
  /** Told of each gated /raw scan, which stop() and close() wait for (ServiceState.walks). */
  readonly trackScan?: <T>(scan: Promise<T>) => Promise<T>;
  /** ServiceOptions.historySlices: a filtered /raw scan's slice timer and pause (tests). */
  readonly historySlices?: Pick<ScanBudget, 'sliceNowMs' | 'pause'> | undefined;
}

export interface ServiceHttp {
  /** The API routes (synchronous: every read is from memory). */
  readonly api: HttpHandler;
  /** `/admin/*` routes (POST /admin/snapshot); null for other paths. */
  readonly admin: AdminHandler;
  readonly metrics: ServiceMetrics;
  /** Filtered /raw scans running and waiting. */
  readonly scanGate: ScanGate;
  /**
   * Every HTTP request. Admin answers come later (a snapshot waits for LMDB), /metrics renders
   * fresh (prom-client is asynchronous), a filtered /raw scan yields: the adapter awaits promises.
   */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse>;
  /**
   * Settles once no export child runs (killed once `stopping` aborts), or after EXPORT_EXIT_WAIT_MS:
   * a child stuck in the kernel (a hung disk) is not ended even by SIGKILL, and is let go.
   */
  exportsEnded(): Promise<void>;
}

/** How long stop() and close() wait for a killed export child to exit. */
const EXPORT_EXIT_WAIT_MS = 5_000;

/** The service's routes and metrics, wired to what they report on. */
export function createServiceHttp(d: ServiceHttpDeps): ServiceHttp {
  const { config } = d;
  const nowSeconds = () => d.clock.now() / 1000;
  const httpCache = new EncodedCache();
  const answers = answerMemo();
  const scanGate = new ScanGate(config.historyScanConcurrency, config.historyScanQueue);
  const exports = new ExportTally();
  const metrics = createMetrics({
    host: d.host,
    bus: d.busCounters,
    ...(d.busThreadFlow ? { busThread: d.busThreadFlow } : {}),
    readiness: () => {
      const view = d.readiness();
      return {
        healthy: d.fatal() === null,
        ready: notReadyReason(view) === null,
        degraded: degradedReason(view) !== null,
        unreliablePublishers: d.intake.gaps.unreliableKeys,
        endpoints: d.endpoints().map((e) => ({ endpoint: e.endpoint, up: e.state === 'connected' })),
        intakeLagSeconds: d.intakeLagSeconds(),
      };
    },
    lastSnapshot: d.lastSnapshot,
    wsClients: () => d.server()?.connections() ?? 0,
    heldAnswers: () => d.server()?.heldAnswers() ?? { held: 0, closedUnread: 0 },
    wsSubscribers: (ident) => d.hub.clientCount(ident),
    liveViews: () => d.hub.viewStats(),
    uwsNative: () => d.server()?.native ?? null,
    commitDelay: () => d.intake.commitDelay,
    journalSeq: () => ({ accepted: d.journal.position, applied: d.intake.appliedSeqNumber }),
    ...(d.catchUpMissing ? { catchUpMissing: d.catchUpMissing } : {}),
    httpCache: () => ({
      ...httpCache.stats,
      entries: httpCache.size,
      bytes: httpCache.totalBytes,
      memoBytes: answers.totalBytes,
    }),
    limits: () => ({
      ...d.hub.refused,
      raw_scan_busy: scanGate.stats.busy,
      raw_scan_timeout: scanGate.stats.timedOut,
      unsafe_link: linkStats.refused,
    }),
    storage: () => ({
      journalCorrupt: d.journal.corrupt,
      quarantined: d.quarantinedNow() ? 1 : 0,
      quarantineFolders: quarantineFolders(config.dataDir).length,
      unwritten: d.journal.backlog.status() ?? { held: 0, dropped: 0 },
      snapshotFailures: d.snapshotFailures(),
      dedupe: d.journal.known.stats,
      writesWaiting: d.writesWaiting(),
    }),
    amqp: () => d.amqp.reports(),
    exports: () => exports,
    ...(d.logOutput ? { logDroppedLines: () => d.logOutput?.droppedLines ?? 0 } : {}),
  });
  const api = createHttpHandler({
    host: d.host,
    nowSeconds,
    onViewFailed: d.viewFailed,
    notReadyReason: () => notReadyReason(d.readiness()),
    readyDetails: (ready) => ({
      ...readyDetails(d.readiness(), ready),
      journal_corrupt_records: d.journal.corrupt,
      // Read at each request: a folder left by an earlier start or an offline tool is reported
      // on every start (not only the one that made it), and no longer once an operator removes it.
      data_file_quarantined: quarantineFolders(config.dataDir).at(-1) ?? null,
    }),
    failingReason: d.fatal,
    health: () => {
      // A live process whose data a restart would lose is alive, not healthy in silence.
      const degraded = degradedReason(d.readiness());
      return {
        phase: d.phase(),
        uws_native: d.server()?.native ?? null,
        ...(degraded !== null ? { degraded } : {}),
      };
    },
    // Damage is no reason to leave the pool (the rest is served), but a health check must not hide it.
    metrics,
    cache: httpCache,
    answers,
    maxPageDepth: config.maxPageDepth,
    // The service's adapter always has the event streams (ws-wiring.ts liveServerParts).
    streams: true,
  });
  // datagrepper's /raw and /id from the journal, so this instance can be another's --datagrepper.
  const history = createHistoryHandler({
    journal: d.journal,
    deriveMeta: d.meta,
    nowSeconds,
    scans: {
      gate: scanGate,
      timeoutSeconds: config.historyScanTimeoutSeconds,
      ...(d.historySlices ? { slices: d.historySlices } : {}),
      ...(d.stopping ? { stopping: d.stopping } : {}),
      ...(d.trackScan ? { track: d.trackScan } : {}),
    },
  });
  const examples = createExamplesHandler(config.examples ? builtExamplesDir() : null);
  // Asynchronous (a snapshot waits for LMDB): the HTTP adapter must route /admin/* here and await it.
  const admin = serviceAdmin(d, exports);

  const handle = (req: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    const special = admin(req) ?? history(req) ?? examples(req);
    if (special) {
      // These bypass the API handler, which counts the rest.
      // `/admin` itself is the admin handler's too (it fell through to '/raw' here).
      const route =
        req.path === '/admin' || req.path.startsWith('/admin/')
          ? req.path.startsWith('/admin/export')
            ? '/admin/export'
            : '/admin/snapshot'
          : req.path.startsWith('/examples')
            ? '/examples/'
            : req.path.startsWith('/id')
              ? '/id'
              : '/raw';
      const count = (r: HttpResponse) => {
        metrics.countRequest(route, req.method, r.status);
        return r;
      };
      return special instanceof Promise ? special.then(count) : count(special);
    }
    if (req.path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD'))
      return metrics.scrape().then(() => api(req));
    return api(req);
  };
  const exportsEnded = async (): Promise<void> => {
    await settledWithin(exports.idle(), EXPORT_EXIT_WAIT_MS);
  };
  return { api, admin, metrics, scanGate, handle, exportsEnded };
}
