import { id, obj, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Koji ("buildsys"). Builds and tags name their owner and package; tag moves
 * also name who moved them. Repo events concern a tag, not people or packages.
 */

function kojiBase(ctx: RuleContext): string {
  const instance = str(ctx.msg, 'instance');
  // Secondary-arch hubs publish on the same topics with their own web UI.
  const host = instance !== undefined && instance !== 'primary' ? `${instance}.koji` : 'koji';
  const stg = ctx.env === 'stg' ? '.stg' : '';
  return `http://${host}${stg}.fedoraproject.org/koji`;
}

const BUILD_STATES: Record<string, string> = {
  '0': 'started building',
  '1': 'completed',
  '2': 'was deleted',
  '3': 'failed to build',
  '4': 'was cancelled',
};

const TASK_STATES: Record<string, string> = {
  FREE: 'was added to the queue',
  OPEN: 'started',
  CLOSED: 'completed',
  CANCELED: 'was cancelled',
  ASSIGNED: 'was assigned',
  FAILED: 'failed',
};

function nvr(ctx: RuleContext): string | undefined {
  const name = str(ctx.msg, 'name');
  if (name === undefined) return undefined;
  const v = str(ctx.msg, 'version');
  const r = str(ctx.msg, 'release');
  return v !== undefined && r !== undefined ? `${name}-${v}-${r}` : name;
}

export function buildsys(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const owner = str(msg, 'owner');
  const base = kojiBase(ctx);

  if (sub.startsWith('build.state.change')) {
    const state = id(msg, 'new');
    const buildId = id(msg, 'build_id');
    return {
      usernames: [owner],
      packages: [str(msg, 'name')],
      agent: owner,
      link: buildId !== undefined ? `${base}/buildinfo?buildID=${buildId}` : base,
      subtitle: `${owner ?? 'someone'}'s ${nvr(ctx) ?? 'build'} ${(state !== undefined ? BUILD_STATES[state] : undefined) ?? 'changed state'}`,
    };
  }

  if (sub === 'tag' || sub === 'untag') {
    const user = str(msg, 'user');
    const tag = str(msg, 'tag') ?? 'a tag';
    const tagId = id(msg, 'tag_id');
    const verb = sub === 'tag' ? 'tagged into' : 'untagged from';
    return {
      usernames: [owner, user],
      packages: [str(msg, 'name')],
      agent: user ?? owner,
      link: tagId !== undefined ? `${base}/taginfo?tagID=${tagId}` : base,
      subtitle: `${owner ?? 'someone'}'s ${nvr(ctx) ?? 'build'} ${verb} ${tag}${user !== undefined ? ` by ${user}` : ''}`,
    };
  }

  if (sub.startsWith('task.state.change')) {
    const taskId = id(msg, 'id');
    const state = str(msg, 'new');
    const srpm = str(msg, 'srpm');
    const target = str(msg, 'info', 'request', 1);
    const what = srpm !== undefined ? `scratch build of ${srpm}` : `${str(msg, 'method') ?? 'koji'} task`;
    return {
      usernames: [owner],
      agent: owner,
      link: taskId !== undefined ? `${base}/taskinfo?taskID=${taskId}` : base,
      subtitle: `${owner ?? 'someone'}'s ${what}${target !== undefined ? ` for ${target}` : ''} ${(state !== undefined ? TASK_STATES[state] : undefined) ?? 'changed state'}`,
    };
  }

  if (sub.startsWith('repo.')) {
    const tagId = id(msg, 'tag_id');
    const tag = str(msg, 'tag');
    const verb = sub === 'repo.init' ? 'initialized' : 'done';
    const instance = str(msg, 'instance');
    return {
      link: tagId !== undefined ? `${base}/taginfo?tagID=${tagId}` : base,
      subtitle: `Repo ${verb}:  ${tag ?? `unknown${instance !== undefined ? ` (${instance})` : ''}`}`,
    };
  }

  if (sub.startsWith('package.list.change')) {
    const pkg = str(msg, 'package');
    return { packages: [pkg], subtitle: `Package list change for ${pkg ?? 'a package'}:  '${str(msg, 'tag') ?? ''}'` };
  }

  if (sub.startsWith('rpm.sign')) {
    // Older publishers nest the rpm under "info", newer ones under "rpm".
    const rpm = obj(msg, 'rpm') ?? obj(msg, 'info');
    const buildId = id(rpm, 'build_id') ?? id(msg, 'build', 'id');
    const name = str(rpm, 'name');
    const full = [name, str(rpm, 'version'), str(rpm, 'release')].filter((p) => p !== undefined).join('-');
    const arch = str(rpm, 'arch');
    const sigkey = str(msg, 'sigkey') ?? str(rpm, 'sigkey');
    return {
      packages: [name],
      link: buildId !== undefined ? `${base}/buildinfo?buildID=${buildId}` : base,
      subtitle: `Koji build ${full}${arch !== undefined ? `.${arch}` : ''}.rpm signed with sigkey '${sigkey ?? ''}'`,
    };
  }

  // Unknown koji topics still tend to carry owner/name like builds do.
  return { usernames: [owner], packages: [str(msg, 'name')], agent: owner };
}
