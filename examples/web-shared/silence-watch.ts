/**
 * A server that stops without closing (frozen, its host gone, the network cut) sends no close
 * frame, and the browser may wait many minutes for TCP to notice: the page would show old
 * numbers as live all along. Every frame counts as a sign of life; after `quietMs` without one
 * the server is pinged (`{"op":"ping"}` → `pong`), and with no answer `answerMs` later the
 * connection is given up. A connection not open after `answerMs` is given up too.
 */
export class SilenceWatch {
  private heardAt = 0;
  private pingedAt: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly ping: () => void,
    private readonly dead: (why: string) => void,
    private readonly quietMs = 15_000,
    private readonly answerMs = 10_000,
  ) {}

  /** From `new WebSocket` on: until open, the open must come within `answerMs`. */
  start(isOpen: () => boolean): void {
    this.stop();
    const began = Date.now();
    this.heardAt = began;
    this.pingedAt = null;
    this.timer = setInterval(() => {
      const now = Date.now();
      if (!isOpen()) {
        if (now - began >= this.answerMs) this.give(`no answer to the connection in ${this.answerMs / 1000} s`);
        return;
      }
      if (this.pingedAt !== null && now - this.pingedAt >= this.answerMs)
        this.give(`no answer from the server in ${Math.round((now - this.heardAt) / 1000)} s`);
      else if (this.pingedAt === null && now - this.heardAt >= this.quietMs) {
        this.pingedAt = now;
        this.ping();
      }
    }, 1000);
  }

  heard(): void {
    this.heardAt = Date.now();
    this.pingedAt = null;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private give(why: string): void {
    this.stop();
    this.dead(why);
  }
}
