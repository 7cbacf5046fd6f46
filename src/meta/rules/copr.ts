import { id, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Copr. The project owner is the person concerned; a group-owned project ("@group")
 * names no single account, so nobody is reported then.
 */

const FRONTEND = 'https://copr.fedoraproject.org';
const BACKEND = 'https://copr-be.cloud.fedoraproject.org/results';

const STATUS: Record<string, string> = {
  '0': 'failed',
  '1': 'succeeded',
  '2': 'was skipped',
  '3': 'is running',
  '4': 'is pending',
};

export function copr(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  const owner = str(msg, 'owner');
  const user = str(msg, 'user');
  const isGroup = owner?.startsWith('@') === true;
  const person = isGroup ? undefined : (owner ?? user);
  const project = str(msg, 'copr');
  const build = id(msg, 'build');
  const chroot = str(msg, 'chroot');
  const ownerPath = owner === undefined ? user : isGroup ? `g/${owner.slice(1)}` : owner;

  let link: string | undefined = FRONTEND;
  if (sub.startsWith('chroot') && ownerPath !== undefined && project !== undefined && chroot !== undefined) {
    link = `${BACKEND}/${ownerPath}/${project}/${chroot}/`;
  } else if (sub.startsWith('build') && ownerPath !== undefined && project !== undefined && build !== undefined) {
    link = `${FRONTEND}/coprs/${ownerPath}/${project}/build/${build}/`;
  }

  const who = user ?? owner ?? 'someone';
  let subtitle: string | undefined;
  const pkg = str(msg, 'pkg');
  const version = str(msg, 'version');
  const nvr = pkg !== undefined && version !== undefined && !pkg.endsWith(version) ? `${pkg}-${version}` : pkg;
  if (sub === 'build.start') subtitle = `${who} started a new build of the ${project ?? ''} copr`;
  else if (sub === 'build.end') {
    const status = id(msg, 'status');
    subtitle = `${who}'s ${project ?? ''} copr build of ${nvr ?? 'a package'} for ${chroot ?? '?'} finished with '${(status !== undefined ? STATUS[status] : undefined) ?? 'unknown'}'`;
  } else if (sub === 'chroot.start') subtitle = `${who}'s ${project ?? ''} copr started a new ${chroot ?? ''} chroot`;
  else if (sub === 'worker.create') subtitle = 'a new worker was created';

  return { usernames: [person], agent: person ?? user, link, subtitle };
}
