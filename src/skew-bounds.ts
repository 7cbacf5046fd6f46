import { StatscacheError } from '../actors/errors.js';
import type { RegisteredPlugin } from '../actors/registry.js';

/**
 * Start-up checks of the plugins against --max-clock-skew. Everything a plugin keeps by message
 * time (rows for a retention, counts over a window, entries of an expiring store) is measured
 * back from the newest message it saw, and one message may be dated as far ahead as the skew.
 * Where that reaches past what is kept, one such message throws away the whole present and then
 * every message of the present until the clock catches up, with /readyz plain. A configuration
 * that allows it cannot work, so it is refused at start (SC_CONFIG_INVALID, exit 2), naming each
 * plugin, what it keeps and the setting to change; every problem is named at once.
 */
export function checkAgainstSkew(plugins: readonly RegisteredPlugin[], maxClockSkew: number): void {
  const problems = [retentionProblem(plugins, maxClockSkew), windowProblem(plugins, maxClockSkew)].filter(
    (p): p is string => p !== null,
  );
  if (problems.length > 0) throw new StatscacheError('SC_CONFIG_INVALID', problems.join('; '));
}

/**
 * Rows are kept for `retention` behind the newest row, stamped up to one interval after their
 * message. A retention no longer than the skew plus that let one message evict every row and
 * have every message of the present dropped as expired (volume-1s kept 2 m: 60 rows became 1,
 * and the next 10 messages were dropped).
 */
function retentionProblem(plugins: readonly RegisteredPlugin[], maxClockSkew: number): string | null {
  const short = plugins.filter(
    (p) => p.retentionSeconds !== null && p.retentionSeconds <= maxClockSkew + (p.intervalSeconds ?? 0),
  );
  if (short.length === 0) return null;
  return (
    `retention of ${short.map((p) => `${p.ident} (${p.retentionSeconds} s)`).join(', ')} is not longer than --max-clock-skew ` +
    `(${maxClockSkew} s) plus the plugin's interval: one message dated that far ahead would evict every row and have every ` +
    'message of the present dropped as expired. Raise that retention (setting "retention") or lower --max-clock-skew'
  );
}

/**
 * A windowed counter ends at the slice of the newest message and keeps `slices` slices; a
 * message of the present is counted while its slice is among them, which holds after one dated
 * the skew ahead only if the skew is at most the window less one slice (its slice may start a
 * whole slice later than the skew alone). An expiring store keeps an entry `expireAfter` behind
 * the newest message, so the skew may be at most that. With --max-clock-skew 7200, one message
 * dated 2 h ahead took top-users' hour from 60 users to 1, and the next 10 messages of the
 * present were applied and counted nowhere.
 */
function windowProblem(plugins: readonly RegisteredPlugin[], maxClockSkew: number): string | null {
  const found: string[] = [];
  let allowed = Number.POSITIVE_INFINITY;
  for (const p of plugins) {
    for (const [name, plan] of Object.entries(p.storePlans)) {
      if (plan.kind === 'windowedCounter') {
        const step = plan.span / plan.slices;
        if (maxClockSkew <= plan.span - step) continue;
        found.push(`window "${name}" of ${p.ident} (${plan.span} s in ${step} s slices)`);
        allowed = Math.min(allowed, plan.span - step);
      } else if (plan.expireAfter !== null && maxClockSkew > plan.expireAfter) {
        found.push(`store "${name}" of ${p.ident} (expireAfter ${plan.expireAfter} s)`);
        allowed = Math.min(allowed, plan.expireAfter);
      }
    }
  }
  if (found.length === 0) return null;
  return (
    `${found.join(', ')} cannot hold --max-clock-skew (${maxClockSkew} s): a window must be at least the skew plus one ` +
    'slice, an expiring store at least the skew, or one message dated that far ahead would move it past every count of ' +
    'the present, and every message of the present would go uncounted until the clock caught up. Lower --max-clock-skew ' +
    `to at most ${allowed} s`
  );
}
