/**
 * The failing-view part of /readyz's `degraded` reason (rule: actors/view-failing.ts). Ready all
 * the same: every replica runs the same plugin code, so taking this one out of a load balancer
 * helps nobody, and the other plugins (and this one's other parameters) still answer.
 */

import type { ViewFailingNow } from '../actors/view-failing.js';
import { thrownMessage } from './http/thrown-message.js';

/** Plugins named in the reason; past it, how many more. */
export const VIEW_FAILING_NAMED = 5;
/** UTF-16 units of each plugin's error text in the reason. */
export const VIEW_FAILING_ERROR_CHARS = 120;

/** One line of text of at most `max` units: a plugin's message may be long or span lines. */
function bounded(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}\u2026`;
}

/** The reason naming each plugin whose view is failing now, or null when none is. */
export function viewFailingProblem(
  plugins: readonly { readonly ident: string; readonly viewFailing: ViewFailingNow | null }[],
): string | null {
  const failing = plugins.filter((p) => p.viewFailing !== null);
  if (failing.length === 0) return null;
  const named = failing.slice(0, VIEW_FAILING_NAMED).map(({ ident, viewFailing }) => {
    const { sets, error } = viewFailing as ViewFailingNow;
    const which = sets > 1 ? `${sets} parameter sets, the latest: ` : '';
    return `${ident} (${which}${bounded(thrownMessage(error), VIEW_FAILING_ERROR_CHARS)})`;
  });
  const more = failing.length - named.length;
  return (
    `plugin view${failing.length > 1 ? 's' : ''} failing (500 view_failed to the queries that meet ${failing.length > 1 ? 'them' : 'it'}; other plugins answer): ` +
    named.join(', ') +
    (more > 0 ? ` and ${more} more` : '')
  );
}
