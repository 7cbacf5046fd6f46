import { bool, get, id, isObj, keys, obj, person, str, strs } from '../fields.js';
import { fasFromOpenid } from '../names.js';
import { lookasideUpload } from './scm.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Community apps where a single user acts: Ask Fedora, badges, calendar,
 * elections, nuancier, planet, notifications (FMN), tagger, kerneltest, summershum.
 */

export function askbot(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const agent = person(msg, 'agent');
  const question = id(msg, 'topmost_post_id');
  return {
    usernames: [agent, ...strs(msg, 'newly_mentioned_users')],
    agent,
    link: question !== undefined ? `https://ask.fedoraproject.org/question/${question}/` : undefined,
  };
}

export function badges(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const user = person(msg, 'user') ?? str(msg, 'person', 'nickname');
  const badge = str(msg, 'badge', 'name');
  return {
    usernames: [user],
    agent: user,
    link: user !== undefined ? `https://badges.fedoraproject.org/user/${user}` : undefined,
    subtitle: badge !== undefined && user !== undefined ? `${user} was awarded the badge "${badge}"` : undefined,
  };
}

export function fedocal(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const agent = person(msg, 'agent');
  const meeting = id(msg, 'meeting', 'meeting_id');
  const calendar = str(msg, 'calendar', 'calendar_name');
  const base = 'https://apps.fedoraproject.org/calendar';
  let link: string | undefined;
  if (sub.startsWith('meeting') && meeting !== undefined) link = `${base}/meeting/${meeting}/`;
  else if (calendar !== undefined) link = `${base}/${calendar}/`;
  return { usernames: [agent], agent, link };
}

export function elections(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const agent = person(msg, 'agent') ?? str(msg, 'fas_user');
  const alias = str(msg, 'election', 'alias') ?? str(msg, 'alias');
  return {
    usernames: [agent],
    agent,
    link: alias !== undefined ? `https://admin.fedoraproject.org/voting/about/${alias}` : undefined,
  };
}

export function nuancier(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const agent = person(msg, 'agent');
  const election = id(msg, 'election', 'id');
  return {
    usernames: [agent],
    agent,
    link: election !== undefined ? `https://apps.fedoraproject.org/nuancier/election/${election}` : undefined,
  };
}

export function planet(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const user = str(msg, 'username');
  return { usernames: [user], agent: user, link: str(msg, 'post', 'link') };
}

/** FMN identifies users by their Fedora OpenID. */
export function fmn(ctx: RuleContext): Derived {
  const user = fasFromOpenid(str(ctx.msg, 'openid'));
  return { usernames: [user], agent: user, link: 'https://apps.fedoraproject.org/notifications/' };
}

function taggerUser(user: unknown): string | undefined {
  // Votes may be cast anonymously; "anonymous" is a placeholder, not an account.
  if (bool(user, 'anonymous') === true) return undefined;
  const name = str(user, 'username');
  return name === 'anonymous' ? undefined : name;
}

function taggerPackage(pkg: unknown): string[] {
  if (typeof pkg === 'string') return [pkg];
  // Some releases send {name: …}; others a map from package name to its tags.
  if (isObj(pkg)) return str(pkg, 'name') !== undefined ? [str(pkg, 'name') ?? ''] : keys(pkg);
  return [];
}

export function tagger(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const user =
    taggerUser(get(msg, 'vote', 'user')) ?? taggerUser(get(msg, 'rating', 'user')) ?? taggerUser(get(msg, 'user'));
  const packages = [
    ...taggerPackage(get(msg, 'tag', 'package')),
    ...taggerPackage(get(msg, 'vote', 'tag', 'package')),
    ...taggerPackage(get(msg, 'rating', 'package')),
  ];
  const first = packages[0];
  return {
    usernames: [user],
    packages,
    agent: user,
    link: first !== undefined ? `https://apps.fedoraproject.org/tagger/${first}` : undefined,
  };
}

/** Kernel test results; anonymous uploads name no account. */
export function kerneltest(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const test = obj(msg, 'test');
  const tester = bool(test, 'authenticated') === false ? undefined : (str(test, 'tester') ?? person(msg, 'agent'));
  const version = str(test, 'kernel_version');
  return {
    usernames: [tester],
    packages: ['kernel'],
    agent: tester,
    link: version !== undefined ? `https://apps.fedoraproject.org/kerneltest/kernel/${version}` : undefined,
  };
}

/** Summershum indexes lookaside tarballs; the uploader and package come from the original upload. */
export function summershum(ctx: RuleContext): Derived {
  return lookasideUpload(obj(ctx.msg, 'original'), 'http://pkgs.fedoraproject.org');
}
