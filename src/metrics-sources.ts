/**
 * What the service's metrics read at scrape time (MetricsSources: the runtime's own counters,
 * never a prom call per message), and how an area's collectors declare their metrics
 * (MetricMaker): metrics.ts, the one module that talks to prom-client, makes them.
 */
import type { PluginHost } from '../actors/plugin-host.js';
import type { KnownIdsStats } from '../snapshots/known-ids.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';
import type { BusThreadFlow } from './bus-credit.js';

export interface MetricsSources {
  readonly host: PluginHost;
  /** Intake counters; numeric fields besides these are exported as statscache_intake_total{event}. */
  readonly bus: () => {
    readonly frames: number;
    readonly accepted: number;
    readonly decodeErrors: Readonly<Record<string, number>>;
  };
  /** The bus thread's hand-over (bus-credit.ts); null without one (--bus-thread false, before it is up). */
  readonly busThread?: () => BusThreadFlow | null;
  readonly lastSnapshot: () => SnapshotReport | null;
  readonly wsClients: () => number;
  /** Subscribers of one plugin's WebSocket channel. */
  readonly wsSubscribers: (ident: string) => number;
  /** Null before the server listens. */
  readonly uwsNative: () => boolean | null;
  /** Journal positions: the newest message accepted, and the newest the plugins have applied. */
  readonly journalSeq?: () => { readonly accepted: number; readonly applied: number };
  /** Accept-to-apply delay (the journal commit) so far. */
  readonly commitDelay?: () => {
    readonly count: number;
    readonly totalMs: number;
    readonly maxMs: number;
    readonly batches: number;
  };
  /** Readiness as /readyz reports it, and each --connect endpoint's state. */
  readonly readiness?: () => {
    /** /healthz answers 200: intake has not stopped for good. */
    readonly healthy: boolean;
    readonly ready: boolean;
    readonly degraded: boolean;
    readonly unreliablePublishers: number;
    readonly endpoints: readonly { readonly endpoint: string; readonly up: boolean }[];
    /** Seconds the newest live message is dated behind the clock while live messages flow, else 0 (lag-watch.ts). */
    readonly intakeLagSeconds: number;
  };
  /** Damage found on disk (journal records skipped for a bad checksum, data files quarantined at start-up), and how de-duplication reads the id index. */
  readonly storage?: () => {
    readonly journalCorrupt: number;
    readonly quarantined: number;
    /** Quarantine folders present in the data dir, from any start or offline tool, until an operator removes them. */
    readonly quarantineFolders: number;
    /** Journal records whose commit failed: held for another try, or let go to bound memory (on disk at the next snapshot). */
    readonly unwritten: { readonly held: number; readonly dropped: number };
    readonly snapshotFailures: number;
    readonly dedupe: Readonly<KnownIdsStats>;
    /** Ms the oldest unsettled journal commit and the snapshot write in progress have waited on the disk (null: none). */
    readonly writesWaiting?: { readonly journal: number | null; readonly snapshot: number | null };
  };
  /** Log lines dropped this run because stdout did not take them (log-output.ts). */
  readonly logDroppedLines?: () => number;
  /** Milliseconds of a monotonic clock, for spacing scrape renders (default performance.now). */
  readonly now?: () => number;
  /** Waits that many milliseconds (default setTimeout); tests inject their own. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The AMQP inputs (src/amqp-inputs.ts), labelled by their URL without credentials. */
  readonly amqp?: () => readonly {
    readonly input: string;
    readonly state: string;
    readonly deliveries: number;
    readonly acked: number;
    readonly connects: number;
    readonly duplicates: number;
    readonly decodeErrors: Readonly<Record<string, number>>;
    readonly refusedRedeliveries: number;
    readonly held: number;
    readonly consumeDeferrals: number;
    readonly unjournaled: number;
  }[];
  readonly httpCache?: () => {
    readonly hits: number;
    readonly misses: number;
    readonly gzipped: number;
    readonly entries: number;
    readonly bytes: number;
    /** Body bytes the /api answer memo holds (view-routes.ts), many of them the cache's own. */
    readonly memoBytes: number;
  };
  /** Requests refused or cut short by a fairness limit, by limit name (per-IP live caps, /raw scan queue and budget…). */
  readonly limits?: () => Readonly<Record<string, number>>;
  /** Live views watched and lingering, and the work done for them (ws-views.ts). */
  readonly liveViews?: () => {
    readonly watched: number;
    readonly idle: number;
    /** Views whose plugin failed to compute them on their latest try (their subscribers were told view_failed). */
    readonly failing?: number;
    readonly created: number;
    readonly refreshed: number;
    readonly recomputed: number;
    readonly woken: number;
    readonly deferred: number;
    /** Bytes of update frames the views keep for resume (--ws-resume-bytes). */
    readonly historyBytes?: number;
  };
  /** Per plugin loaded again after runs without it, journal records its start-up catch-up found trimmed (catch-up.ts). */
  readonly catchUpMissing?: () => ReadonlyMap<string, number>;
  /** GET /admin/export's builds: running now, and how those that ended did, by outcome (export-tally.ts). */
  readonly exports?: () => {
    readonly inProgress: number;
    readonly ended: Readonly<Record<string, number>>;
  };
  /** HTTP answers a connection could not take at once, and connections closed before reading theirs (answer-writer.ts). */
  readonly heldAnswers?: () => { readonly held: number; readonly closedUnread: number; readonly heldBytes?: number };
}

/** Sets every series of a metric at scrape time: `set` once per label set, with its value. */
export type Fill<L extends string> = (set: (labels: Record<L, string>, value: number) => void) => void;

/**
 * Declares one metric read at scrape time: `fromCounters` a counter given the absolute value of
 * a running total, `gauge` a gauge. Each registers at once: /metrics lists them in that order.
 */
export interface MetricMaker {
  fromCounters<L extends string>(name: string, help: string, labelNames: readonly L[], fill: Fill<L>): void;
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], fill: Fill<L>): void;
}
