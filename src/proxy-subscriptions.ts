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

/**
 * The upstream XSUB's send queue, in subscription changes (ZMQ_SNDHWM). XSUB sends never wait:
 * libzmq drops, silently, a change for an upstream connection whose queue is full (xsub.cpp's
 * xsend through dist_t; xhas_out is always true), and refuses its queue until the I/O thread
 * has read half of it. At libzmq's default of 1000, an upstream that read nothing while a
 * burst came up kept 1000 of 3000 (the rest never reached it: their replicas never got those
 * topics), and on every new connection XSUB sent its whole table, up to
 * PROXY_SUBSCRIPTIONS_MAX, into that queue before it could drain: 1000 kept again. Worse, after
 * a drop the next connection got no change at all until another one (pipe.cpp's process_hiccup
 * marks the pipe writable without telling dist_t, which left it out).
 * Four tables' worth holds that resend plus a cancel and a subscribe of every prefix while the
 * upstream reads nothing. It bounds the queue's memory: each change is at most
 * REPLICA_MESSAGE_MAX_BYTES (4 KiB), so at most 64 MiB held for an upstream that stopped
 * reading; fedmsg's prefixes (under 34 bytes) are held inside libzmq's 64-byte message, 1 MiB.
 * libzmq tells nothing of how full the queue is, so changes beyond this while the upstream reads
 * nothing are still dropped; the replicas cannot be held back instead, as the XPUB moves their
 * subscriptions into its own unbounded list whether or not the relay reads them.
 */
export const UPSTREAM_SUBSCRIPTION_QUEUE = 4 * PROXY_SUBSCRIPTIONS_MAX;

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
