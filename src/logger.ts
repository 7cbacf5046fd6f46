import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

import type { LogLevel } from './log-levels.js';
import { DEFAULT_LOG_BUFFER_BYTES } from './log-levels.js';
import { LogOutput } from './log-output.js';

export { LOG_LEVELS, type LogLevel } from './log-levels.js';
export { LogOutput, type LogOutputStatus } from './log-output.js';

/**
 * JSON lines on stdout: one object per event, ready for journald or a log shipper. Written off
 * the main thread with a bounded buffer (log-output.ts): a stopped reader costs dropped lines,
 * counted, never a stopped service.
 */
export function createLogger(
  level: LogLevel = 'info',
  output = new LogOutput({ maxBytes: DEFAULT_LOG_BUFFER_BYTES }),
): Logger {
  const log = pino(
    { level, base: { service: 'statscache' }, timestamp: pino.stdTimeFunctions.isoTime },
    output.destination,
  );
  output.onResumed = (dropped, since) =>
    log.warn(
      { dropped, since },
      `log output resumed: ${dropped} lines were dropped since ${since} while stdout was not read (--log-buffer-bytes full)`,
    );
  return log;
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
