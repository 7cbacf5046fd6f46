import { arr, id, obj, str, type Obj } from '../fields.js';
import { fasFromIdentity } from '../names.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Anitya (release-monitoring.org) and the-new-hotness, which reacts to it.
 * Anitya names its users by OpenID URL or e-mail; only Fedora identities map to
 * accounts. Packages are the Fedora package names mapped to the upstream project.
 */

const BASE = 'https://release-monitoring.org';

function fedoraPackages(list: readonly unknown[]): (string | undefined)[] {
  return list.filter((p) => str(p, 'distro') === 'Fedora').map((p) => str(p, 'package_name'));
}

export function anityaPackages(msg: Obj): (string | undefined)[] {
  const message = obj(msg, 'message');
  const out = [...fedoraPackages(arr(msg, 'packages')), ...fedoraPackages(arr(message, 'packages'))];
  // Mapping edits carry the Fedora name directly, old and new.
  const distro = str(message, 'distro') ?? str(msg, 'distro', 'name');
  if (distro === 'Fedora') out.push(str(message, 'new'), str(message, 'prev'));
  return out;
}

export function anitya(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const message = obj(msg, 'message');
  // Version checks are run by anitya's own cron job; the oldest payloads (no "message"
  // wrapper) omit the agent, but it is always the service account.
  const fallback = sub === 'project.version.update' ? 'anitya' : undefined;
  const agent = fasFromIdentity(str(message, 'agent')) ?? fallback;
  const projectId = id(msg, 'project', 'id');
  const name = str(msg, 'project', 'name') ?? str(message, 'project');

  let link = `${BASE}/`;
  if (sub.startsWith('distro')) link = `${BASE}/distros`;
  else if (projectId !== undefined) link = `${BASE}/project/${projectId}/`;

  let subtitle: string | undefined;
  if (sub === 'project.version.update') {
    subtitle = `A new version of "${name ?? '?'}" has been detected:  "${str(message, 'upstream_version') ?? '?'}"`;
  } else if (sub.startsWith('distro')) {
    subtitle = `${agent ?? 'someone'} ${sub.endsWith('add') ? 'added' : 'edited'} the distro "${str(message, 'distro') ?? str(message, 'new') ?? ''}"`;
  } else if (name !== undefined) {
    subtitle = `${agent ?? 'someone'}: ${sub.replace(/\./g, ' ')} "${name}"`;
  }

  return { usernames: [agent], packages: anityaPackages(msg), agent, link, subtitle };
}

/**
 * Hotness re-publishes the message that triggered it; the packages are those of
 * the trigger (a new upstream version, a new package), while people mostly are not.
 * The exception is a bug follow-up on a packager's real koji build: that build's
 * owner did the work. (Follow-ups on scratch builds are hotness's own tasks.)
 */
export function hotness(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const trigger = ctx.nested(obj(msg, 'trigger'));
  const packages: (string | undefined)[] = [...(trigger?.packages ?? []), str(msg, 'package')];
  const triggerTopic = str(msg, 'trigger', 'topic') ?? '';
  const realBuild = ctx.sub === 'update.bug.followup' && /\.buildsys\.build\./.test(triggerTopic);
  const usernames = realBuild ? (trigger?.usernames ?? []) : [];
  const bug = id(msg, 'bug', 'bug_id');
  const projectId = id(msg, 'project', 'id') ?? id(msg, 'trigger', 'msg', 'project', 'id');
  return {
    usernames,
    packages,
    link:
      bug !== undefined
        ? `https://bugzilla.redhat.com/${bug}`
        : projectId !== undefined
          ? `${BASE}/project/${projectId}/`
          : undefined,
  };
}
