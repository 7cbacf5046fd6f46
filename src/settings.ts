import * as z from 'zod';
import { DEFAULT_LOG_BUFFER_BYTES, LOG_LEVELS } from './log-levels.js';
import { type Setting, count, numeric } from './setting-kinds.js';
import { AMQP } from './settings-amqp.js';
import { BACKFILL } from './settings-backfill.js';
import { BUS_SOURCES, BUS_THREAD, MESSAGE_LIMITS } from './settings-bus.js';
import { HISTORY_SCANS, HTTP_LIMITS, HTTP_LISTEN } from './settings-http.js';
import { PLUGIN_LIMITS, PLUGIN_SOURCES } from './settings-plugins.js';
import { JOURNAL_RETENTION, REPLAY_AND_WATCHES, STORAGE_PLACE } from './settings-storage.js';

export type { Setting } from './setting-kinds.js';
export { DEMO_DEFAULTS } from './settings-storage.js';

/**
 * Every setting, assembled from the areas' modules (src/settings-*.ts) with the process's own
 * few here. The order is the README table's and --help's, so the groups are spread in it, not
 * area by area.
 */
export const SETTINGS = {
  ...HTTP_LISTEN,
  ...BUS_SOURCES,
  ...STORAGE_PLACE,
  ...MESSAGE_LIMITS,
  ...PLUGIN_LIMITS,
  ...HTTP_LIMITS,
  logLevel: {
    type: () => z.enum(LOG_LEVELS),
    choices: LOG_LEVELS,
    default: 'info',
    flag: '<level>',
    help: 'log level',
  },
  logBufferBytes: {
    type: () => count(4096, 1024 * 1024 * 1024),
    default: DEFAULT_LOG_BUFFER_BYTES,
    flag: '<bytes>',
    help: 'bytes of log lines held for stdout at most while its reader does not keep up (a paused `| less`, a wedged log shipper): lines past it are dropped and counted (`statscache_log_dropped_lines_total`; /healthz and /readyz say degraded while it happens, and a line tells how many once stdout takes the log again); a log call never waits for stdout',
  },
  ...HISTORY_SCANS,
  ...BACKFILL,
  ...AMQP,
  ...JOURNAL_RETENTION,
  adminToken: {
    // A space or a control character cannot travel in an Authorization header as the admin
    // routes read it: such a token was taken, and every request (snapshot take's too) answered 401.
    type: () =>
      z
        .string()
        .min(16, 'must be at least 16 characters')
        .regex(/^[^\s\p{Cc}]+$/u, 'must hold no spaces or control characters, as an Authorization header carries it')
        .nullable(),
    default: null,
    flag: null,
    help: 'bearer token of `POST /admin/snapshot` (`statscache snapshot take`): at least 16 characters, no spaces or control characters; none disables the admin routes',
  },
  stopTimeout: {
    type: () => numeric(z.number().positive().max(600)),
    default: 20,
    flag: '<seconds>',
    help: 'longest graceful stop before the process exits anyway (status 1); a stop the main thread cannot end (stuck in synchronous code, or in a native call such as a read from a hung disk) is ended 5 s later by a thread of its own, with SIGKILL',
  },
  ...BUS_THREAD,
  ...REPLAY_AND_WATCHES,
  examples: {
    type: () => z.union([z.boolean(), z.stringbool()]),
    default: false,
    flag: '',
    help: 'serve the built browser examples under `/examples/` (see [Examples](#examples-pages-built-on-the-api))',
    defaultNote: 'on for `npm run demo`',
  },
  ...PLUGIN_SOURCES,
} as const satisfies Record<string, Setting>;

/** The config file is not a setting; its flag and variable are declared here for the CLI and the README. */
export const CONFIG_FILE = {
  flag: '--config',
  arg: '<file.json>',
  env: 'STATSCACHE_CONFIG',
  help: 'JSON config file, at most 1 MiB: an object with any of the config keys, each given once (above the defaults, below the environment and flags)',
} as const;
