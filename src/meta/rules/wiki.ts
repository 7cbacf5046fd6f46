import { str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * The Fedora wiki (MediaWiki). It reports the display form of the user name
 * ("Ralph"); account names are the lower-cased form.
 */
export function wiki(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const display = str(msg, 'user') ?? str(msg, 'user_text');
  const user = display?.toLowerCase();
  if (sub.startsWith('upload')) {
    const file = str(msg, 'title', 'mPrefixedText') ?? str(msg, 'title');
    const desc = str(msg, 'description');
    return {
      usernames: [user],
      agent: user,
      subtitle: `${display ?? 'someone'} uploaded ${file ?? 'a file'} to the wiki${desc !== undefined ? `: "${desc}..."` : ''}`,
    };
  }
  const url = str(msg, 'url');
  return {
    usernames: [user],
    agent: user,
    link: url?.replace(/^http:/, 'https:'),
    subtitle: `${display ?? 'someone'} made a wiki edit to "${str(msg, 'title') ?? ''}"`,
  };
}
