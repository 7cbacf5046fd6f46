/**
 * A fedmsg envelope after it passed the bus edge's checks (see fedmsg.md).
 * Only `topic` and `timestamp` are guaranteed; everything else is untrusted input.
 */
export interface Envelope {
  readonly topic: string;
  /** Seconds since the epoch, UTC. Filled from the receive clock when the publisher left it out. */
  readonly timestamp: number;
  readonly msg: unknown;
  readonly msg_id?: string;
  readonly i?: number;
  readonly username?: string;
  readonly [field: string]: unknown;
}

/** What consumers derive from a message (fedmsg.md, "Message meta"). */
export interface Meta {
  /** The 4th dot-separated token of the topic ("buildsys", "bodhi", …). */
  readonly category: string;
  /** Fedora account names involved, sorted, unique. */
  readonly usernames: readonly string[];
  /** Package names involved, sorted, unique. */
  readonly packages: readonly string[];
  /** The one user who caused the event, when known. */
  readonly agent: string | null;
  /** A URL for the event, when known. */
  readonly link: string | null;
  /** One line of human text, when known. */
  readonly subtitle: string | null;
}

/** The category is the 4th token of `<prefix>.<env>.<category>…` ("" when the topic is too short). */
export function categoryOf(topic: string): string {
  // topic.split('.', 4)[3], kept per topic (topicParts): every message asks this two or three times.
  return topicParts(topic).category;
}

/** The 3rd token (`prod`, `stg`…): topic.split('.')[2] ?? '', without the array. */
export function envOf(topic: string): string {
  return tokenAfter(topic, nthDot(topic, 2));
}

/** Everything after the 4th token: topic.split('.').slice(4).join('.'), without the arrays. */
export function subOf(topic: string): string {
  const fourth = nthDot(topic, 4);
  return fourth === -1 ? '' : topic.slice(fourth + 1);
}

export interface TopicParts {
  readonly env: string;
  readonly category: string;
  readonly sub: string;
}

/** Topics whose parts are kept: topics come from publishers, and a hostile one makes each new. */
const PARTS_KEPT = 4096;
const partsOf = new Map<string, TopicParts>();

/**
 * envOf, categoryOf and subOf of one topic (meta asks all three of every message, the message
 * its category), kept per topic: the bus repeats a few hundred topics endlessly, and a replayed
 * record's topic is the same string each time (snapshots/msgpack-topic.ts), hashed once. A live
 * topic is a fresh string hashed at each look-up, and that still counted no dearer than the split
 * (docs/benchmarks.md, "three live-path cuts"). Frozen: every message of the topic is handed the
 * same one.
 */
export function topicParts(topic: string): TopicParts {
  const kept = partsOf.get(topic);
  if (kept !== undefined) return kept;
  const parts = Object.freeze(splitTopic(topic));
  if (partsOf.size >= PARTS_KEPT) partsOf.clear();
  partsOf.set(topic, parts);
  return parts;
}

/** topicParts() in one walk. */
function splitTopic(topic: string): TopicParts {
  const d1 = topic.indexOf('.');
  const d2 = d1 === -1 ? -1 : topic.indexOf('.', d1 + 1);
  const d3 = d2 === -1 ? -1 : topic.indexOf('.', d2 + 1);
  const d4 = d3 === -1 ? -1 : topic.indexOf('.', d3 + 1);
  return {
    env: d2 === -1 ? '' : d3 === -1 ? topic.slice(d2 + 1) : topic.slice(d2 + 1, d3),
    category: d3 === -1 ? '' : d4 === -1 ? topic.slice(d3 + 1) : topic.slice(d3 + 1, d4),
    sub: d4 === -1 ? '' : topic.slice(d4 + 1),
  };
}

/** Where the `n`th dot (n >= 1) of `topic` is, or -1. */
function nthDot(topic: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = topic.indexOf('.', at + 1);
    if (at === -1) return -1;
  }
  return at;
}

/** The token that starts after the dot at `dot` ('' when there is no such dot). */
function tokenAfter(topic: string, dot: number): string {
  if (dot === -1) return '';
  const end = topic.indexOf('.', dot + 1);
  return end === -1 ? topic.slice(dot + 1) : topic.slice(dot + 1, end);
}

/** Longest `msg_id` used as given: LMDB keys are limited and msg_id is untrusted. */
export const MAX_MSG_ID_LENGTH = 200;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f]/;

/**
 * Whether a `msg_id` is de-duplicated by as given (snapshots/journal-record.ts messageId): a string of
 * 1-200 units without control characters, which could clash with LMDB's ordered key encoding.
 * Any other id takes the digest path.
 */
export function usableMsgId(id: unknown): id is string {
  return typeof id === 'string' && id !== '' && id.length <= MAX_MSG_ID_LENGTH && !CONTROL.test(id);
}
