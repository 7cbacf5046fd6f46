import { arr, get, id, obj, person, str } from '../fields.js';
import { nvrName } from '../names.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Test and gating systems: CentOS CI pipelines, Jenkins, Taskotron, openQA,
 * ResultsDB/Greenwave/WaiverDB, Koschei and the RATS runner. Builds under test
 * are named by N-V-R; only Koji builds map to packages.
 */

/** CentOS CI (ci.pipeline.*, and the older allpackages.* topics). */
export function ci(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const user = str(msg, 'username');
  return { usernames: [user], agent: user, link: str(msg, 'build_url') };
}

export function jenkins(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const project = str(msg, 'project');
  const build = id(msg, 'build');
  return {
    link:
      project !== undefined && build !== undefined
        ? `http://jenkins.cloud.fedoraproject.org/job/${project}/${build}/`
        : undefined,
    subtitle:
      project !== undefined
        ? `jenkins build of ${project}${build !== undefined ? ` #${build}` : ''} ${ctx.sub.replace(/^build\./, '')}`
        : undefined,
  };
}

function kojiBuildPackage(item: unknown, type: unknown): string | undefined {
  return type === 'koji_build' && typeof item === 'string' ? nvrName(item) : undefined;
}

export function taskotron(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const task = obj(msg, 'task');
  return {
    packages: [kojiBuildPackage(get(task, 'item'), get(task, 'type'))],
    link: str(msg, 'result', 'log_url') ?? str(msg, 'result', 'job_url'),
  };
}

export function greenwave(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const subjects = arr(msg, 'subject');
  const first = subjects[0];
  const item = str(first, 'item') ?? str(msg, 'subject_identifier');
  const type = str(first, 'type') ?? str(msg, 'subject_type');
  return {
    packages: subjects.map((s) => kojiBuildPackage(get(s, 'item'), get(s, 'type'))),
    link:
      item !== undefined && type !== undefined
        ? `https://taskotron.fedoraproject.org/resultsdb/results?item=${item}&type=${type}`
        : undefined,
    subtitle: str(msg, 'summary'),
  };
}

export function openqa(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const user = str(msg, 'user');
  const base = `https://openqa${ctx.env === 'stg' ? '.stg' : ''}.fedoraproject.org`;
  let link: string | undefined;
  if (sub.startsWith('comment')) {
    const job = id(msg, 'job_id');
    const group = id(msg, 'group_id');
    link =
      job !== undefined
        ? `${base}/tests/${job}#comments`
        : group !== undefined
          ? `${base}/group_overview/${group}`
          : undefined;
  } else {
    const job = id(msg, 'id');
    link = job !== undefined ? `${base}/tests/${job}` : undefined;
  }
  return { usernames: [user], agent: user, link };
}

export function waiverdb(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const user = str(msg, 'username');
  const waiver = id(msg, 'id');
  return {
    usernames: [user],
    agent: user,
    link:
      waiver !== undefined
        ? `https://waiverdb-web-waiverdb.app.os.fedoraproject.org/api/v1.0/waivers/${waiver}`
        : undefined,
  };
}

/** Koschei: a package's dependency state changed; collection-wide changes concern no package. */
export function koschei(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const collection = str(msg, 'collection');
  if (sub.startsWith('collection')) {
    return {
      link: collection !== undefined ? `https://apps.fedoraproject.org/koschei/collection/${collection}` : undefined,
    };
  }
  const name = str(msg, 'name');
  return {
    packages: [name],
    link: name !== undefined ? `https://apps.fedoraproject.org/koschei/package/${name}` : undefined,
  };
}

/** RATS test runs are requested by someone (agent) against a PR or build. */
export function rats(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const agent = person(msg, 'agent');
  const pr = obj(msg, 'pull_request');
  const project = str(pr, 'project', 'fullname');
  const prId = id(pr, 'id');
  return {
    usernames: [agent],
    agent,
    link:
      project !== undefined && prId !== undefined
        ? `https://src.fedoraproject.org/${project}/pull-request/${prId}`
        : undefined,
  };
}
