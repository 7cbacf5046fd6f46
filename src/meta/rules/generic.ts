import { person, str, strs } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Fallback for services without a dedicated rule set: the field names most fedmsg
 * publishers use for the acting user and the package concerned.
 */

const PERSON_FIELDS = ['agent', 'user', 'username', 'owner', 'submitter', 'author'] as const;

export function generic(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const usernames = PERSON_FIELDS.map((f) => person(msg, f));
  const packages = [str(msg, 'package'), person(msg, 'package'), ...strs(msg, 'packages')];
  const link = str(msg, 'link') ?? str(msg, 'url');
  return {
    usernames,
    packages,
    agent: person(msg, 'agent') ?? person(msg, 'user') ?? person(msg, 'username'),
    link: link !== undefined && /^https?:\/\//.test(link) ? link : undefined,
  };
}
