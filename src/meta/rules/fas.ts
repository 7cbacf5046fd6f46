import { person, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * The account system. Both the actor and the account acted upon are people;
 * FAS has sent each as a bare name and as `{username}` over the years.
 */
export function fas(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const agent = person(msg, 'agent');
  const user = person(msg, 'user');
  const group = person(msg, 'group');
  const action = sub.replace(/\./g, ' ');
  const target = user ?? group;
  return {
    usernames: [agent, user],
    agent,
    link: user !== undefined ? `https://admin.fedoraproject.org/accounts/user/view/${user}` : undefined,
    subtitle: `${agent ?? 'someone'}: ${action}${target !== undefined ? ` (${target})` : ''}${str(msg, 'status') !== undefined ? ` → ${str(msg, 'status')}` : ''}`,
  };
}
