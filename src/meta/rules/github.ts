import { get, isObj, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * GitHub, relayed by github2fedmsg. GitHub logins are not Fedora accounts; the
 * bridge attaches `fas_usernames` (login → account) for the people it could map,
 * and only those are reported.
 */
const ORG_PREFIX = 'github_org_';

export function github(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const map = get(msg, 'fas_usernames');
  // The bridge maps organisations to "github_org_<name>" pseudo-accounts; those are not people.
  const accounts = isObj(map)
    ? Object.values(map).map((v) => (typeof v === 'string' && !v.startsWith(ORG_PREFIX) ? v : undefined))
    : [];
  const sender = str(msg, 'sender', 'login');
  const senderAccount = sender !== undefined && isObj(map) ? str(map, sender) : undefined;
  const link =
    str(msg, 'comment', 'html_url') ??
    str(msg, 'review', 'html_url') ??
    str(msg, 'release', 'html_url') ??
    str(msg, 'issue', 'html_url') ??
    str(msg, 'pull_request', 'html_url') ??
    str(msg, 'compare') ??
    str(msg, 'repository', 'html_url');
  return { usernames: accounts, agent: senderAccount, link };
}
