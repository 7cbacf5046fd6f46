import { id, obj, str } from '../fields.js';
import { fasFromIdentity } from '../names.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Release engineering and infrastructure automation: composes (old compose.*,
 * pungi, PDC, ODCS, MBS), cloud image testing and uploads, two-week atomic,
 * ansible runs, nagios, mirror crawls. Mostly machine-driven: a person appears
 * only when the payload says who started or acknowledged something.
 */

export function compose(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const location = str(msg, 'location');
  const branch = str(msg, 'branch');
  const log = str(msg, 'log');
  return {
    link: location ?? 'https://kojipkgs.fedoraproject.org/compose/',
    subtitle: `${branch ?? 'a'} compose ${ctx.sub.split('.').slice(1).join(' ') || (log ?? '')}`.trim(),
  };
}

export function pungi(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const location = str(msg, 'location')?.replace(/\/compose\/?$/, '');
  const composeId = str(msg, 'compose_id');
  return {
    link: location,
    subtitle:
      composeId !== undefined
        ? `pungi compose ${composeId}: ${ctx.sub.replace(/^compose\./, '').replace(/\./g, ' ')}`
        : undefined,
  };
}

export function pdc(ctx: RuleContext): Derived {
  const composeId = str(ctx.msg, 'compose_id');
  return {
    link: composeId !== undefined ? `https://pdc.fedoraproject.org/rest_api/v1/composes/${composeId}/` : undefined,
  };
}

export function odcs(ctx: RuleContext): Derived {
  const compose = obj(ctx.msg, 'compose');
  const owner = str(compose, 'owner');
  const composeId = id(compose, 'id');
  return {
    usernames: [owner],
    agent: owner,
    link: composeId !== undefined ? `https://odcs.fedoraproject.org/api/1/composes/${composeId}` : undefined,
  };
}

export function mbs(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const owner = str(msg, 'owner');
  const state = str(msg, 'state_url');
  return {
    usernames: [owner],
    agent: owner,
    link: state !== undefined ? `https://mbs.fedoraproject.org${state}` : undefined,
  };
}

export function autocloud(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const job = id(msg, 'job_id') ?? id(msg, 'compose_job_id');
  const base = 'https://apps.fedoraproject.org/autocloud';
  let link: string | undefined;
  if (sub.startsWith('image')) link = job !== undefined ? `${base}/jobs/${job}/output` : str(msg, 'image_url');
  else link = job !== undefined ? `${base}/jobs/${job}` : `${base}/`;
  return { link };
}

export function fedimg(_ctx: RuleContext): Derived {
  return {};
}

export function releng(_ctx: RuleContext): Derived {
  return { link: 'https://download.fedoraproject.org/pub/alt/atomic/stable/' };
}

export function ansible(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const user = str(msg, 'userid');
  const playbook = str(msg, 'playbook')?.replace(/^.*\/ansible\//, '');
  return {
    usernames: [user],
    agent: user,
    link:
      playbook !== undefined ? `http://infrastructure.fedoraproject.org/cgit/ansible.git/tree/${playbook}` : undefined,
  };
}

/** Nagios acknowledgements name the acknowledging admin by OpenID or name. */
export function nagios(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const acks = [fasFromIdentity(str(msg, 'service_ack_author')), fasFromIdentity(str(msg, 'host_ack_author'))];
  const host = str(msg, 'host');
  return {
    usernames: acks,
    link:
      host !== undefined
        ? `https://admin.fedoraproject.org/nagios/cgi-bin/status.cgi?navbarsearch=1&host=${host}`
        : undefined,
  };
}

export function mirrormanager(_ctx: RuleContext): Derived {
  return { link: 'https://mirrors.fedoraproject.org' };
}

export function zanata(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const project = str(msg, 'project');
  const version = str(msg, 'version');
  const locale = str(msg, 'locale');
  return {
    link:
      project !== undefined && version !== undefined && locale !== undefined
        ? `https://fedora.zanata.org/iteration/view/${project}/${version}/languages/${locale}`
        : undefined,
  };
}

export function datanommer(_ctx: RuleContext): Derived {
  return {};
}
