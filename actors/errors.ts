/**
 * Start-up errors carry a stable code (like Fastify's FST_ERR_*) so operators and tests
 * can tell them apart without parsing prose; the message names the offending value.
 */
export type ErrorCode =
  | 'SC_PLUGIN_INVALID'
  | 'SC_PLUGIN_NAME_INVALID'
  | 'SC_PLUGIN_IDENT_DUPLICATE'
  | 'SC_PLUGIN_INTERVAL_INVALID'
  | 'SC_PLUGIN_EXPIRY_INVALID'
  | 'SC_PLUGIN_FIELD_MISSING'
  | 'SC_PLUGIN_FIELD_INVALID'
  | 'SC_PLUGIN_LOAD_FAILED'
  | 'SC_CONFIG_INVALID'
  | 'SC_SNAPSHOT_UNREADABLE'
  | 'SC_SNAPSHOT_TOO_NEW'
  | 'SC_SNAPSHOT_MIGRATION_FAILED'
  | 'SC_SNAPSHOT_SHAPE_CHANGED'
  | 'SC_PORT_IN_USE'
  | 'SC_LISTEN_FAILED'
  | 'SC_BUS_BIND_FAILED'
  | 'SC_BUS_THREAD_HUNG'
  | 'SC_DATA_DIR_LOCKED'
  | 'SC_DATA_DIR_UNWRITABLE'
  | 'SC_DATA_DAMAGED'
  | 'SC_DATA_FILE_UNCHECKED'
  | 'SC_DATA_FILE_WRITE_FAILED'
  | 'SC_DATA_FILE_PANIC'
  | 'SC_BOOTSTRAP_FAILED'
  | 'SC_PLUGIN_STATE_LOADED'
  | 'SC_PLUGIN_STATE_UNKNOWN';

export class StatscacheError extends Error {
  readonly code: ErrorCode;
  /**
   * The operator's to fix even though the code also covers passing failures (a peer refusing
   * this replica's token, not a peer that is down): exit 2 for this one.
   */
  readonly operatorFix: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; operatorFix?: boolean }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StatscacheError';
    this.code = code;
    this.operatorFix = options?.operatorFix ?? false;
  }
}

export function isStatscacheError(err: unknown): err is StatscacheError {
  return err instanceof StatscacheError;
}

/**
 * Codes an operator fixes by changing how the process is started (a setting, the plugin list
 * or a plugin's definition, a port, a folder, a second instance, the statscache version that
 * reads the stored state): exit 2, like a usage error, so a supervisor does not loop on them.
 */
const OPERATOR_CODES: ReadonlySet<ErrorCode> = new Set([
  'SC_CONFIG_INVALID',
  // The same code reading the same state refuses it the same way on every start.
  'SC_SNAPSHOT_TOO_NEW',
  'SC_SNAPSHOT_MIGRATION_FAILED',
  'SC_SNAPSHOT_SHAPE_CHANGED',
  'SC_PLUGIN_INVALID',
  'SC_PLUGIN_NAME_INVALID',
  'SC_PLUGIN_IDENT_DUPLICATE',
  'SC_PLUGIN_INTERVAL_INVALID',
  'SC_PLUGIN_EXPIRY_INVALID',
  'SC_PLUGIN_FIELD_MISSING',
  'SC_PLUGIN_FIELD_INVALID',
  'SC_PLUGIN_LOAD_FAILED',
  'SC_PORT_IN_USE',
  'SC_LISTEN_FAILED',
  'SC_BUS_BIND_FAILED',
  'SC_DATA_DIR_LOCKED',
  'SC_DATA_DIR_UNWRITABLE',
  // `snapshot drop-plugin`: an ident the config loads, or one no generation holds (a typo).
  'SC_PLUGIN_STATE_LOADED',
  'SC_PLUGIN_STATE_UNKNOWN',
]);

export function exitCodeOf(err: StatscacheError): number {
  return err.operatorFix || OPERATOR_CODES.has(err.code) ? 2 : 1;
}
