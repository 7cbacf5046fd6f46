/**
 * The proxy's bound on replica connections (--replica-max-connections). libzmq has no cap on
 * the connections a bound socket accepts, and each connected replica may cost the proxy up to
 * --replica-queue-max-bytes. With a ZAP domain set, libzmq asks the ZAP handler about every new
 * connection before its handshake completes (even with the NULL mechanism) and lets it in only
 * on "200"; proxy-zap.ts answers from here. Kept apart from bus.ts so the command validates without
 * loading libzmq, and so the counting is plain code.
 *
 * What is counted is the connections open to the backend in any state (accepted and not yet
 * disconnected, from the socket's monitor events): libzmq reports no peer on a disconnect, so
 * which admitted replica left cannot be told, but every accepted connection ends in exactly one
 * disconnect, so this count cannot drift. The admitted ones still open are at most that count
 * less the one asking, and at most the admissions ever given: a connection is let in while the
 * smaller of the two is under the bound. Judged by the open count alone, a burst of connections
 * past the bound (a fleet reconnecting after a restart) was refused whole, nobody let in, as
 * every one of them was open while the first was judged; a libzmq peer refused does not come
 * back by itself. A peer still in its handshake (libzmq drops one after its handshake interval)
 * or just refused takes a place until it is gone once admissions have filled the bound; a
 * refused libzmq peer closes at once on the ZAP error. The bound per address (--replica-max-per-address) is asked of
 * the kernel instead (peer-connections.ts), for the same reason.
 */

/** Replicas a proxy serves by default: 64 × the 1 GiB default queue bounds it at 64 GiB. */
export const DEFAULT_REPLICA_MAX_CONNECTIONS = 64;

/**
 * Connections from one address by default: a quarter of the default total, so one host (or one
 * NAT) cannot take every place.
 */
export const DEFAULT_REPLICA_MAX_PER_ADDRESS = 16;

/** Largest accepted value: beyond it the queue bound stops meaning anything. */
export const MAX_REPLICA_MAX_CONNECTIONS = 100_000;

/** Why `value` is not a usable --replica-max-connections (or --replica-max-per-address), or null. */
export function replicaConnectionsProblem(value: number): string | null {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_REPLICA_MAX_CONNECTIONS)
    return `must be a whole number from 1 to ${MAX_REPLICA_MAX_CONNECTIONS}`;
  return null;
}

/** Why a connection was refused: the total bound, or the bound for its address. */
export interface Refusal {
  readonly bound: 'total' | 'address';
  /** Connections open to the backend, the one refused included. */
  readonly open: number;
  /** Connections open from its address, the one refused included (when that bound was asked). */
  readonly fromAddress?: number;
}

/** Called once per request: null to admit. */
export type Verdict = (refusal: Refusal | null) => void;

/** The bound per peer address, and how to count the connections open from one. */
export interface PerAddress {
  readonly max: number;
  /** Connections open from `address` now, the one asking included; null when it cannot be told. */
  readonly openFrom: (address: string) => number | null;
}

export class ReplicaAdmission {
  private accepted = 0;
  private disconnected = 0;
  /** Connections let in so far (their requests answered 200). */
  private granted = 0;
  private requested = 0;
  private readonly pending: { verdict: Verdict; address: string }[] = [];

  constructor(
    private readonly max: number,
    private readonly perAddress?: PerAddress,
  ) {}

  /** Connections open to the backend now, the one asking included. */
  get open(): number {
    return this.accepted - this.disconnected;
  }

  accept(): void {
    this.accepted++;
    this.decide();
  }

  disconnect(): void {
    this.disconnected++;
  }

  /** A new connection from `address` (as ZAP gives it) asks to complete its handshake; `verdict` is called once. */
  request(verdict: Verdict, address = ''): void {
    this.requested++;
    this.pending.push({ verdict, address });
    this.decide();
  }

  private judge(address: string): Refusal | null {
    const open = this.open;
    if (Math.min(this.granted, open - 1) >= this.max) return { bound: 'total', open };
    // ipc peers have no IP address; where the kernel cannot be asked, only the total applies.
    if (this.perAddress === undefined || address === '') return null;
    const fromAddress = this.perAddress.openFrom(address);
    if (fromAddress === null || fromAddress <= this.perAddress.max) return null;
    return { bound: 'address', open, fromAddress };
  }

  /**
   * Monitor events and ZAP requests come through different sockets, so a request may be read
   * before its connection's accept event: the n-th request is decided only once n accepts have
   * been seen, so the connection asking is in the count it is judged by.
   */
  private decide(): void {
    while (this.pending.length > 0 && this.accepted >= this.requested - this.pending.length + 1) {
      const { verdict, address } = this.pending.shift() as { verdict: Verdict; address: string };
      const refusal = this.judge(address);
      if (refusal === null) this.granted++;
      verdict(refusal);
    }
  }
}
