import { obj, str, strs } from '../fields.js';
import { fasFromEmail } from '../names.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Dist-git ("git" category: pushes, lookaside uploads, branching runs). The repo
 * is the package; the pusher is the commit's username, or the agent for tooling runs.
 */

const DIST_GIT = 'https://src.fedoraproject.org';

function receive(ctx: RuleContext): Derived {
  const commit = obj(ctx.msg, 'commit');
  // Old publishers put the repo and branch in the topic: git.receive.<repo>.<branch>.
  const [, topicRepo] = ctx.sub.split('.');
  const repo = str(commit, 'repo') ?? topicRepo;
  const user = str(commit, 'username') ?? str(commit, 'agent') ?? fasFromEmail(str(commit, 'email'));
  const ns = str(commit, 'namespace') ?? 'rpms';
  const rev = str(commit, 'rev');
  const branch = str(commit, 'branch');
  const summary = str(commit, 'summary');
  const message = str(commit, 'message');
  const more = summary !== undefined && message !== undefined && summary !== message ? ' (..more)' : '';
  return {
    usernames: [user],
    packages: ns === 'rpms' ? [repo] : [],
    agent: user,
    link:
      repo !== undefined && rev !== undefined
        ? `${DIST_GIT}/${ns}/${repo}/c/${rev}${branch !== undefined ? `?branch=${branch}` : ''}`
        : undefined,
    subtitle: `${user ?? str(commit, 'email') ?? 'someone'} pushed to ${repo ?? 'a repo'} (${branch ?? '?'}).  "${summary ?? ''}${more}"`,
  };
}

/** A lookaside cache upload ({agent, name, filename, md5sum}), as dist-git and summershum describe it. */
export function lookasideUpload(upload: unknown, base: string): Derived {
  const agent = str(upload, 'agent');
  const name = str(upload, 'name');
  const file = str(upload, 'filename');
  const md5 = str(upload, 'md5sum');
  return {
    usernames: [agent],
    packages: [name],
    agent,
    link:
      name !== undefined && file !== undefined && md5 !== undefined
        ? `${base}/lookaside/pkgs/${name}/${file}/${md5}/${file}`
        : undefined,
  };
}

export function scm(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  if (sub.startsWith('receive')) return receive(ctx);

  const agent = str(msg, 'agent');
  if (sub.startsWith('lookaside')) {
    return {
      ...lookasideUpload(msg, DIST_GIT),
      subtitle: `${agent ?? 'someone'} uploaded ${str(msg, 'filename') ?? 'a file'} for ${str(msg, 'name') ?? 'a package'}`,
    };
  }

  if (sub.startsWith('pkgdb2branch')) {
    const failed = strs(msg, 'unbranchedPackages');
    const done = sub.endsWith('complete');
    return {
      usernames: [agent],
      packages: [...strs(msg, 'branchedPackages'), ...failed],
      agent,
      subtitle: done
        ? `run of pkgdb2branch started by ${agent ?? 'someone'} completed${failed.length > 0 ? ` with ${failed.length} error${failed.length === 1 ? '' : 's'}` : ''}`
        : `${agent ?? 'someone'} started a run of pkgdb2branch`,
    };
  }

  if (sub.startsWith('mass_branch')) {
    return {
      usernames: [agent],
      agent,
      subtitle: sub.endsWith('complete')
        ? `mass branch started by ${agent ?? 'someone'} completed`
        : `${agent ?? 'someone'} started a mass branch`,
    };
  }

  return { usernames: [agent], agent };
}
