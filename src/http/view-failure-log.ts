/**
 * Log lines for plugin views failing over HTTP. A failing view answers `500 view_failed` to every
 * request that meets it (the failure is remembered per state and parameters, so it is counted once
 * in statscache_plugin_view_failures_total, but each request is answered from it), and the
 * client sees only the message: the operator needs the stack, without a line per request a
 * poller could turn into a flood. Per plugin: the first failure is logged with its stack, then at
 * most one line every `everySeconds` while it keeps failing, carrying how many answers failed
 * since the last line.
 */

import { errorText } from '../logger.js';

export type ViewFailureLog = (ident: string, err: unknown) => void;

/** Where the lines go: a logger's `warn` (fields, message). */
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
  return (ident, err) => {
    const now = nowSeconds();
    const seen = last.get(ident);
    if (seen !== undefined && now - seen.at < everySeconds) {
      seen.since++;
      return;
    }
    const before = seen?.since ?? 0;
    last.set(ident, { at: now, since: 0 });
    warn(
      { plugin: ident, err: errorText(err), failed_answers_since_last_line: before },
      seen === undefined
        ? `the view of ${ident} failed over HTTP (500 view_failed); further failures logged at most every ${everySeconds} s`
        : `the view of ${ident} failed over HTTP again; ${before} failed answers since the last line`,
    );
  };
}
