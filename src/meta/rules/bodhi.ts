import { arr, get, obj, person, str, strs } from '../fields.js';
import { mentions, nvrName, nvrNames } from '../names.js';
import { cutText } from '../text.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Bodhi. People: whoever acted (agent), the update's submitter, a commenter and
 * anyone they @-mention, an override's submitter. Packages come from the build
 * N-V-Rs, falling back to the update title, which lists the same N-V-Rs.
 */

const BASE = 'https://bodhi.fedoraproject.org';

function updatePackages(update: unknown): string[] {
  const builds = arr(update, 'builds');
  const out: string[] = [];
  for (const build of builds) {
    // Bodhi 1 nested the package object; Bodhi 2+ only sends the N-V-R.
    const name = str(build, 'package', 'name') ?? nvrName(str(build, 'nvr'));
    if (name !== undefined) out.push(name);
  }
  return out.length > 0 ? out : nvrNames(str(update, 'title'));
}

function updateSubmitter(update: unknown): string | undefined {
  // Bodhi 1 sent the submitter as a bare name, some Bodhi 2 topics as a {name} object.
  return person(update, 'submitter') ?? person(update, 'user');
}

function updateLink(update: unknown): string | undefined {
  const key = str(update, 'alias') ?? str(update, 'title');
  return key !== undefined ? `${BASE}/updates/${key}` : undefined;
}

function shortTitle(update: unknown): string {
  const title = str(update, 'title') ?? 'an update';
  if (title.length <= 40) return title;
  // Not between the two halves of a surrogate pair (an emoji): half of one has no UTF-8 form.
  return `${cutText(title, 40)}...`;
}

function comment(ctx: RuleContext): Derived {
  const c = obj(ctx.msg, 'comment');
  const author = str(c, 'author') ?? person(c, 'user');
  const update = obj(c, 'update');
  const title = str(c, 'update_title') ?? str(update, 'title');
  const key = str(update, 'alias') ?? title;
  const karma = get(c, 'karma');
  return {
    usernames: [author, ...mentions(str(c, 'text'))],
    packages: update !== undefined ? updatePackages(update) : nvrNames(title),
    agent: author,
    link: key !== undefined ? `${BASE}/updates/${key}` : undefined,
    subtitle: `${author ?? 'someone'} commented on bodhi update ${title ?? ''} (karma: ${typeof karma === 'number' ? karma : 0})`,
  };
}

function override(ctx: RuleContext): Derived {
  const o = obj(ctx.msg, 'override');
  const nvr = str(o, 'build', 'nvr') ?? str(o, 'build') ?? str(o, 'nvr');
  const submitter = person(o, 'submitter');
  const untag = ctx.sub.endsWith('untag');
  return {
    usernames: [submitter],
    packages: [nvrName(nvr)],
    agent: submitter,
    link: nvr !== undefined ? `${BASE}/overrides/${nvr}` : BASE,
    subtitle: `${submitter ?? 'someone'} ${untag ? 'expired' : 'submitted'} a buildroot override for ${nvr ?? 'a build'}`,
  };
}

function masher(ctx: RuleContext, agent: string | undefined): Derived {
  const updates = strs(ctx.msg, 'updates');
  const repo = str(ctx.msg, 'repo');
  let subtitle: string;
  if (ctx.sub === 'masher.start') {
    subtitle = `${agent ?? 'someone'} requested a mash of ${updates.length > 0 ? `${updates.length} updates` : 'some updates'}`;
  } else if (ctx.sub.endsWith('complete')) {
    const ok = get(ctx.msg, 'success') === true;
    subtitle = `bodhi ${ok ? 'successfully mashed' : 'failed to mash'} ${repo ?? 'a repo'}`;
  } else {
    subtitle = `bodhi ${ctx.sub.replace(/\./g, ' ')}${repo !== undefined ? ` ${repo}` : ''}`;
  }
  // Composer topics list N-V-Rs being pushed; they are not what the message is about.
  return {
    usernames: [agent],
    // Read only where kept: the N-V-R lists are long and their names were made for every composer topic.
    packages: ctx.sub === 'masher.start' ? updates.flatMap((u) => nvrNames(u)) : [],
    agent,
    link: ctx.sub === 'masher.start' || ctx.sub === 'compose.complete' ? BASE : undefined,
    subtitle,
  };
}

export function bodhi(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const agent = str(msg, 'agent');

  if (sub.startsWith('update.comment')) return comment(ctx);
  if (sub.startsWith('buildroot_override')) return override(ctx);
  if (sub.startsWith('masher') || sub.startsWith('mashtask') || sub.startsWith('compose')) return masher(ctx, agent);

  if (sub.startsWith('stack')) {
    const stack = obj(msg, 'stack');
    const name = str(stack, 'name');
    return {
      usernames: [agent],
      packages: arr(stack, 'packages').map((p) => str(p, 'name')),
      agent,
      link: name !== undefined ? `${BASE}/stacks/${name}` : BASE,
      subtitle: `${agent ?? 'someone'} ${sub.split('.')[1] ?? 'changed'} the "${name ?? ''}" stack`,
    };
  }

  if (sub.startsWith('updates.') && sub.endsWith('.sync')) {
    // Mirror sync reports: repository-level, nobody acted.
    const release = str(msg, 'release');
    const repo = str(msg, 'repo');
    const testing = repo?.includes('testing') === true ? 'testing/' : '';
    const bytes = str(msg, 'bytes');
    const deleted = str(msg, 'deleted');
    return {
      link: release !== undefined ? `https://download.fedoraproject.org/pub/epel/${testing}${release}/` : undefined,
      subtitle: `New EPEL ${release ?? ''} ${repo ?? ''} content synced out${bytes !== undefined ? ` (${bytes} changed${deleted !== undefined ? ` with ${deleted} files deleted` : ''})` : ''}`,
    };
  }

  const update = obj(msg, 'update');
  if (update !== undefined) {
    const submitter = updateSubmitter(update);
    const title = shortTitle(update);
    let subtitle: string | undefined;
    if (sub.startsWith('update.request.')) {
      const req = sub.slice('update.request.'.length);
      subtitle =
        req === 'revoke'
          ? `${agent ?? submitter ?? 'someone'} revoked ${title}`
          : `${agent ?? submitter ?? 'someone'} submitted ${title} to ${req}`;
    } else if (sub.startsWith('update.complete.')) {
      subtitle = `${submitter ?? 'someone'}'s ${title} bodhi update completed push to ${sub.slice('update.complete.'.length)}`;
    } else if (sub === 'update.edit') {
      subtitle = `${agent ?? submitter ?? 'someone'} edited ${title}`;
    } else if (sub === 'errata.publish') {
      subtitle = str(msg, 'subject');
    } else if (sub.startsWith('update.karma.threshold')) {
      subtitle = `${title} reached the ${str(msg, 'status') ?? 'stable'} karma threshold`;
    }
    return {
      usernames: [agent, submitter],
      packages: updatePackages(update),
      agent: agent ?? submitter,
      link: updateLink(update),
      subtitle,
    };
  }

  return { usernames: [agent], agent };
}
