/**
 * What the HTTP adapter (uws-server.ts holdRest) holds for clients that read an answer slower
 * than it is sent, counted over all connections. Kept apart so settings.ts reads the default
 * without loading uWS.
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

/** The bodies held for slow readers, each counted once (holders: connections holding it). */
export class HeldBodies {
  bytes = 0;
  private readonly holders = new Map<Uint8Array, number>();

  constructor(private readonly maxBytes = DEFAULT_HELD_ANSWERS_MAX_BYTES) {}

  /** Whether one more connection may hold `body` within the bound (one body is always let in). */
  admits(body: Uint8Array): boolean {
    return this.bytes === 0 || this.holders.has(body) || this.bytes + body.byteLength <= this.maxBytes;
  }

  hold(body: Uint8Array): void {
    const n = this.holders.get(body) ?? 0;
    if (n === 0) this.bytes += body.byteLength;
    this.holders.set(body, n + 1);
  }

  release(body: Uint8Array): void {
    const n = (this.holders.get(body) ?? 1) - 1;
    if (n > 0) return void this.holders.set(body, n);
    this.holders.delete(body);
    this.bytes -= body.byteLength;
  }
}
