import type { HubStats } from './hub-counters.js';
import { topicOf, type HubOptions, type WsConnection } from './ws-connection.js';
import { CLOSE_CODES } from './ws-frames.js';

/** Past maxBufferedBytes × this a socket is closed at once (uWS's own maxBackpressure is set to the same). */
const HARD_FACTOR = 4;

/**
 * WebSocket back-pressure. A socket over the soft limit leaves its topics (uWS `publish`
 * ignores per-socket pacing) and gets one fresh snapshot per view when it drains, paced by its
 * queue; one that stays stuck is closed with 4008.
 */
export class WsPressure {
  private readonly now: () => number;

  constructor(
    private readonly epoch: string,
    private readonly options: HubOptions,
    private readonly stats: HubStats,
    /** The hub's bookkeeping for a connection that is gone (its views released, its IP's counts). */
    private readonly closed: (conn: WsConnection) => void,
  ) {
    this.now = options.now;
  }

  onDrain(conn: WsConnection): void {
    if (conn.closing && !conn.closed) return this.finishClose(conn, this.now());
    if (conn.closed || conn.slowSince === null) return;
    const soft = this.options.maxBufferedBytes;
    if (conn.resent === null) {
      if (conn.peer.bufferedAmount() > soft / 2) return;
      conn.resent = new Set();
      conn.resentMark = conn.peer.bufferedAmount();
      this.stats.resyncs++;
    }
    this.resendPaced(conn, conn.resent, soft);
  }

  /**
   * Re-sends a slow client's snapshots one view at a time, each only while its queue is under
   * the soft limit, the rest on later drains. Sent at once they were the server's own burst: a
   * client whose views' snapshots together exceed the hard limit was closed (4008) though it
   * was reading, and again after every reconnect. A view rejoins its topic right after its
   * snapshot, so its updates follow it; the slow timeout restarts at each send (the client was
   * under the soft limit then), so a reader is never timed out while one that stops still is.
   */
  private resendPaced(conn: WsConnection, resent: Set<string>, soft: number): void {
    for (const [key, sub] of conn.subs) {
      if (resent.has(key)) continue;
      if (conn.peer.bufferedAmount() >= soft) return;
      conn.slowSince = this.now();
      let sent = false;
      conn.peer.cork(() => {
        sent = this.send(conn, sub.view.snapshotFrame(this.epoch, 'resync', sub.id));
        if (sent) conn.peer.subscribe(topicOf(sub.view));
        // A view failing now: the snapshot is of its last good rows, and the client is told so again.
        const failed = sent ? sub.view.failedFrame(sub.id) : null;
        if (failed !== null) sent = this.send(conn, failed);
      });
      if (!sent) return;
      resent.add(key);
      conn.resentMark = conn.peer.bufferedAmount();
    }
    conn.slowSince = null;
    conn.resent = null;
  }

  /** Run for every connection each tick: enters, paces or ends the slow state. */
  check(conn: WsConnection, now: number): void {
    if (conn.closed) return;
    if (conn.closing) return this.finishClose(conn, now);
    const buffered = conn.peer.bufferedAmount();
    if (buffered > this.stats.peakBufferedBytes) this.stats.peakBufferedBytes = buffered;
    const soft = this.options.maxBufferedBytes;
    if (conn.slowSince === null) {
      if (buffered <= soft) return;
      // Off the topics: publish would keep queueing for it. Its views are re-sent as snapshots on drain, paced.
      conn.slowSince = now;
      this.stats.slowEntered++;
      for (const sub of conn.subs.values()) conn.peer.unsubscribe(topicOf(sub.view));
      this.options.log?.('info', { ip: conn.ip, buffered }, 'slow WebSocket client: switched to coalesced snapshots');
      return;
    }
    // The updates of views already re-sent queued a soft limit more: it fell behind again, so
    // all its views wait for a fresh round (and the slow timeout runs on from the last send).
    if (conn.resent !== null && buffered > conn.resentMark + soft) {
      for (const sub of conn.subs.values()) conn.peer.unsubscribe(topicOf(sub.view));
      conn.resent = null;
    }
    // A paced resync goes on under the soft limit; a new one starts under half of it.
    if (buffered <= soft / 2 || (conn.resent !== null && buffered < soft)) this.onDrain(conn);
    if (conn.slowSince !== null && now - conn.slowSince > this.options.slowTimeoutMs) this.closeSlow(conn, buffered);
  }

  /**
   * Starts closing a client that reads too slowly. uWS drops whatever is still queued when a
   * socket closes, so the 4008 close frame is sent once the queue has drained (a client that
   * is merely slow then reads its reason); one that stays stuck is cut off after another
   * slow timeout (it sees an abnormal closure, 1006: it was reading nothing anyway).
   */
  private closeSlow(conn: WsConnection, buffered: number): void {
    if (conn.closing || conn.closed) return;
    this.stats.slowClosed++;
    this.options.log?.('warn', { ip: conn.ip, buffered }, 'closing a WebSocket client that stopped reading');
    conn.closing = {
      since: this.now(),
      reason: `too slow: ${buffered} bytes unread for over ${this.options.slowTimeoutMs / 1000} s`.slice(0, 120),
    };
    for (const sub of conn.subs.values()) conn.peer.unsubscribe(topicOf(sub.view));
    this.finishClose(conn, this.now());
  }

  private finishClose(conn: WsConnection, now: number): void {
    const closing = conn.closing;
    if (!closing || conn.closed) return;
    if (conn.peer.bufferedAmount() === 0) conn.peer.end(CLOSE_CODES.tooSlow, closing.reason);
    else if (now - closing.since > this.options.slowTimeoutMs) conn.peer.terminate();
    else return;
    this.closed(conn);
  }

  /** Sends one frame; a frame uWS had to drop means the client is past the hard limit: close it, never leave a silent gap. */
  send(conn: WsConnection, text: string): boolean {
    if (conn.closed || conn.closing) return false;
    const result = conn.peer.send(text);
    if (result === 2 || conn.peer.bufferedAmount() > this.options.maxBufferedBytes * HARD_FACTOR) {
      this.closeSlow(conn, conn.peer.bufferedAmount());
      return false;
    }
    return true;
  }
}

export { HARD_FACTOR as WS_HARD_LIMIT_FACTOR };
