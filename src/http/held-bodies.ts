/**
 * What the HTTP adapter (answer-writer.ts holdRest) holds for clients that read an answer slower
 * than it is sent, counted over all connections and per client. Kept apart so settings.ts reads
 * the defaults without loading uWS.
 */

/**
 * Bytes of answers held for clients that do not read them, over all connections, past which
 * another is not held: its connection is closed (counted with closedUnread). Each connection
 * holds at most one answer, but connections are not counted: 20 connections asking /raw for a
 * 40 MB page and reading nothing held 760 MB, and more connections held more. One answer is
 * always held whatever its size (a GET /admin/export of hundreds of MB to a slow reader), and a
 * body already held (a memoised answer many clients share) costs nothing more to hold again.
 */
export const DEFAULT_HELD_ANSWERS_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Bytes of answers one client (its address, or IPv6 network: client-network.ts) may have held.
 * With only the total bounded, one client's non-reading connections filled it and every other
 * client's large answer (any answer bigger than a socket buffer is held for a moment, however
 * fast its client reads) was closed until uWS timed those connections out, ~10 s later. A
 * client holding nothing may always hold one answer, so a single large page is never refused.
 */
export const DEFAULT_HELD_ANSWERS_MAX_BYTES_PER_CLIENT = 64 * 1024 * 1024;

/** Bodies and how many of one holder's connections hold each, each body counted once in `bytes`. */
class Holdings {
  bytes = 0;
  readonly counts = new Map<Uint8Array, number>();

  /** Whether `body` fits within `max` (nothing held yet, or already held: always). */
  fits(body: Uint8Array, max: number): boolean {
    return this.bytes === 0 || this.counts.has(body) || this.bytes + body.byteLength <= max;
  }

  add(body: Uint8Array): void {
    const n = this.counts.get(body) ?? 0;
    if (n === 0) this.bytes += body.byteLength;
    this.counts.set(body, n + 1);
  }

  /** Whether the holder now holds nothing. */
  remove(body: Uint8Array): boolean {
    const n = (this.counts.get(body) ?? 1) - 1;
    if (n > 0) this.counts.set(body, n);
    else if (this.counts.delete(body)) this.bytes -= body.byteLength;
    return this.counts.size === 0;
  }
}

/** The bodies held for slow readers, within a total and a per-client bound. */
export class HeldBodies {
  private readonly all = new Holdings();
  private readonly byClient = new Map<string, Holdings>();

  constructor(
    private readonly maxBytes = DEFAULT_HELD_ANSWERS_MAX_BYTES,
    private readonly maxBytesPerClient = DEFAULT_HELD_ANSWERS_MAX_BYTES_PER_CLIENT,
  ) {}

  /** Bytes held now, each body once however many connections (of any clients) hold it. */
  get bytes(): number {
    return this.all.bytes;
  }

  /** Clients holding something now (one entry each, dropped once it holds nothing). */
  get clients(): number {
    return this.byClient.size;
  }

  /** Bytes `client` holds now. */
  bytesOf(client: string): number {
    return this.byClient.get(client)?.bytes ?? 0;
  }

  /** Whether one more connection of `client` may hold `body` within both bounds. */
  admits(body: Uint8Array, client: string): boolean {
    const own = this.byClient.get(client);
    return this.all.fits(body, this.maxBytes) && (own === undefined || own.fits(body, this.maxBytesPerClient));
  }

  hold(body: Uint8Array, client: string): void {
    this.all.add(body);
    let own = this.byClient.get(client);
    if (own === undefined) this.byClient.set(client, (own = new Holdings()));
    own.add(body);
  }

  release(body: Uint8Array, client: string): void {
    this.all.remove(body);
    if (this.byClient.get(client)?.remove(body) === true) this.byClient.delete(client);
  }
}
