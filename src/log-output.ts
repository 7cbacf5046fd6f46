import { type DestinationStream, pino } from 'pino';

/**
 * Longest an exit waits for stdout to take the lines still buffered. pino flushes them at
 * process.exit() (and after a fatal line) with SonicBoom's flushSync, which retries a full pipe
 * every 100 ms for as long as its reader stays stopped (a paused `| less`, a wedged log
 * shipper): without a deadline the exit after SIGTERM, or after intake failed for the
 * supervisor to restart us, never came, and the stop timeout, on the same thread, could not end it.
 */
export const EXIT_FLUSH_MS = 2000;

/** What the service reports of its log output: /metrics counts the drops, /readyz and /healthz say while they happen. */
export interface LogOutputStatus {
  /** Lines dropped this run because stdout did not take them and the buffer was full. */
  readonly droppedLines: number;
  /** While lines are being dropped (until stdout has taken what was buffered): why, in /readyz's words; else null. */
  problem(): string | null;
}

export interface LogOutputOptions {
  /** Bytes of lines held for stdout at most; a line past it is dropped and counted. */
  readonly maxBytes: number;
  readonly fd?: number;
  readonly exitFlushMs?: number;
  /** Milliseconds since the epoch (default Date.now). */
  readonly now?: () => number;
}

/**
 * The logger's destination: lines go to stdout off the main thread (pino's asynchronous
 * SonicBoom, which retries a full pipe on a timer), held meanwhile up to `maxBytes`. A line
 * past that is dropped and counted, never waited for: a log call must not stop intake, HTTP or
 * the health checks because nobody reads stdout. One line always fits an empty buffer, however
 * long. The exit flushes what is held for at most `exitFlushMs`.
 */
export class LogOutput implements LogOutputStatus {
  /** Called once stdout has taken everything held after lines were dropped: the logger says so. */
  onResumed: ((dropped: number, since: string) => void) | null = null;
  readonly destination: DestinationStream;
  private readonly boom: ReturnType<typeof pino.destination>;
  private readonly maxBytes: number;
  private readonly now: () => number;
  /** Bytes handed to SonicBoom and not yet written. */
  private held = 0;
  private droppingSince: number | null = null;
  private droppedSinceResumed = 0;
  private dropped = 0;

  constructor(options: LogOutputOptions) {
    this.maxBytes = options.maxBytes;
    const now = options.now ?? Date.now;
    this.now = now;
    const exitFlushMs = options.exitFlushMs ?? EXIT_FLUSH_MS;
    let giveUpAt: number | null = null;
    const boom = pino.destination({
      dest: options.fd ?? 1,
      sync: false,
      minLength: 0,
      // Asked at each EAGAIN: an asynchronous write retries on a timer (the main thread goes on);
      // the exit's synchronous flush gives up past its deadline.
      retryEAGAIN: () => giveUpAt === null || now() < giveUpAt,
    });
    const flushSync = boom.flushSync.bind(boom);
    boom.flushSync = () => {
      giveUpAt = now() + exitFlushMs;
      try {
        flushSync();
        // Written without 'write' events: nothing is held any more.
        this.written(this.held);
      } catch {
        // Stdout still full (or gone): the lines left are lost, the exit is not.
      } finally {
        giveUpAt = null;
      }
    };
    boom.on('write', (n: number) => this.written(n));
    this.boom = boom;
    // pino calls flushSync after a fatal line, flush from logger.flush().
    const destination: DestinationStream & { flushSync(): void; flush(cb?: (err?: Error) => void): void } = {
      write: (line: string) => this.write(line),
      flushSync: () => boom.flushSync(),
      flush: (cb) => boom.flush(cb),
    };
    this.destination = destination;
  }

  get droppedLines(): number {
    return this.dropped;
  }

  problem(): string | null {
    if (this.droppingSince === null) return null;
    return (
      `log lines dropped: stdout has not taken the log since ${new Date(this.droppingSince).toISOString()} ` +
      `(its reader stopped or too slow) and --log-buffer-bytes ${this.maxBytes} are held; ` +
      `${this.droppedSinceResumed} lines dropped since (statscache_log_dropped_lines_total)`
    );
  }

  private write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.held > 0 && this.held + bytes > this.maxBytes) {
      this.dropped++;
      this.droppedSinceResumed++;
      this.droppingSince ??= this.now();
      return;
    }
    this.held += bytes;
    this.boom.write(line);
  }

  private written(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    if (this.held > 0 || this.droppingSince === null) return;
    const dropped = this.droppedSinceResumed;
    const since = new Date(this.droppingSince).toISOString();
    this.droppingSince = null;
    this.droppedSinceResumed = 0;
    // Not from inside SonicBoom's write callback: the line is a write of its own.
    queueMicrotask(() => this.onResumed?.(dropped, since));
  }
}
