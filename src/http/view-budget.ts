import { TokenBucket } from './token-bucket.js';

/** Views one client IP may open per minute by default (config wsMaxNewViewsPerIp). */
export const DEFAULT_MAX_NEW_VIEWS_PER_IP = 200;

/** Buckets kept before full ones are let go (a full bucket is what a new IP starts with anyway). */
const SWEEP_AT = 1024;

/**
 * A token bucket per client IP for opening live views. Opening one computes it from the whole
 * state (up to --max-page-depth rows), and letting it go costs the client nothing, so without a
 * rate a client staying under every cap could still keep the server computing: subscribe to
 * new views, unsubscribe, repeat. A client gets a burst of `perMinute` views, refilled evenly
 * over the minute; joining a view someone already watches costs nothing and takes no token.
 */
export class ViewBudget {
  private readonly buckets = new Map<string, TokenBucket>();
  private sweepAt = SWEEP_AT;

  constructor(
    readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Client IPs with a bucket kept. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `ip`; false (nothing taken) when its bucket is empty. */
  take(ip: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(ip);
    if (bucket === undefined) {
      if (this.buckets.size >= this.sweepAt) this.sweep(now);
      bucket = new TokenBucket(this.perMinute / 60, this.perMinute, now);
      this.buckets.set(ip, bucket);
    }
    return bucket.take(now);
  }

  /** Seconds until `ip` has a token again (for Retry-After). */
  retryAfterSeconds(ip: string): number {
    const ms = this.buckets.get(ip)?.msUntilToken(this.now()) ?? 0;
    return ms === 0 ? 0 : Math.max(1, Math.ceil(ms / 1000));
  }

  /** Why `ip` was refused, for the error frame or answer. */
  refusal(ip: string): string {
    return `at most ${this.perMinute} live views opened per minute per client IP (--ws-max-new-views-per-ip), and opening a view nobody watches computes it; retry in ${this.retryAfterSeconds(ip)} s, or keep views subscribed rather than opening new ones`;
  }

  /** Drops full buckets; the next sweep waits until the map has doubled, so sweeping stays O(1) per take. */
  private sweep(now: number): void {
    for (const [ip, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(ip);
    this.sweepAt = Math.max(SWEEP_AT, this.buckets.size * 2);
  }
}
