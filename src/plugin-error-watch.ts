import { SampleWindow } from './sample-window.js';

/**
 * Whether a plugin throws on most of its messages: each such message is dropped for it
 * (`update_error`) and its views miss it for good. Quarantine (50 errors in a row) catches only
 * a plugin that never succeeds; one that threw on 9 of every 10 messages stayed live, and
 * /healthz, /readyz and statscache_degraded said nothing while 90% of its messages were lost.
 * Read from the plugins' counters when readiness is asked (sample-window.ts), so nothing is
 * added per message; a burst of a few malformed messages is below MIN_ERRORS.
 */

const SAMPLE_SECONDS = 5;
const WINDOW_SECONDS = 60;
/** Update errors in the window below which no conclusion is drawn. */
export const PLUGIN_ERROR_MIN = 20;

export interface PluginErrorCounts {
  readonly ident: string;
  /** Messages the plugin received so far. */
  readonly received: number;
  /** Of those, dropped because its update threw. */
  readonly errors: number;
}

export class PluginErrorWatch {
  private readonly window = new SampleWindow<ReadonlyMap<string, PluginErrorCounts>>(SAMPLE_SECONDS, WINDOW_SECONDS);

  /** The degraded reason: plugins that threw on at least half their messages lately (and PLUGIN_ERROR_MIN times), or null. */
  problem(now: number, counts: readonly PluginErrorCounts[]): string | null {
    const current = new Map(counts.map((c) => [c.ident, c]));
    const base = this.window.baseline(now, current).counts;
    const failing: string[] = [];
    for (const c of counts) {
      const before = base.get(c.ident);
      const errors = c.errors - (before?.errors ?? c.errors);
      const received = c.received - (before?.received ?? c.received);
      if (errors >= PLUGIN_ERROR_MIN && errors * 2 >= received)
        failing.push(`${c.ident} (${errors} of its last ${received} messages)`);
    }
    if (failing.length === 0) return null;
    return `plugin${failing.length > 1 ? 's' : ''} throwing on most of ${failing.length > 1 ? 'their' : 'its'} messages lately (each dropped for the plugin as update_error: its views miss it): ${failing.join(', ')}`;
  }
}
