/**
 * The per-plugin metrics (statscache_plugin_*) and the key budget's, read from each runtime's
 * stats and the plugin host at scrape time.
 */
import { SLOW_BATCH_MS } from '../actors/apply-timing.js';
import { LIFECYCLE_STATES } from '../actors/lifecycle.js';
import type { MetricMaker, MetricsSources } from './metrics-sources.js';

/** Registers the plugin metrics. */
export function pluginMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  const { host } = sources;
  const plugins = () => host.runtimes;
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
  fromCounters(
    'statscache_plugin_view_failures_total',
    "Calls of a plugin's custom view or its viewIsRows that failed (threw, gave too many rows, or a promise): each failed its query, 500 view_failed over HTTP, view_failed for a live view; once per state and parameters",
    ['plugin'],
    (set) => {
      for (const r of plugins()) if (r.plugin.definition.view !== undefined) set({ plugin: r.ident }, r.viewFailures);
    },
  );
  gauge(
    'statscache_plugin_view_failing',
    "1 while a plugin's view is failing by /readyz's rule (a parameter set whose latest answer was 500 view_failed, not yet answered since, nor forgotten after the state moved; names it in /readyz degraded), else 0",
    ['plugin'],
    (set) => {
      for (const r of plugins())
        if (r.plugin.definition.view !== undefined) set({ plugin: r.ident }, r.viewFailing === null ? 0 : 1);
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
}
