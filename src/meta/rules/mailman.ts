import { str } from '../fields.js';
import { fasFromEmail } from '../names.js';
import { bracketed, withoutBrackets } from '../text.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Mailing lists (Mailman 3 / HyperKitty). The sender is an address; only Fedora
 * addresses name an account without a directory lookup.
 */
const ARCHIVES = 'https://lists.fedoraproject.org/archives';

export function mailman(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const from = str(msg, 'msg', 'from');
  const address = (from === undefined ? undefined : bracketed(from)) ?? from;
  const user = fasFromEmail(address);
  // HyperKitty sometimes sends the archive path without its host.
  const archivedRaw = str(msg, 'msg', 'archived-at')?.replace(/^<|>$/g, '');
  const archived = archivedRaw?.startsWith('/') === true ? `${ARCHIVES}${archivedRaw}` : archivedRaw;
  const list = str(msg, 'mlist', 'list_name');
  const subject = str(msg, 'msg', 'subject');
  return {
    usernames: [user],
    agent: user,
    link: archived,
    subtitle: `${from === undefined ? 'someone' : withoutBrackets(from).replace(/"/g, '')} wrote${subject !== undefined ? ` "${subject}"` : ''}${list !== undefined ? ` to the ${list} list` : ''}`,
  };
}
