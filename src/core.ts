import { keyBudgetRecordOf } from '../actors/key-budget.js';
import type { PluginHost } from '../actors/plugin-host.js';
import type { PluginErrorHandler, RuntimeOptions } from '../actors/plugin-runtime.js';
import { Journal, type JournalEntry } from '../snapshots/journal.js';
import type { DataStore } from '../snapshots/lmdb-store.js';
import { type PrereadSlot, restore, type RestoreReport } from '../snapshots/restore.js';
import { Snapshotter, type SnapshotterOptions } from '../snapshots/snapshotter.js';
import type { Config } from './config.js';
import { type DecodeErrorReason, frameLimits } from './decode-frames.js';
import { configBudget } from './bus-budget.js';
import { Intake } from './intake.js';
import type { MetaDeriver } from './message.js';
import { deriveMeta } from './meta/index.js';
import { buildPluginHost } from './plugin-host-builder.js';
import { subscribedTopics } from './subscribed-topics.js';
import { createRouter } from './router.js';

/** What the core tells its owner about; each has a default of silence, so tools pass only what they report. */
export interface CoreEvents {
  readonly pluginError?: PluginErrorHandler;
  readonly lifecycle?: RuntimeOptions['onLifecycle'];
  readonly journalWriteError?: (err: unknown) => void;
  /** Records held after failed journal commits were all written: `records` of them in the last batch. */
  readonly journalWriteRecovered?: (records: number, dropped: number) => void;
  readonly decodeFailure?: (reason: DecodeErrorReason, detail: string) => void;
  readonly replayRejected?: (entry: JournalEntry, detail: string) => void;
  readonly applyError?: (entry: JournalEntry, err: unknown) => void;
}

export interface CoreOptions {
  readonly config: Config;
  readonly store: DataStore;
  /** Plugin definitions, built-in and external (plugin-loader.ts pluginsForConfig). */
  readonly plugins: readonly unknown[];
  /** Wall clock in milliseconds: judges timestamps and stamps snapshots. */
  readonly now: () => number;
  /** Default: meta bounded by `maxFanout`, truncations counted in the intake counters. */
  readonly deriveMeta?: MetaDeriver | undefined;
  /**
   * Restore the newest readable snapshot (default). `journal replay` starts empty instead and
   * gives the generation its snapshots continue from, and the plugin records to keep (those of
   * plugins loaded now are left out).
   */
  readonly restore?: boolean | { readonly base: RestoreReport };
  /** The newest slot's entries, read by the start-up check (check-and-read.ts); restore reads them there. */
  readonly preread?: PrereadSlot | null;
  readonly snapshotChunk?: Pick<SnapshotterOptions, 'chunkEntries' | 'chunkMs' | 'onYield'> | undefined;
  readonly events?: CoreEvents;
}

/** Plugins, their restored state, the journal, the intake and the snapshotter, wired together once. */
export interface Core {
  readonly host: PluginHost;
  readonly restored: RestoreReport;
  readonly journal: Journal;
  readonly intake: Intake;
  readonly snapshotter: Snapshotter;
  readonly meta: MetaDeriver;
  /**
   * The same meta for reads (/raw's filters and meta): bounded by `maxFanout` but counting
   * nothing. Reads derived through `meta` counted each cut again in `fanout_truncated`, once
   * per /raw page that looked at the message, as if it had been taken in again.
   */
  readonly readMeta: MetaDeriver;
  /** Rows restored with timestamps ahead of the clock (written before the clock bound existed), dropped. */
  readonly futureRowsDropped: Readonly<Record<string, number>>;
  /** Restored entries past a retention or key cap lowered since they were written, evicted at start, per plugin. */
  readonly boundsEvicted: Readonly<Record<string, number>>;
}

const EMPTY: RestoreReport = { meta: null, restored: {}, migrated: [], retained: {}, fallbacks: [] };

/**
 * The composition root of statscache's core: `serve` (Service), `journal replay` and the
 * bench assemble the same parts here, in the one order that is correct: plugins, then their
 * restored state, then the journal (whose commits apply messages), the intake, and the
 * snapshotter, which must track changes before rows dated ahead of the clock are dropped so
 * the next snapshot drops them on disk too.
 */
export function assembleCore(options: CoreOptions): Core {
  const { config, store, events = {} } = options;
  const nowSeconds = () => options.now() / 1000;
  const host = buildPluginHost(config, options.plugins, events.pluginError ?? (() => {}), events.lifecycle);
  // Restore and replay write every key once or more and nobody reads a digest meanwhile: each is
  // hashed once, from the entries, when recovery settles it (or at its first read).
  host.deferDigests();
  const restored =
    options.restore === undefined || options.restore === true
      ? restore(host.runtimes, store, options.preread ?? null)
      : options.restore === false
        ? EMPTY
        : notLoaded(options.restore.base, host);
  // The key budget's checks go on where they were (`journal replay` rebuilds from empty: a fresh budget).
  if (options.restore === undefined || options.restore === true) {
    if (restored.meta === null) host.restoredNothing();
    else host.restoreKeyBudget(keyBudgetRecordOf(restored.meta.keyBudget));
  }
  let intake: Intake | null = null;
  const meta =
    options.deriveMeta ??
    ((envelope) =>
      deriveMeta(envelope, {
        maxFanout: config.maxFanout,
        onTruncated: () => {
          if (intake) intake.counters.fanoutTruncated++;
        },
      }));
  // The clock when the restored state was written (plus one snapshot interval: the journal after
  // it, replayed after a crash, is at most that much younger). A clock stepped back since (NTP, a
  // VM restored) must not refuse what was within bounds when it was accepted.
  const clockThen = restored.meta ? restored.meta.takenAt / 1000 + config.snapshotInterval : 0;
  const clockFloor = () => Math.max(nowSeconds(), clockThen);
  const journal = new Journal(store, {
    dedupeWindow: config.dedupeWindow,
    maxHeldBytes: config.journalMaxHeldBytes,
    onWriteError: (err) => {
      if (intake) intake.counters.journalWriteErrors++;
      events.journalWriteError?.(err);
    },
    ...(events.journalWriteRecovered ? { onWriteRecovered: events.journalWriteRecovered } : {}),
    now: options.now,
    // Plugins apply only what the journal has committed: nothing served can be lost to a crash.
    onCommitted: (entries) => intake?.committed(entries),
  });
  const budget = configBudget(config);
  intake = new Intake(
    {
      host,
      route: createRouter(host.runtimes.map((r) => r.plugin)),
      journal,
      deriveMeta: meta,
      // The built-in plugins are checked never to change a message (test/plugins/contract.test.ts),
      // so the ~3 µs a body costs to freeze is paid only for plugins that are not.
      freezeMessages: config.plugins.length > 0,
      limits: frameLimits(config, nowSeconds),
      onDecodeFailure: events.decodeFailure ?? (() => {}),
      replayClockFloor: clockThen,
      ...(events.replayRejected ? { onReplayRejected: events.replayRejected } : {}),
      ...(events.applyError ? { onApplyError: events.applyError } : {}),
      ...(budget ? { maxUncommittedBytes: budget.uncommittedBytes } : {}),
      subscribed: subscribedTopics(config),
    },
    // A watermark restored from before the clock bound existed must not stay ahead of the clock.
    Math.min(restored.meta?.newestTimestamp ?? 0, clockFloor() + config.maxClockSkew),
    restored.meta?.publishers ?? {},
    restored.meta?.journalSeq ?? 0,
  );
  const live = intake;
  const snapshotter = new Snapshotter(
    host.runtimes,
    store,
    { slots: config.snapshotGenerations, now: options.now, position: () => live.position(), ...options.snapshotChunk },
    restored,
  );
  const futureRowsDropped = dropFutureRows(host, clockFloor() + config.maxClockSkew);
  const boundsEvicted = evictPastBounds(host);
  const readMeta =
    options.deriveMeta ??
    ((envelope: Parameters<MetaDeriver>[0]) => deriveMeta(envelope, { maxFanout: config.maxFanout }));
  return { host, restored, journal, intake: live, snapshotter, meta, readMeta, futureRowsDropped, boundsEvicted };
}

/** A given base whose retained plugins are only those not loaded now (the loaded ones start empty). */
function notLoaded(base: RestoreReport, host: PluginHost): RestoreReport {
  const loaded = new Set(host.runtimes.map((r) => r.ident));
  const retained = Object.fromEntries(Object.entries(base.retained).filter(([ident]) => !loaded.has(ident)));
  return { ...base, retained };
}

/**
 * Evicts restored rows (and windowed counters' slices) that a retention or --plugin-max-keys
 * lowered since they were written no longer keeps, per plugin.
 */
function evictPastBounds(host: PluginHost): Record<string, number> {
  const evicted: Record<string, number> = {};
  for (const r of host.runtimes) {
    const n = r.enforceRetention() + r.enforceKeyCap();
    if (n > 0) evicted[r.ident] = n;
  }
  return evicted;
}

/**
 * Drops restored rows dated past `cutoff` (the clock when they were written, or now if later,
 * plus the skew): an older version let one message date ahead wipe history.
 */
function dropFutureRows(host: PluginHost, cutoff: number): Record<string, number> {
  const dropped: Record<string, number> = {};
  for (const r of host.runtimes) {
    // Rows are stamped with the end of their bucket, which may lie one interval past the message.
    const n = r.dropRowsAfter(cutoff + (r.plugin.intervalSeconds ?? 0));
    if (n > 0) dropped[r.ident] = n;
  }
  return dropped;
}
