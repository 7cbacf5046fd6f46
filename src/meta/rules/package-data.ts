import { arr, get, id, isObj, obj, str, strs } from '../fields.js';
import { fasFromEmail } from '../names.js';
import { withoutParenSuffix } from '../text.js';
import type { Derived, RuleContext } from './types.js';

/** Services that report about packages without a human actor: Bugzilla, FAF (ABRT), mdapi. */

export function bugzilla(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const bug = obj(msg, 'bug');
  const component = str(bug, 'component') ?? strs(bug, 'components')[0] ?? str(bug, 'component', 'name');
  const bugId = id(bug, 'id');
  return {
    // People arrive as e-mail addresses; only Fedora addresses name accounts.
    usernames: [
      fasFromEmail(str(msg, 'event', 'who')),
      fasFromEmail(str(bug, 'assigned_to')),
      fasFromEmail(str(bug, 'creator')),
    ],
    packages: [component],
    agent: fasFromEmail(str(msg, 'event', 'who')),
    link: bugId !== undefined ? `https://bugzilla.redhat.com/show_bug.cgi?id=${bugId}` : str(bug, 'weburl'),
    subtitle: str(bug, 'summary'),
  };
}

export function faf(ctx: RuleContext): Derived {
  const { msg } = ctx;
  return { packages: strs(msg, 'components'), link: str(msg, 'url') };
}

/**
 * mdapi diffs per metadata kind. A "files" entry is (path, type, owning package);
 * every other kind (requires, provides, packages…) leads with the package or
 * capability name, which may carry an "(arch)" suffix.
 */
function diffEntryName(kind: string, entry: readonly unknown[]): string | undefined {
  const raw: unknown = kind === 'files' ? entry[entry.length - 1] : entry[0];
  return typeof raw === 'string' ? withoutParenSuffix(raw) : undefined;
}

export function mdapi(ctx: RuleContext): Derived {
  const { msg } = ctx;
  const packages: (string | undefined)[] = strs(msg, 'packages');
  const differences = get(msg, 'differences');
  if (packages.length === 0 && isObj(differences)) {
    for (const [kind, change] of Object.entries(differences)) {
      for (const side of ['added', 'removed']) {
        for (const entry of arr(change, side)) {
          if (Array.isArray(entry)) packages.push(diffEntryName(kind, entry));
        }
      }
    }
  }
  const url = str(msg, 'url');
  return {
    packages,
    link: url !== undefined ? `https://download.fedoraproject.org/pub/${url}` : undefined,
  };
}
