import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

import type { LogLevel } from './log-levels.js';

export { LOG_LEVELS, type LogLevel } from './log-levels.js';

/**
 * Longest an exit waits for stdout to take the lines still buffered. pino flushes them at
 * process.exit() (and after a fatal line) with SonicBoom's flushSync, which retries a full pipe
 * every 100 ms for as long as its reader stays stopped (a paused `| less`, a wedged log
 * shipper): the exit after SIGTERM, or after intake failed for the supervisor to restart us,
 * never came, and the stop timeout, on the same thread, could not end it.
 */
export const EXIT_FLUSH_MS = 2000;

/**
 * JSON lines on stdout: one object per event, ready for journald or a log shipper. Written off
 * the main thread (pino's asynchronous SonicBoom on fd 1, as pino's default), flushed at exit
 * for at most `exitFlushMs`.
 */
export function createLogger(level: LogLevel = 'info', exitFlushMs = EXIT_FLUSH_MS, now = Date.now): Logger {
  let giveUpAt: number | null = null;
  const destination = pino.destination({
    dest: 1,
    sync: false,
    minLength: 0,
    // Asked at each EAGAIN: an asynchronous write retries on a timer (the main thread goes on);
    // the exit's synchronous flush gives up past its deadline.
    retryEAGAIN: () => giveUpAt === null || now() < giveUpAt,
  });
  const flushSync = destination.flushSync.bind(destination);
  destination.flushSync = () => {
    giveUpAt = now() + exitFlushMs;
    try {
      flushSync();
    } catch {
      // Stdout still full (or gone): the lines left are lost, the exit is not.
    } finally {
      giveUpAt = null;
    }
  };
  return pino({ level, base: { service: 'statscache' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * Lets through at most `burst` log lines per `windowMs` per key and reports how many were
 * suppressed, so a flood of bad frames cannot flood the log.
 */
export function throttled(now: () => number, windowMs = 10_000, burst = 5) {
  const windows = new Map<string, { start: number; count: number; suppressed: number }>();
  return (key: string, emit: (suppressed: number) => void): void => {
    const t = now();
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: t, count: 0, suppressed: 0 };
      windows.set(key, w);
      if (suppressed > 0) w.suppressed = suppressed; // carried into the next emitted line
    }
    if (w.count < burst) {
      w.count++;
      const s = w.suppressed;
      w.suppressed = 0;
      emit(s);
    } else {
      w.suppressed++;
    }
  };
}

/**
 * An error as log text, whatever was thrown: a plugin may throw a value that cannot be turned
 * into a string (`Object.create(null)`, an object whose toString throws), and a log call that
 * throws from inside a catch block loses what it was reporting, or worse, escapes into uWS.
 */
export function errorText(err: unknown): string {
  try {
    return String((err as Error)?.stack ?? err);
  } catch {
    try {
      return Object.prototype.toString.call(err);
    } catch {
      // A revoked Proxy, a throwing Symbol.toStringTag getter.
      return '(unprintable thrown value)';
    }
  }
}
