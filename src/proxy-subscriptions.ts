/**
 * The distinct subscriptions `statscache proxy` has sent upstream, at most
 * PROXY_SUBSCRIPTIONS_MAX at once. Every distinct prefix a replica subscribed to went up: one
 * replica holding any number of them (each up to 4 KiB) grew the proxy's XSUB table and the
 * upstream publisher's without bound.
 */

/**
 * Most distinct prefixes forwarded at once. A replica subscribes to its `--topic` prefixes, at
 * most 256 (setting-list-bounds.ts), and a fleet shares them; this is 16 replicas' worth of
 * different ones, and at most 16 MiB of prefixes upstream.
 */
export const PROXY_SUBSCRIPTIONS_MAX = 4096;

/** What the relay does with one subscription message from the backend. */
export type SubscriptionVerdict = 'forward' | 'held' | 'refused';

/**
 * The backend XPUB passes every subscribe (verbosity allSubs) but only a prefix's last cancel:
 * so a prefix refused while the table was full is taken when a replica subscribes to it again
 * after a cancel made room (not passed again, it would stay refused while any replica held it).
 * A prefix already up is not sent again: XSUB counts subscriptions, and the one last cancel
 * XPUB passes would then leave it subscribed upstream.
 */
export class ForwardedSubscriptions {
  private readonly prefixes = new Set<string>();

  constructor(private readonly max: number = PROXY_SUBSCRIPTIONS_MAX) {}

  /** Distinct prefixes up now. */
  get size(): number {
    return this.prefixes.size;
  }

  /** `frame` is one subscription (first byte 1) or cancel (0), as the relay checked. */
  admit(frame: Buffer): SubscriptionVerdict {
    // latin1: one character a byte, so two prefixes are one key only when their bytes are equal.
    const prefix = frame.toString('latin1', 1);
    if (frame[0] === 0) return this.prefixes.delete(prefix) ? 'forward' : 'held';
    if (this.prefixes.has(prefix)) return 'held';
    if (this.prefixes.size >= this.max) return 'refused';
    this.prefixes.add(prefix);
    return 'forward';
  }
}

/** A subscription (first byte 1) or its cancel (0), as XPUB hands them over: one frame. */
export function isSubscription(frames: readonly Buffer[]): boolean {
  const first = frames[0]?.[0];
  return frames.length === 1 && (first === 1 || first === 0);
}
