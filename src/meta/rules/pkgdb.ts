import { arr, obj, person, str } from '../fields.js';
import type { Derived, RuleContext } from './types.js';

/**
 * The package database. People are whoever acted plus whoever an ACL change is
 * about; package owners listed in the payload are context, not participants.
 */

const BASE = 'https://admin.fedoraproject.org/pkgdb';
const ORPHAN = 'orphan';

function packageNames(msg: unknown): (string | undefined)[] {
  const pkg = obj(msg, 'package');
  return [
    str(msg, 'package_name'),
    // Older branch topics send the bare name; most send a package object.
    str(msg, 'package'),
    str(pkg, 'name'),
    str(msg, 'package_listing', 'package', 'name'),
    ...arr(msg, 'package_listings').map((pl) => str(pl, 'package', 'name')),
    str(msg, 'acl', 'packagelist', 'package', 'name'),
    str(msg, 'info', 'pkg_name'),
    str(msg, 'action', 'info', 'pkg_name'),
    // Branch requests carry an existing package object; new-package requests only "info".
    str(msg, 'action', 'package', 'name'),
  ];
}

export function pkgdb(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const agent = person(msg, 'agent');
  // The account an action targets travels in "username" (ACL grants, user removal) or in
  // an ACL record; whichever topic carries them, that person took part. "orphan" is
  // pkgdb's placeholder for "nobody owns this", never an account.
  const usernames = [agent, str(msg, 'username'), str(msg, 'acl', 'fas_name')].filter((u) => u !== ORPHAN);
  const packages = packageNames(msg).filter((p): p is string => p !== undefined);
  const first = packages[0];
  const ns = str(msg, 'package', 'namespace') ?? str(msg, 'package_listing', 'package', 'namespace') ?? 'rpms';
  return {
    usernames,
    packages,
    agent,
    link: first !== undefined ? `${BASE}/package/${ns}/${first}/` : undefined,
  };
}
