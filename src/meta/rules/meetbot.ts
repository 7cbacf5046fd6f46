import { keys, person, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Meetbot (zodbot) meetings and IRC karma. IRC nicks are used as account names:
 * Fedora asks contributors to match them, and resolving the exceptions would need
 * an account-system lookup, which a pure function cannot do.
 */

const BOTS = new Set(['zodbot']);

export function meetbot(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const attendees = keys(msg, 'attendees').filter((nick) => !BOTS.has(nick));
  const owner = str(msg, 'owner');
  const url = str(msg, 'url');
  const topic = str(msg, 'meeting_topic');
  const channel = str(msg, 'channel');
  let link: string | undefined;
  if (sub === 'meeting.complete' && url !== undefined) link = `${url.replace(/^http:/, 'https:')}.html`;
  else if (sub === 'meeting.item.link') link = str(msg, 'details', 'line')?.split(/\s+/)[0];
  const what = sub.replace(/^meeting\./, '').replace(/\./g, ' ');
  return {
    usernames: attendees.length > 0 ? attendees : [owner],
    agent: str(msg, 'details', 'nick') ?? owner,
    link: link !== undefined && /^https?:\/\//.test(link) ? link : undefined,
    subtitle: `${owner ?? 'someone'}: meeting ${what}${topic !== undefined ? ` "${topic}"` : ''}${channel !== undefined ? ` in ${channel}` : ''}`,
  };
}

/** "nick++" in a channel: the voter and the recipient are both involved. */
export function irc(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const agent = person(msg, 'agent');
  const recipient = person(msg, 'recipient');
  return {
    usernames: [agent, recipient],
    agent,
    link: recipient !== undefined ? `https://badges.fedoraproject.org/user/${recipient}` : undefined,
    subtitle: recipient !== undefined ? `${agent ?? 'someone'} gave ${recipient} karma` : undefined,
  };
}
