/**
 * What an AMQP input reports of itself (/readyz, /metrics, logs), and the credential-free URL
 * it is reported under.
 */
export type AmqpState = 'connecting' | 'consuming' | 'blocked' | 'closed';

export interface AmqpStatus {
  /** The URL without credentials: the label in /readyz, /metrics and logs. */
  readonly input: string;
  readonly state: AmqpState;
  /** Why the connection is closed or blocked (null otherwise). */
  readonly reason: string | null;
  /** Epoch ms of the last state change. */
  readonly since: number;
  /** The queue consumed (server-named ones change on every connection). */
  readonly queue: string | null;
  readonly durableQueue: boolean;
  /**
   * This connection consumes a queue made anew since the last one consumed: what was published
   * in between never reached it. Always so for a server-named queue (it dies with its
   * connection); for a durable one, once the broker cancelled its consumer because the queue was
   * deleted (by an operator, a policy, a lost cluster node), or when the queue was gone as this
   * connection declared it (deleted, or a broker reset, while no consumer of ours was there).
   */
  readonly lostQueue: boolean;
  readonly connects: number;
  readonly deliveries: number;
  readonly acked: number;
  /** Deliveries received and not yet acked, across connections (start-up holds them; amqp-held.ts). */
  readonly held: number;
  /** The cap on `held` (null: none); past it a new connection defers its consume. */
  readonly maxHeld: number | null;
  /** Connections that declared and bound their queue but deferred consuming because `held` was at the cap. */
  readonly consumeDeferrals: number;
}

/** An input's status before its first connection: a server-named queue is new on every one. */
export function initialStatus(
  input: string,
  durableQueue: boolean,
  since: number,
  maxHeld: number | null = null,
): AmqpStatus {
  return {
    input,
    state: 'connecting',
    reason: null,
    since,
    queue: null,
    durableQueue,
    lostQueue: !durableQueue,
    connects: 0,
    deliveries: 0,
    acked: 0,
    held: 0,
    maxHeld,
    consumeDeferrals: 0,
  };
}

/** `amqps://user:secret@host/vhost` → `amqps://host/vhost` (never log or serve a password). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
