import { type Envelope, type Meta, topicParts } from '../envelope.js';
import { DEFAULT_MAX_FANOUT } from './fanout.js';
import { isObj, type Obj } from './fields.js';
import { namesFromHeaders, RPM_HEADER, USER_HEADER } from './header-names.js';
import { RULES } from './rules/registry.js';
import { generic } from './rules/generic.js';
import { linkHostsOf, safeLink } from './safe-link.js';
import { cutText, joinLines } from './text.js';
import type { Derived, RuleContext } from './rules/types.js';

/** Embedded messages (hotness triggers) are followed this deep and no further. */
const MAX_NESTING = 2;

const EMPTY: readonly string[] = Object.freeze([]);

export { DEFAULT_MAX_FANOUT } from './fanout.js';

export interface MetaOptions {
  /** Most usernames and most packages kept per message; the first ones the rules name are kept. */
  readonly maxFanout?: number;
  /** Told once per message whose usernames or packages were cut. */
  readonly onTruncated?: (envelope: Envelope) => void;
}

interface Limit {
  readonly max: number;
  truncated: boolean;
}

/** Up to this many names are deduplicated in an array (most messages name one or two); past it in a Set. */
const SMALL_SET = 8;

function cleanSet(values: Iterable<string | undefined> | undefined, limit: Limit): readonly string[] {
  if (values === undefined) return EMPTY;
  if (Array.isArray(values) && values.length <= SMALL_SET) return cleanSmall(values, limit);
  const seen = new Set<string>();
  for (const v of values) {
    if (typeof v === 'string') {
      const t = v.trim();
      if (t === '' || seen.has(t)) continue;
      if (t.length > MAX_NAME) {
        limit.truncated = true;
        continue;
      }
      if (seen.size >= limit.max) {
        limit.truncated = true;
        break;
      }
      seen.add(t);
    }
  }
  return seen.size === 0 ? EMPTY : [...seen].sort();
}

/**
 * cleanSet() of a short array, the same names in the same order, without a Set, its spread copy
 * and sort()'s work array: those were 22 MiB of the 2.3 GiB a 20 k-message bench allocated.
 */
function cleanSmall(values: readonly (string | undefined)[], limit: Limit): readonly string[] {
  let out: string[] | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'string') continue;
    const t = v.trim();
    if (t === '' || out?.includes(t)) continue;
    if (t.length > MAX_NAME) {
      limit.truncated = true;
      continue;
    }
    if ((out?.length ?? 0) >= limit.max) {
      limit.truncated = true;
      break;
    }
    if (out === null) out = [t];
    else out.push(t);
  }
  if (out === null) return EMPTY;
  // Insertion sort in code-unit order, as sort() orders strings (which allocates a work array).
  for (let i = 1; i < out.length; i++) {
    const t = out[i] as string;
    let j = i - 1;
    for (; j >= 0 && (out[j] as string) > t; j--) out[j + 1] = out[j] as string;
    out[j + 1] = t;
  }
  return out;
}

/**
 * Longest subtitle or agent kept, in UTF-16 units: a summary line, not the message; past it the
 * text is cut. A longer link is dropped (cut, it would no longer be the one sent).
 */
export const MAX_TEXT = 4096;
/** Longest username or package name kept (Fedora's are far shorter); a longer one is cut from the message's names. */
export const MAX_NAME = 255;

function cleanText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cut = cutText(value, MAX_TEXT);
  const t = joinLines(cut).trim();
  return t === '' ? null : t;
}

/**
 * A rule's context. `nested` is a method, not a closure made per message: the serve bundle keeps
 * function names (scripts/bundle-serve.mjs keepNames), so each closure made was also named with
 * an Object.defineProperty call, ~1% of the bus thread's time per message.
 */
class Context implements RuleContext {
  readonly topic: string;
  readonly category: string;
  readonly sub: string;
  readonly env: string;
  readonly msg: Obj;
  constructor(
    readonly envelope: Envelope,
    private readonly depth: number,
    private readonly limit: Limit,
  ) {
    const topic = typeof envelope.topic === 'string' ? envelope.topic : '';
    this.topic = topic;
    // One walk for the three (categoryOf, subOf and envOf each find their dots from the start).
    const parts = topicParts(topic);
    this.env = parts.env;
    this.category = parts.category;
    this.sub = parts.sub;
    this.msg = isObj(envelope.msg) ? envelope.msg : {};
  }

  nested(embedded: unknown): Meta | null {
    if (this.depth >= MAX_NESTING || !isObj(embedded) || typeof embedded['topic'] !== 'string') return null;
    return derive(
      { ...embedded, topic: embedded['topic'], timestamp: 0, msg: embedded['msg'] },
      this.depth + 1,
      this.limit,
    );
  }
}

function derive(envelope: Envelope, depth: number, limit: Limit): Meta {
  const ctx = new Context(envelope, depth, limit);
  const { category } = ctx;

  let out: Derived;
  try {
    out = (RULES.get(category) ?? generic)(ctx);
  } catch {
    // Rule sets guard every access; this only catches a bug, and a bad message must not stop the stream.
    out = {};
  }

  // Only the message itself carries headers; an embedded one (depth > 0) is judged by its body.
  const headers = depth === 0 ? envelope['headers'] : undefined;
  const usernames = cleanSet(namesFromHeaders(headers, USER_HEADER) ?? out.usernames, limit);
  // Every rule's link passes here: only http(s) to the hosts that category's rule links to.
  const rawLink = typeof out.link === 'string' && out.link.length > MAX_TEXT ? null : cleanText(out.link);
  const agent = cleanText(out.agent) ?? (usernames.length === 1 ? (usernames[0] ?? null) : null);
  return {
    category,
    usernames,
    packages: cleanSet(namesFromHeaders(headers, RPM_HEADER) ?? out.packages, limit),
    agent,
    link: rawLink === null ? null : (safeLink(rawLink, linkHostsOf(category)) ?? null),
    subtitle: cleanText(out.subtitle),
  };
}

/** Category, people, packages, link and a one-line summary for any fedmsg envelope. Never throws. */
export function deriveMeta(envelope: Envelope, options: MetaOptions = {}): Meta {
  const limit: Limit = { max: options.maxFanout ?? DEFAULT_MAX_FANOUT, truncated: false };
  const meta = derive(envelope, 0, limit);
  if (limit.truncated) options.onTruncated?.(envelope);
  return meta;
}
