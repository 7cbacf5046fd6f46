import { categoryOf, type Envelope, type Meta } from '../envelope.js';
import { isObj } from './fields.js';
import { RULES } from './rules/registry.js';
import { generic } from './rules/generic.js';
import { linkHostsOf, safeLink } from './safe-link.js';
import type { Derived, RuleContext } from './rules/types.js';

/** Embedded messages (hotness triggers) are followed this deep and no further. */
const MAX_NESTING = 2;

const EMPTY: readonly string[] = Object.freeze([]);

function cleanSet(values: Iterable<string | undefined> | undefined): readonly string[] {
  if (values === undefined) return EMPTY;
  const seen = new Set<string>();
  for (const v of values) {
    if (typeof v === 'string') {
      const t = v.trim();
      if (t !== '') seen.add(t);
    }
  }
  return seen.size === 0 ? EMPTY : [...seen].sort();
}

function cleanText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const t = value.replace(/\s*\n\s*/g, ' ').trim();
  return t === '' ? null : t;
}

function derive(envelope: Envelope, depth: number): Meta {
  const topic = typeof envelope.topic === 'string' ? envelope.topic : '';
  const category = categoryOf(topic);
  const tokens = topic.split('.');
  const ctx: RuleContext = {
    topic,
    category,
    sub: tokens.slice(4).join('.'),
    env: tokens[2] ?? '',
    msg: isObj(envelope.msg) ? envelope.msg : {},
    envelope,
    nested: (embedded) => {
      if (depth >= MAX_NESTING || !isObj(embedded) || typeof embedded['topic'] !== 'string') return null;
      return derive({ ...embedded, topic: embedded['topic'], timestamp: 0, msg: embedded['msg'] }, depth + 1);
    },
  };

  let out: Derived;
  try {
    out = (RULES.get(category) ?? generic)(ctx);
  } catch {
    // Rule sets guard every access; this only catches a bug, and a bad message must not stop the stream.
    out = {};
  }

  const usernames = cleanSet(out.usernames);
  // Every rule's link passes here: only http(s) to the hosts that category's rule links to.
  const rawLink = cleanText(out.link);
  const agent = cleanText(out.agent) ?? (usernames.length === 1 ? (usernames[0] ?? null) : null);
  return {
    category,
    usernames,
    packages: cleanSet(out.packages),
    agent,
    link: rawLink === null ? null : (safeLink(rawLink, linkHostsOf(category)) ?? null),
    subtitle: cleanText(out.subtitle),
  };
}

/** Category, people, packages, link and a one-line summary for any fedmsg envelope. Never throws. */
export function deriveMeta(envelope: Envelope): Meta {
  return derive(envelope, 0);
}
