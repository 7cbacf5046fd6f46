import type { HubRefusals } from './hub-counters.js';
import type { ConnectionRefusal, HubLimits } from './ws-connection.js';

/**
 * What each client IP holds of the live-push side: long-lived connections (WebSocket and SSE)
 * and subscriptions, each of which may pin a view of the global cap. Decides whether one more
 * is allowed and counts every refusal by limit name.
 */
export class HubAdmission {
  private readonly perIp = new Map<string, number>();
  /** Subscriptions held per client IP (WebSocket subscriptions plus SSE streams): each may pin a view of the global cap. */
  private readonly subsPerIp = new Map<string, number>();

  constructor(
    private readonly limits: HubLimits,
    private readonly refused: HubRefusals,
  ) {}

  /** Null when another long-lived connection (`kind`) from `ip` is allowed, `open` being all held now; else why not, counted. */
  admit(ip: string, kind: 'ws' | 'sse', open: number): ConnectionRefusal | null {
    const max = this.limits.maxConnections ?? Number.POSITIVE_INFINITY;
    if (open >= max) {
      this.refused.ws_connections++;
      return {
        status: 503,
        error: 'server_full',
        detail: `the server holds ${open} WebSocket and SSE connections, its limit (--ws-max-connections); try again later`,
        // Spread, so clients refused together do not come back together.
        retryAfterSeconds: 5 + Math.floor(Math.random() * 10),
      };
    }
    if ((this.perIp.get(ip) ?? 0) < this.limits.maxConnectionsPerIp) return null;
    this.refused.ws_connections_per_ip++;
    return {
      status: 429,
      error: 'too_many_connections',
      detail:
        kind === 'ws'
          ? `too many open connections from ${ip}`
          : `over ${this.limits.maxConnectionsPerIp} open streams from ${ip}`,
    };
  }

  /** Whether `ip` may hold one more subscription; counts the refusal when not. */
  admitSubscription(ip: string): boolean {
    if ((this.subsPerIp.get(ip) ?? 0) < this.limits.maxSubscriptionsPerIp) return true;
    this.refused.ws_subscriptions_per_ip++;
    return false;
  }

  perIpDetail(ip: string): string {
    return `at most ${this.limits.maxSubscriptionsPerIp} live subscriptions per client IP (WebSocket and SSE together; --ws-max-subscriptions-per-ip), and ${ip} holds ${this.subsPerIp.get(ip) ?? 0}; unsubscribe or close one first`;
  }

  /** A connection from `ip` opened (1) or closed (-1). */
  countIp(ip: string, delta: number): void {
    count(this.perIp, ip, delta);
  }

  /** Subscriptions `ip` took (> 0) or gave up (< 0). */
  countSubs(ip: string, delta: number): void {
    count(this.subsPerIp, ip, delta);
  }
}

function count(map: Map<string, number>, ip: string, delta: number): void {
  const n = (map.get(ip) ?? 0) + delta;
  if (n <= 0) map.delete(ip);
  else map.set(ip, n);
}
