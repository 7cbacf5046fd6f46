import { hungSkips } from '../actors/hung-skips.js';
import type { PluginHost } from '../actors/plugin-host.js';
import { APPLYING_FILE, takeApplying, type ViewingMark } from '../snapshots/applying-mark.js';
import {
  CRASHES_BEFORE_SKIP,
  HUNG_MESSAGES_FILE,
  pruneHungMessages,
  readHungMessages,
  recordCrash,
  type StoredHang,
  skipsMessage,
} from '../snapshots/hung-messages.js';
import {
  HUNG_VIEWS_FILE,
  MAX_HUNG_VIEW_AGE_SECONDS,
  pruneHungViews,
  readHungViews,
  recordViewHang,
  type StoredViewHang,
  viewDigestOf,
} from '../snapshots/hung-views.js';
import { shorten } from '../actors/view-cache.js';
import { HEAP_DEGRADED_SHARE } from './heap-check.js';
import type { Logger } from './logger.js';

/** Skips named in the degraded reason; past this, a count. */
const NAMED = 5;

interface Skipped {
  readonly ident: string;
  readonly seq: number;
  readonly msgId: string | null;
  readonly topic: string;
  readonly why: Why;
}

/** Why a message is skipped: a plugin held it past the timeout, or runs died while one applied it. */
type Why = 'hung' | 'crashed';
const whyOf = (r: StoredHang): Why => (r.crashes === undefined ? 'hung' : 'crashed');

/**
 * The start-up side of --plugin-hang-timeout: counts a death the last run left a mark of
 * (snapshots/applying-mark.ts), reads what earlier runs recorded (snapshots/hung-messages.ts),
 * drops what the journal no longer holds, has the host skip the rest for the plugins that hung
 * or died on them, and says so in the log and in /readyz for this run.
 */
export class HungReport {
  private readonly skipped: Skipped[] = [];
  private count = 0;
  /** Views refused this run for parameters they hung on in an earlier one (hung-views.ts). */
  private readonly views: readonly StoredViewHang[];

  /**
   * `appliedThrough(ident)`: the journal seq through which the restored generation holds that
   * plugin's state (appliedThrough in catch-up.ts; 0: none, or unknown).
   */
  constructor(
    host: PluginHost,
    dataDir: string,
    firstRetained: number,
    log: Logger,
    appliedThrough: (ident: string) => number = () => 0,
    nowMs = Date.now(),
  ) {
    // First: a death in a view is refused from this very run on.
    HungReport.countDeath(dataDir, log, appliedThrough);
    this.views = HungReport.hungViews(host, dataDir, log, nowMs);
    const file = readHungMessages(dataDir);
    if (file.problem !== null)
      log.warn({ file: HUNG_MESSAGES_FILE, problem: file.problem }, 'hung-message records ignored');
    const kept = file.records.length > 0 ? pruneHungMessages(dataDir, file.records, firstRetained) : [];
    const records = kept.filter(skipsMessage);
    if (records.length === 0) return;
    log.warn(
      { hung: records.map((r) => ({ plugin: r.ident, seq: r.seq, at: r.at, why: whyOf(r) })) },
      'messages plugins hung on, or runs died on, in earlier runs are skipped for them when the journal replays them',
    );
    const why = new Map<number, Why>();
    for (const r of records) if (why.get(r.seq) !== 'hung') why.set(r.seq, whyOf(r));
    host.skipRecordedHangs(hungSkips(records), (ident, seq, message) => {
      const reason = why.get(seq) ?? 'hung';
      this.count++;
      if (this.skipped.length < NAMED)
        this.skipped.push({ ident, seq, msgId: message.msgId, topic: message.topic, why: reason });
      log.error(
        { plugin: ident, seq, msgId: message.msgId, topic: message.topic, why: reason },
        reason === 'hung'
          ? 'message skipped for this plugin: it hung on it in an earlier run (--plugin-hang-timeout); its state lacks this message'
          : `message skipped for this plugin: ${CRASHES_BEFORE_SKIP} earlier runs died while it applied it; its state lacks this message`,
      );
    });
  }

  /**
   * A mark the last run left (applying-mark.ts): it died while a plugin had held a message past
   * SLOW_APPLY_MS. Counted against that pair; at CRASHES_BEFORE_SKIP the message is skipped. Or
   * it died while a view computed: those parameters are refused to that view (hung-views.ts).
   *
   * Not a death when the restored generation holds that plugin's state past the message: a
   * snapshot is taken between messages, so the run that wrote it saw the plugin finish the
   * message (a run that dies in a message writes none after it began). That is the mark of a
   * run that could not remove it (a stop with the data dir made unwritable: src/service-stop.ts);
   * counted, two such stops had a message that completed skipped for good.
   */
  private static countDeath(dataDir: string, log: Logger, appliedThrough: (ident: string) => number): void {
    const { mark, problem } = takeApplying(dataDir);
    if (problem !== null) log.warn({ file: APPLYING_FILE, problem }, 'mark of the message being applied ignored');
    if (mark === null) return;
    if (mark.kind === 'view') {
      HungReport.viewDeath(dataDir, mark, log);
      return;
    }
    const through = appliedThrough(mark.ident);
    if (mark.seq <= through) {
      log.info(
        { plugin: mark.ident, seq: mark.seq, since: mark.since, appliedThrough: through },
        `${APPLYING_FILE} names journal seq ${mark.seq} of plugin "${mark.ident}", which the restored snapshot holds that plugin's state past: left by a run that went on (a stop that could not remove it), no death counted`,
      );
      return;
    }
    if (mark.heapShare !== undefined && mark.heapShare >= HEAP_DEGRADED_SHARE) {
      // Full before the message began: whichever plugin ran next would have died; not this one's doing.
      log.warn(
        { plugin: mark.ident, seq: mark.seq, since: mark.since, heapShare: mark.heapShare },
        `the last run died while plugin "${mark.ident}" applied journal seq ${mark.seq}, but the heap was already ${Math.round(mark.heapShare * 100)}% full before it: not counted against that plugin; raise NODE_OPTIONS=--max-old-space-size=<MiB> or lower --max-keys-total`,
      );
      return;
    }
    const record = recordCrash(dataDir, { seq: mark.seq, ident: mark.ident, at: new Date().toISOString() });
    if (record.crashes === undefined) return;
    log.warn(
      { plugin: mark.ident, seq: mark.seq, since: mark.since, crashes: record.crashes },
      record.crashes >= CRASHES_BEFORE_SKIP
        ? `the last run died while plugin "${mark.ident}" applied journal seq ${mark.seq}, as ${record.crashes - 1} before it did: that message is skipped for that plugin`
        : `the last run died while plugin "${mark.ident}" applied journal seq ${mark.seq} (out of memory, or killed): if the next run dies on it too, it is skipped for that plugin`,
    );
  }

  private static viewDeath(dataDir: string, mark: ViewingMark, log: Logger): void {
    const fields = { plugin: mark.ident, params: mark.params, since: mark.since, heapShare: mark.heapShare };
    if (mark.heapShare !== undefined && mark.heapShare >= HEAP_DEGRADED_SHARE) {
      // Full before the call began: any work could have been the last straw; not this view's doing.
      log.warn(
        fields,
        `the last run died while the view of plugin "${mark.ident}" computed with parameters ${shorten(mark.params)}, but the heap was already ${Math.round(mark.heapShare * 100)}% full before it: not counted against that view; raise NODE_OPTIONS=--max-old-space-size=<MiB> or lower --max-keys-total`,
      );
      return;
    }
    recordViewHang(dataDir, {
      ident: mark.ident,
      params: mark.params,
      view: mark.view,
      at: new Date().toISOString(),
      timeoutSeconds: 0,
      crashed: true,
    });
    log.warn(
      fields,
      `the last run died while the view of plugin "${mark.ident}" computed with parameters ${shorten(mark.params)} (out of memory, or killed): those parameters are refused to that view (view_hung)`,
    );
  }

  /**
   * The view hangs earlier runs recorded that still hold (hung-views.ts): the host's views refuse
   * those parameters this run. Records of plugins gone, of views changed since, or aged out are
   * dropped from the file and logged.
   */
  private static hungViews(host: PluginHost, dataDir: string, log: Logger, nowMs: number): StoredViewHang[] {
    const file = readHungViews(dataDir);
    if (file.problem !== null) log.warn({ file: HUNG_VIEWS_FILE, problem: file.problem }, 'view hang records ignored');
    if (file.records.length === 0) return [];
    const { kept, dropped } = pruneHungViews(dataDir, file.records, viewDigests(host), nowMs);
    if (dropped.length > 0)
      log.info(
        {
          dropped: dropped.map((d) => ({
            plugin: d.record.ident,
            params: d.record.params,
            at: d.record.at,
            why: d.why,
          })),
        },
        `view hang records dropped (plugin gone, its view changed, or over ${MAX_HUNG_VIEW_AGE_SECONDS} s old): those views are called with those parameters again`,
      );
    if (kept.length === 0) return [];
    host.refuseHungViews(kept);
    log.warn(
      {
        views: kept.map((r) => ({ plugin: r.ident, params: r.params, at: r.at, why: r.crashed ? 'crashed' : 'hung' })),
      },
      "views that hung on these parameters past --plugin-hang-timeout, or a run died on, in earlier runs refuse them (error view_hung) until the plugin's view changes or the record is a week old",
    );
    return kept;
  }

  /** The degraded reason: which plugins skipped which messages, and which views refuse which parameters, this run; or null. */
  problem(): string | null {
    const parts: string[] = [];
    if (this.count > 0) {
      const named = this.skipped.map(
        (s) => `${s.ident} (journal seq ${s.seq}, msg_id ${s.msgId ?? 'none'}, ${s.topic}, ${s.why})`,
      );
      const more = this.count > named.length ? ` and ${this.count - named.length} more` : '';
      parts.push(
        `messages skipped after a plugin hung on them past --plugin-hang-timeout, or ${CRASHES_BEFORE_SKIP} runs died while it applied them, in earlier runs (these plugins' state lacks them): ${named.join(', ')}${more}`,
      );
    }
    if (this.views.length > 0) {
      const named = this.views
        .slice(-NAMED)
        .map((r) => `${r.ident} (parameters ${shorten(r.params)}, ${r.crashed === true ? 'died' : 'hung'} at ${r.at})`);
      const more = this.views.length > named.length ? ` and ${this.views.length - named.length} more` : '';
      parts.push(
        `views refused for parameters they hung on past --plugin-hang-timeout, or a run died on, in earlier runs (view_hung): ${named.join(', ')}${more}`,
      );
    }
    return parts.length > 0 ? parts.join('; ') : null;
  }
}

/** viewDigestOf() of every plugin with a custom view, by ident (hung-views.ts). */
export function viewDigests(host: PluginHost): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of host.runtimes)
    if (r.plugin.definition.view !== undefined) out.set(r.ident, viewDigestOf(r.plugin.definition));
  return out;
}
