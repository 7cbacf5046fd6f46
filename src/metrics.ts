/**
 * The one module that talks to prom-client. Every Service gets its own Registry (never the
 * global one), so tests can run several services in one process. Per-message counters are
 * not touched per message: collect() callbacks read the runtime's own counters at scrape time.
 */
import type { KnownIdsStats } from '../snapshots/known-ids.js';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { SLOW_BATCH_MS } from '../actors/apply-timing.js';
import { LIFECYCLE_STATES } from '../actors/lifecycle.js';
import type { PluginHost } from '../actors/plugin-host.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';

export interface MetricsSources {
  readonly host: PluginHost;
  /** Intake counters; numeric fields besides these are exported as statscache_intake_total{event}. */
  readonly bus: () => {
    readonly frames: number;
    readonly accepted: number;
    readonly decodeErrors: Readonly<Record<string, number>>;
  };
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
  /** HTTP answers a connection could not take at once, and connections closed before reading theirs (answer-writer.ts). */
  readonly heldAnswers?: () => { readonly held: number; readonly closedUnread: number; readonly heldBytes?: number };
}

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Counts one HTTP answer; `route` is a pattern like `/api/:ident`, never a raw path. */
  countRequest(route: string, method: string, status: number): void;
  /** countRequest bound to one label set: an answer served many times counts with one increment. */
  counter(route: string, method: string, status: number): () => void;
  /** The exposition text as of the last refresh (the service refreshes before answering /metrics; the HTTP adapter answers synchronously). */
  text(): string;
  /** Renders the registry now and keeps the result for text(). */
  refresh(): Promise<string>;
  /**
   * refresh() for an HTTP scrape, at most one render per SCRAPE_INTERVAL_MS: a scrape sooner
   * waits for the next render, shared by every scrape waiting for it.
   */
  scrape(): Promise<string>;
  /** Starts the process-level collectors (a running service only). */
  start(): void;
  stop(): void;
}

export function createMetrics(sources: MetricsSources): ServiceMetrics {
  const registry = new Registry();
  const { host } = sources;
  const plugins = () => host.runtimes;

  type Fill<L extends string> = (set: (labels: Record<L, string>, value: number) => void) => void;
  // Metrics read from the runtime's own counters at scrape time (never a prom call per message):
  // reset, then set every series. A Counter takes the absolute value through inc() from zero.
  const scraped = <L extends string>(
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: Fill<L>,
  ) =>
    kind === 'counter'
      ? new Counter({
          name,
          help,
          labelNames,
          registers: [registry],
          collect() {
            this.reset();
            fill((labels, value) => this.inc(labels as never, value));
          },
        })
      : new Gauge({
          name,
          help,
          labelNames,
          registers: [registry],
          collect() {
            this.reset();
            fill((labels, value) => this.set(labels as never, value));
          },
        });
  const fromCounters = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: Fill<L>) =>
    scraped('counter', name, help, labelNames, fill);
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: Fill<L>) =>
    scraped('gauge', name, help, labelNames, fill);

  // One stats() read per plugin per scrape, shared by every metric below.
  const stats = () => plugins().map((r) => [r.ident, r.stats()] as const);
  fromCounters('statscache_plugin_messages_received_total', 'Messages routed to a plugin', ['plugin'], (set) => {
    for (const [plugin, s] of stats()) set({ plugin }, s.counters.received);
  });
  fromCounters('statscache_plugin_messages_applied_total', 'Messages a plugin applied', ['plugin'], (set) => {
    for (const [plugin, s] of stats()) set({ plugin }, s.counters.applied);
  });
  fromCounters(
    'statscache_plugin_messages_dropped_total',
    'Messages a plugin skipped, by reason',
    ['plugin', 'reason'],
    (set) => {
      for (const [plugin, s] of stats())
        for (const [reason, n] of Object.entries(s.counters.dropped)) set({ plugin, reason }, n);
    },
  );
  fromCounters(
    'statscache_plugin_apply_seconds_total',
    'Seconds a plugin spent applying messages, on the main thread (nothing else runs meanwhile)',
    ['plugin'],
    (set) => {
      host.runtimes.forEach((r, i) => set({ plugin: r.ident }, host.timing.seconds(i)));
    },
  );
  fromCounters(
    'statscache_plugin_slow_batches_total',
    `Batches a plugin took ${SLOW_BATCH_MS / 1000} s or more to apply, holding every read, push and probe meanwhile`,
    ['plugin'],
    (set) => {
      host.runtimes.forEach((r, i) => set({ plugin: r.ident }, host.timing.slowBatches(i)));
    },
  );
  fromCounters(
    'statscache_plugin_views_refused_total',
    "Calls of a plugin's view refused (view_hung) for parameters it hung on past --plugin-hang-timeout, or a run died computing, in an earlier run",
    ['plugin'],
    (set) => {
      for (const r of plugins()) if (r.plugin.definition.view !== undefined) set({ plugin: r.ident }, r.viewsRefused);
    },
  );
  fromCounters('statscache_plugin_rows_evicted_total', 'Rows removed by retention', ['plugin'], (set) => {
    for (const [plugin, s] of stats()) set({ plugin }, s.counters.evicted);
  });
  fromCounters(
    'statscache_plugin_rows_capped_total',
    'Oldest rows, and entries of oldest windowed-counter slices, removed to keep a plugin within --plugin-max-keys or the key budget (--max-keys-total)',
    ['plugin'],
    (set) => {
      for (const [plugin, s] of stats()) set({ plugin }, s.counters.capEvicted);
    },
  );
  fromCounters(
    'statscache_plugin_entries_expired_total',
    'Entries of expiring stores and windowed counters deleted as message time moved past them',
    ['plugin'],
    (set) => {
      for (const [plugin, s] of stats()) set({ plugin }, s.counters.expired);
    },
  );
  gauge('statscache_plugin_max_keys', 'Keys one plugin container may hold (--plugin-max-keys)', ['plugin'], (set) => {
    for (const r of plugins()) set({ plugin: r.ident }, r.maxKeys);
  });
  gauge('statscache_plugin_rows', 'Rows a plugin holds', ['plugin'], (set) => {
    for (const [plugin, s] of stats()) set({ plugin }, s.rows);
  });
  gauge('statscache_plugin_keys', 'Keys a plugin holds in all its containers (rows and stores)', ['plugin'], (set) => {
    for (const [plugin, s] of stats()) set({ plugin }, s.keys);
  });
  gauge('statscache_keys', 'Keys all plugin containers hold together (with --max-keys-total)', [], (set) => {
    const b = sources.host.keyBudget;
    if (b !== null) set({}, b.total);
  });
  gauge('statscache_max_keys_total', 'Keys all plugin containers may hold together (--max-keys-total)', [], (set) => {
    const b = sources.host.keyBudget;
    if (b !== null) set({}, b.limit);
  });
  gauge(
    'statscache_plugin_key_cap',
    'Keys one plugin container may hold now: --plugin-max-keys, or less while the key budget (--max-keys-total) is full',
    ['plugin'],
    (set) => {
      for (const [plugin, s] of stats()) set({ plugin }, s.keyCap);
    },
  );
  gauge(
    'statscache_plugin_catch_up_missing_records',
    'Journal records a plugin loaded again after runs without it lacks: retention had trimmed them before the start caught it up (absent: none missing)',
    ['plugin'],
    (set) => {
      for (const [plugin, n] of sources.catchUpMissing?.() ?? []) set({ plugin }, n);
    },
  );
  gauge(
    'statscache_plugin_lifecycle',
    'Lifecycle state of each plugin actor: 1 for the state it is in, 0 for the others',
    ['plugin', 'state'],
    (set) => {
      for (const [plugin, s] of stats())
        for (const state of LIFECYCLE_STATES) set({ plugin, state }, s.lifecycle === state ? 1 : 0);
    },
  );
  gauge(
    'statscache_plugin_last_message_timestamp_seconds',
    'Timestamp of the newest message a plugin applied',
    ['plugin'],
    (set) => {
      for (const [plugin, s] of stats())
        if (s.counters.lastMessageAt !== null) set({ plugin }, s.counters.lastMessageAt);
    },
  );

  fromCounters('statscache_bus_frames_total', 'Multipart messages received from the bus', [], (set) =>
    set({}, sources.bus().frames),
  );
  fromCounters('statscache_bus_accepted_total', 'Bus messages decoded and routed', [], (set) =>
    set({}, sources.bus().accepted),
  );
  fromCounters(
    'statscache_intake_total',
    'Other intake events (duplicates, filled timestamps, backfill, journal…), by event',
    ['event'],
    (set) => {
      for (const [event, n] of Object.entries(sources.bus()))
        if (typeof n === 'number' && event !== 'frames' && event !== 'accepted') set({ event: snake(event) }, n);
    },
  );
  fromCounters('statscache_bus_decode_errors_total', 'Bus messages skipped, by reason', ['reason'], (set) => {
    for (const [reason, n] of Object.entries(sources.bus().decodeErrors)) set({ reason }, n);
  });

  if (sources.journalSeq) {
    const seq = sources.journalSeq;
    gauge('statscache_journal_last_seq', 'Sequence number of the newest message accepted into the journal', [], (set) =>
      set({}, seq().accepted),
    );
    // Plugins apply a batch once LMDB has committed it: the difference is what /raw shows and the views do not yet.
    gauge(
      'statscache_journal_applied_seq',
      'Sequence number of the newest journaled message the plugins have applied (statscache_journal_last_seq minus this is the apply lag in messages)',
      [],
      (set) => set({}, seq().applied),
    );
  }

  if (sources.commitDelay) {
    const delay = sources.commitDelay;
    // Plugins apply a message only after its journal batch commits: this is what that costs.
    fromCounters(
      'statscache_apply_delay_seconds_sum',
      'Seconds from accepting messages to applying them (the journal commit), summed',
      [],
      (set) => set({}, delay().totalMs / 1000),
    );
    fromCounters('statscache_apply_delay_seconds_count', 'Messages applied after their journal commit', [], (set) =>
      set({}, delay().count),
    );
    gauge('statscache_apply_delay_max_seconds', 'Longest accept-to-apply delay seen', [], (set) =>
      set({}, delay().maxMs / 1000),
    );
    // Each batch costs the main thread about the same whatever its size: how well intake batches.
    fromCounters(
      'statscache_journal_batches_total',
      'Journal batches committed and applied, one LMDB transaction each (statscache_apply_delay_seconds_count over this is the mean batch size; --bus-linger raises it at a trickle)',
      [],
      (set) => set({}, delay().batches),
    );
  }

  const snapshot = (name: string, help: string, read: (r: SnapshotReport) => number) =>
    gauge(name, help, [], (set) => {
      const last = sources.lastSnapshot();
      if (last !== null) set({}, read(last));
    });
  snapshot('statscache_snapshot_duration_seconds', 'Duration of the last snapshot', (r) => r.durationMs / 1000);
  snapshot('statscache_snapshot_bytes', 'Bytes written by the last snapshot', (r) => r.bytes);
  snapshot('statscache_snapshot_entries_written', 'Entries written by the last snapshot', (r) => r.written);
  snapshot('statscache_snapshot_generation', 'Generation of the last snapshot', (r) => r.generation);

  gauge('statscache_ws_clients', 'Open WebSocket connections', [], (set) => set({}, sources.wsClients()));
  gauge('statscache_ws_subscriptions', 'WebSocket subscribers per plugin', ['plugin'], (set) => {
    for (const r of plugins()) set({ plugin: r.ident }, sources.wsSubscribers(r.ident));
  });
  if (sources.liveViews) {
    const views = sources.liveViews;
    gauge(
      'statscache_ws_views',
      'Live views someone watches, and views lingering unwatched (not refreshed)',
      ['state'],
      (set) => {
        const v = views();
        set({ state: 'watched' }, v.watched);
        set({ state: 'idle' }, v.idle);
      },
    );
    fromCounters(
      'statscache_ws_view_work_total',
      'Live view work: views created, refreshed by a tick (watched ones only), recomputed in full (deep pages, fallbacks), woken from lingering, deferred to the next tick (its time budget spent)',
      ['kind'],
      (set) => {
        const v = views();
        for (const kind of ['created', 'refreshed', 'recomputed', 'woken', 'deferred'] as const) set({ kind }, v[kind]);
      },
    );
    gauge(
      'statscache_ws_history_bytes',
      'Bytes of update frames the live views keep so reconnecting clients can resume (at most --ws-resume-bytes)',
      [],
      (set) => set({}, views().historyBytes ?? 0),
    );
  }
  gauge(
    'statscache_uws_native',
    '1 when uWebSockets.js runs its native binary, 0 on the slow JS fallback',
    [],
    (set) => {
      const native = sources.uwsNative();
      if (native !== null) set({}, native ? 1 : 0);
    },
  );
  if (sources.readiness) {
    const readiness = sources.readiness;
    gauge('statscache_ready', '1 when /readyz answers 200 (ready or degraded)', [], (set) =>
      set({}, readiness().ready ? 1 : 0),
    );
    // statscache_ready is 0 while starting too: only this tells an intake that died from a start.
    gauge(
      'statscache_healthy',
      '1 when /healthz answers 200; 0 once intake has stopped for good (a bus receive loop ended, the bus thread stuck): the process is stopping to exit 1',
      [],
      (set) => set({}, readiness().healthy ? 1 : 0),
    );
    gauge(
      'statscache_degraded',
      '1 when ready but degraded: history slow or down, a gap being filled, a bus endpoint not connected, the disk refusing writes, a plugin quarantined, the key budget full, most messages refused as ahead of the clock, the heap nearly full, intake behind the bus or the plugin hang watch thread failed (/readyz says why)',
      [],
      (set) => set({}, readiness().degraded ? 1 : 0),
    );
    gauge(
      'statscache_gap_unreliable_publishers',
      'Publisher keys (username, category) whose i counter is interleaved and ignored for gap detection',
      [],
      (set) => set({}, readiness().unreliablePublishers),
    );
    gauge(
      'statscache_intake_lag_seconds',
      'How far the newest live message taken in is dated behind the clock while live messages keep coming (0 on a quiet bus); past 120 s /readyz says degraded: intake is behind',
      [],
      (set) => set({}, readiness().intakeLagSeconds),
    );
    gauge('statscache_bus_endpoint_up', '1 when a --connect endpoint is connected', ['endpoint'], (set) => {
      for (const e of readiness().endpoints) set({ endpoint: e.endpoint }, e.up ? 1 : 0);
    });
  }
  if (sources.storage) {
    const storage = sources.storage;
    fromCounters(
      'statscache_journal_corrupt_records_total',
      'Journal records skipped because they failed their checksum (messages lost)',
      [],
      (set) => set({}, storage().journalCorrupt),
    );
    fromCounters(
      'statscache_data_file_quarantined_total',
      'Damaged LMDB data files moved to quarantine at start-up',
      [],
      (set) => set({}, storage().quarantined),
    );
    gauge(
      'statscache_data_file_quarantine_folders',
      'Quarantine folders in the data dir (each a damaged data file moved aside, by serve, journal replay or snapshot import): stays until an operator removes them',
      [],
      (set) => set({}, storage().quarantineFolders),
    );
    gauge(
      'statscache_journal_unwritten_records',
      'Accepted messages whose journal commit failed (a full disk): held in memory for another try, or dropped from that hold and on disk only at the next snapshot. A restart loses them until then',
      ['state'],
      (set) => {
        const { held, dropped } = storage().unwritten;
        set({ state: 'held' }, held);
        set({ state: 'dropped' }, dropped);
      },
    );
    gauge(
      'statscache_disk_write_pending_seconds',
      'How long the oldest journal commit not yet settled (write="journal") and the snapshot write in progress (write="snapshot") have waited on the disk, 0 when none waits; past --disk-hang-timeout /readyz answers 503 (a hung disk returns no error)',
      ['write'],
      (set) => {
        const waiting = storage().writesWaiting;
        set({ write: 'journal' }, (waiting?.journal ?? 0) / 1000);
        set({ write: 'snapshot' }, (waiting?.snapshot ?? 0) / 1000);
      },
    );
    fromCounters(
      'statscache_snapshot_failures_total',
      'Snapshots that failed (the changes are kept for the next one)',
      [],
      (set) => set({}, storage().snapshotFailures),
    );
    const dedupeCounters: readonly (readonly [string, string, Exclude<keyof KnownIdsStats, 'filterBytes'>])[] = [
      [
        'statscache_dedupe_index_reads_total',
        "Reads of the journal's id index to tell a new message from a duplicate (duplicates, filter false positives, and every new id until the filter is built)",
        'indexReads',
      ],
      [
        'statscache_dedupe_filter_skips_total',
        'New message ids the in-memory id filter settled without reading the id index',
        'filterSkips',
      ],
      [
        'statscache_dedupe_filter_builds_total',
        'Id filters filled from the id index (at start-up, then whenever the last outgrew its size)',
        'filterBuilds',
      ],
      [
        'statscache_dedupe_filter_build_failures_total',
        'Id filter builds that could not read the id index (none is tried after one; the filter in use, if any, keeps answering)',
        'filterBuildFailures',
      ],
    ];
    for (const [name, help, stat] of dedupeCounters)
      fromCounters(name, help, [], (set) => set({}, storage().dedupe[stat]));
    gauge('statscache_dedupe_filter_bytes', 'Memory of the id filter in use (0: not built yet)', [], (set) =>
      set({}, storage().dedupe.filterBytes),
    );
  }
  if (sources.httpCache) {
    const cache = sources.httpCache;
    fromCounters('statscache_http_cache_hits_total', 'API answers served from the encoded-body cache', [], (set) =>
      set({}, cache().hits),
    );
    fromCounters('statscache_http_cache_misses_total', 'API answers rendered', [], (set) => set({}, cache().misses));
    fromCounters('statscache_http_gzip_total', 'Bodies compressed (once per cached answer)', [], (set) =>
      set({}, cache().gzipped),
    );
    gauge('statscache_http_cache_bytes', 'Bytes held by the encoded-body cache', [], (set) => set({}, cache().bytes));
    gauge(
      'statscache_http_memo_bytes',
      'Body bytes of the finished /api answers kept for repeated reads (most shared with the encoded-body cache)',
      [],
      (set) => set({}, cache().memoBytes),
    );
  }

  if (sources.limits) {
    const limits = sources.limits;
    fromCounters(
      'statscache_limit_refusals_total',
      'Requests refused or cut short by a fairness limit, by limit',
      ['limit'],
      (set) => {
        for (const [limit, n] of Object.entries(limits())) set({ limit }, n);
      },
    );
  }
  if (sources.heldAnswers) {
    const held = sources.heldAnswers;
    fromCounters(
      'statscache_http_held_answers_total',
      'HTTP answers larger than their connection could take at once, sent as the client read them',
      [],
      (set) => set({}, held().held),
    );
    fromCounters(
      'statscache_http_unread_closes_total',
      'HTTP connections closed with an answer unread: another request sent before reading it (or, after an answer without a body, in the same event-loop turn), nothing read for 10 s, the client went away, or --http-max-held-bytes of answers already held for clients that do not read (or --http-max-held-bytes-per-client for this one)',
      [],
      (set) => set({}, held().closedUnread),
    );
    gauge(
      'statscache_http_held_bytes',
      'Bytes of HTTP answers held for clients reading them slower than they are sent (at most --http-max-held-bytes, besides one answer of any size)',
      [],
      (set) => set({}, held().heldBytes ?? 0),
    );
  }
  if (sources.amqp) {
    const amqp = sources.amqp;
    gauge(
      'statscache_amqp_state',
      'AMQP input state: 1 for the current one of connecting, consuming, blocked, closed',
      ['input', 'state'],
      (set) => {
        for (const a of amqp())
          for (const state of AMQP_STATES) set({ input: a.input, state }, a.state === state ? 1 : 0);
      },
    );
    fromCounters('statscache_amqp_deliveries_total', 'AMQP deliveries received', ['input'], (set) => {
      for (const a of amqp()) set({ input: a.input }, a.deliveries);
    });
    fromCounters(
      'statscache_amqp_acked_total',
      'AMQP deliveries acked (after their journal commit, or refused)',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.acked);
      },
    );
    fromCounters(
      'statscache_amqp_connects_total',
      'AMQP connections established (reconnects included)',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.connects);
      },
    );
    fromCounters(
      'statscache_amqp_duplicates_total',
      'AMQP deliveries already journaled (redeliveries), acked and counted once',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.duplicates);
      },
    );
    fromCounters(
      'statscache_amqp_decode_errors_total',
      'AMQP deliveries acked without being applied, by reason (also in statscache_bus_decode_errors_total)',
      ['input', 'reason'],
      (set) => {
        for (const a of amqp())
          for (const [reason, n] of Object.entries(a.decodeErrors)) set({ input: a.input, reason }, n);
      },
    );
    fromCounters(
      'statscache_amqp_refused_redeliveries_total',
      'AMQP deliveries refused before whose ack was lost, delivered again: acked, not counted again as decode errors',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.refusedRedeliveries);
      },
    );
  }

  // Counted in a plain map per request and handed to prom-client at scrape time: its inc() with
  // labels hashes and validates the label object on every call, a measurable share of a cached read.
  const requestCounts = new Map<string, { route: string; method: string; status: string; n: number }>();
  fromCounters(
    'statscache_http_requests_total',
    'HTTP requests by route pattern, method and status',
    ['route', 'method', 'status'],
    (set) => {
      for (const c of requestCounts.values()) set({ route: c.route, method: c.method, status: c.status }, c.n);
    },
  );
  const cellOf = (route: string, rawMethod: string, status: number) => {
    // Invented methods share `other`, so the map is bounded by routes × methods × statuses.
    const method = METHODS.has(rawMethod) ? rawMethod : 'other';
    const key = `${route} ${method} ${status}`;
    let cell = requestCounts.get(key);
    if (cell === undefined) {
      cell = { route, method, status: String(status), n: 0 };
      requestCounts.set(key, cell);
    }
    return cell;
  };
  const countRequest = (route: string, method: string, status: number) => {
    cellOf(route, method, status).n++;
  };
  const counter = (route: string, method: string, status: number) => {
    const cell = cellOf(route, method, status);
    return () => {
      cell.n++;
    };
  };

  let latest = '';
  const refresh = async () => {
    latest = await registry.metrics();
    return latest;
  };
  // Scrapes over HTTP render at most once per SCRAPE_INTERVAL_MS: a render costs 5-11 ms of the
  // event loop, and 64 clients scraping in a loop held /healthz at ~0.5 s (helper-29). A scrape
  // soon after a render waits for the next one, which every scrape waiting meanwhile shares:
  // each answer is rendered after its request arrived, never an older one.
  const now = sources.now ?? (() => performance.now());
  const sleep = sources.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let renderedAt = Number.NEGATIVE_INFINITY;
  let next: Promise<string> | null = null;
  const scrape = (): Promise<string> => {
    if (next !== null) return next;
    const wait = renderedAt + SCRAPE_INTERVAL_MS - now();
    const render = () => {
      next = null;
      renderedAt = now();
      return refresh();
    };
    next = wait > 0 && wait <= SCRAPE_INTERVAL_MS ? sleep(wait).then(render) : Promise.resolve().then(render);
    return next;
  };
  let started = false;
  return {
    registry,
    contentType: registry.contentType,
    countRequest,
    counter,
    text: () => latest,
    refresh,
    scrape,
    start: () => {
      if (started) return;
      started = true;
      // Event-loop lag and process metrics watch the whole process: only a started service owns them.
      collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
      // Rendered when scraped (the service refreshes before answering GET and HEAD /metrics), not
      // on a timer: a render of every series takes 12-26 ms on this 2-core box, and once a second
      // that stalled every read behind it (the reads bench's p99).
      void refresh();
    },
    stop: () => {},
  };
}

/**
 * Least time between two renders for `/metrics` scrapes: at most ten renders a second, ~10% of
 * a core, however many clients scrape. Prometheus scrapes every 15-60 s and never waits.
 */
export const SCRAPE_INTERVAL_MS = 100;

const AMQP_STATES = ['connecting', 'consuming', 'blocked', 'closed'] as const;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Methods kept as label values; anything else a client invents is `other` (bounded label sets). */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
