/**
 * Log lines for plugin views failing, whichever way the failure was met: an HTTP answer, a
 * WebSocket subscription or SSE stream whose new view failed to compute or that joined a live
 * view failing already, or a live view's recompute (its subscribers told `view_failed`). A failing view answers `view_failed` to every
 * query that meets it (the failure is remembered per state and parameters, so it is counted once
 * in statscache_plugin_view_failures_total, but each query is answered from it), and the
 * client sees only the message: the operator needs the stack, without a line per request a
 * poller could turn into a flood. Per plugin, all transports together (one instance serves
 * them all: service-parts.ts): the first failure is logged with its stack, then at most one line
 * every `everySeconds` while it keeps failing, carrying how many answers failed since the last
 * line. A WebSocket subscription or SSE stream refused this way was logged nowhere before.
 *
 * A live view's failure beginning (`live`: which view, and the seq of the rows its subscribers
 * keep) is always a line, throttle or not, and the plugin's period starts again from it: it is
 * once per failure episode of that view, and its end is logged too (hub-views.ts), so a start
 * throttled away left an end with no beginning. It was a second line of its own beside this one,
 * with the same stack.
 */

import { errorText } from '../logger.js';

/** Where a failure was met: the log line's `via` field. */
export type ViewFailureVia = 'http' | 'websocket' | 'sse' | 'live_view';

/** The live view whose failure began: its key (the line's `view`) and the seq its subscribers' rows are as of. */
export interface FailedLiveView {
  readonly view: string;
  readonly seq: number;
}

export type ViewFailureLog = (ident: string, err: unknown, via: ViewFailureVia, live?: FailedLiveView) => void;

/** Where a failure was met, and what the client got, as the line says it. */
const MET: Readonly<Record<ViewFailureVia, string>> = {
  http: 'over HTTP (500 view_failed)',
  websocket: 'opening a WebSocket subscription (view_failed error frame)',
  sse: 'opening an SSE stream (500 view_failed)',
  live_view: 'recomputing a live view (view_failed to its subscribers, which keep its last rows)',
};

/** Where a line goes: a logger's `warn` (fields, message). */
export type WarnLine = (fields: Readonly<Record<string, unknown>>, msg: string) => void;

export const VIEW_FAILURE_LOG_EVERY_SECONDS = 60;

export function viewFailureLog(
  warn: WarnLine,
  nowSeconds: () => number,
  everySeconds = VIEW_FAILURE_LOG_EVERY_SECONDS,
): ViewFailureLog {
  // Per plugin: when its last line was written, and failed answers since. Plugins are fixed at
  // start-up, so this holds at most one entry per plugin.
  const last = new Map<string, { at: number; since: number }>();
  return (ident, err, via, live) => {
    const now = nowSeconds();
    const seen = last.get(ident);
    if (live === undefined && seen !== undefined && now - seen.at < everySeconds) {
      seen.since++;
      return;
    }
    const before = seen?.since ?? 0;
    last.set(ident, { at: now, since: 0 });
    const said =
      seen === undefined
        ? `the view of ${ident} failed ${MET[via]}; further failures (HTTP, WebSocket, SSE) logged at most every ${everySeconds} s`
        : `the view of ${ident} failed ${MET[via]} again; ${before} failed answers since the last line`;
    warn(
      {
        plugin: ident,
        via,
        ...(live === undefined ? {} : { view: live.view, seq: live.seq }),
        err: errorText(err),
        failed_answers_since_last_line: before,
      },
      live === undefined ? said : `${said}; this live view is logged again when it computes or is retired`,
    );
  };
}
