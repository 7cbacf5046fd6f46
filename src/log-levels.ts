// Apart from src/logger.ts so that the settings (read by every CLI command) do not load pino.
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Bytes of log lines held for stdout at most (--log-buffer-bytes; log-output.ts): hours of ordinary logging. */
export const DEFAULT_LOG_BUFFER_BYTES = 8 * 1024 * 1024;
