import { id, obj, person, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/** Fedora Hosted (Trac) tickets, wiki pages and their git repositories. */
export function trac(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const agent = person(msg, 'agent');
  const base = str(msg, 'instance', 'base_url');
  if (sub.startsWith('ticket')) {
    const ticket = obj(msg, 'ticket');
    const ticketId = id(ticket, 'id');
    return {
      // The reporter and owner of a ticket are the people it concerns.
      usernames: [agent, str(ticket, 'reporter'), str(ticket, 'owner')],
      agent,
      link: base !== undefined && ticketId !== undefined ? `${base}ticket/${ticketId}` : base,
    };
  }
  if (sub.startsWith('git')) {
    const commit = obj(msg, 'commit');
    const user = str(commit, 'username') ?? str(commit, 'agent') ?? agent;
    const repo = str(commit, 'repo');
    const rev = str(commit, 'rev');
    return {
      usernames: [user],
      agent: user,
      link:
        repo !== undefined && rev !== undefined
          ? `https://git.fedorahosted.org/cgit/${repo}.git/commit/?id=${rev}`
          : undefined,
    };
  }
  const page = str(msg, 'page', 'name');
  return {
    usernames: [agent],
    agent,
    link: base !== undefined && page !== undefined ? `${base}wiki/${page}` : base,
  };
}
