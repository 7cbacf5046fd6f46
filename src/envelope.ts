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
  // topic.split('.', 4)[3] without the array: every message asks this two or three times.
  let dot = -1;
  for (let n = 0; n < 3; n++) {
    dot = topic.indexOf('.', dot + 1);
    if (dot === -1) return '';
  }
  const end = topic.indexOf('.', dot + 1);
  return end === -1 ? topic.slice(dot + 1) : topic.slice(dot + 1, end);
}
