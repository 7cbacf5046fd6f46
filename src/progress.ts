import type { Logger } from './logger.js';

/**
 * Progress of a long start-up step: a live line on a terminal, a log line every few seconds
 * otherwise; the current state is also what /readyz reports.
 */
export class Progress {
  done = 0;
  private lastLog = 0;
  private readonly started = performance.now();

  constructor(
    readonly what: string,
    readonly total: number,
    private readonly log: Logger,
    private readonly tty: NodeJS.WriteStream | null = process.stderr.isTTY ? process.stderr : null,
  ) {}

  get rate(): number {
    const s = (performance.now() - this.started) / 1000;
    return s > 0 ? this.done / s : 0;
  }

  describe(): string {
    const pct = this.total > 0 ? ` (${Math.floor((100 * this.done) / this.total)}%)` : '';
    return `${this.what}: ${this.done}/${this.total}${pct}, ${Math.round(this.rate)} msg/s`;
  }

  /** `now`: performance.now(), when the caller has just read it. */
  tick(n = 1, now = performance.now()): void {
    this.done += n;
    if (this.tty && now - this.lastLog > 100) {
      this.tty.write(`\r${this.describe()}   `);
      this.lastLog = now;
    } else if (!this.tty && now - this.lastLog > 2_000) {
      this.log.info({ step: this.what, done: this.done, total: this.total, rate: Math.round(this.rate) }, 'progress');
      this.lastLog = now;
    }
  }

  finish(): { done: number; ms: number; rate: number } {
    if (this.tty) this.tty.write(`\r${this.describe()}   \n`);
    return { done: this.done, ms: Math.round(performance.now() - this.started), rate: Math.round(this.rate) };
  }
}
