/**
 * Start-up errors carry a stable code (like Fastify's FST_ERR_*) so operators and tests
 * can tell them apart without parsing prose; the message names the offending value.
 */
export type ErrorCode =
  | 'SC_PLUGIN_INVALID'
  | 'SC_PLUGIN_NAME_INVALID'
  | 'SC_PLUGIN_IDENT_DUPLICATE'
  | 'SC_PLUGIN_INTERVAL_INVALID'
  | 'SC_PLUGIN_FIELD_MISSING'
  | 'SC_PLUGIN_FIELD_INVALID'
  | 'SC_PLUGIN_LOAD_FAILED'
  | 'SC_CONFIG_INVALID'
  | 'SC_SNAPSHOT_UNREADABLE'
  | 'SC_SNAPSHOT_TOO_NEW'
  | 'SC_SNAPSHOT_MIGRATION_FAILED';

export class StatscacheError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'StatscacheError';
    this.code = code;
  }
}

export function isStatscacheError(err: unknown): err is StatscacheError {
  return err instanceof StatscacheError;
}
