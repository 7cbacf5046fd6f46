/** The data dir's settings: snapshots, the journal's retention, start-up replay, and the watches on threads and disk. */
import * as z from 'zod';
import { MAX_BACKLOG_BYTES } from '../snapshots/journal-backlog.js';
import { PROBE_AFTER_MS } from '../snapshots/append-settlement.js';
import { PROBE_TO, THREADED_REPLAY_MIN } from './replay-thresholds.js';
import { count, interval, numeric, seconds, type Setting } from './setting-kinds.js';

/**
 * 40000 as en-US writes it, "40,000": toLocaleString loads ICU's locale data on first use,
 * ~30 ms of CPU at every start for this one help line.
 */
const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** `demo`'s data dir (a source below the config file), so made-up traffic never mixes with `serve`'s. */
export const DEMO_DEFAULTS = { dataDir: 'data-demo', examples: true } as const;

/** Where the LMDB store lives and how often a snapshot is written to it. */
export const STORAGE_PLACE = {
  dataDir: {
    type: () => z.string().min(1),
    default: 'data',
    flag: '<path>',
    help: 'where the LMDB snapshot store lives (`.gitignore` covers `data/` and `data-demo/`). One process at a time: a second writer exits 2 with `SC_DATA_DIR_LOCKED` (see [Restoring state](#restoring-state-runbook))',
    defaultNote: `\`${DEMO_DEFAULTS.dataDir}\` for \`npm run demo\``,
  },
  snapshotInterval: {
    // At least 0.1 s: 1e-9 was accepted, a snapshot timer every turn (37% of a core idle).
    type: () => seconds(0.1, 86_400),
    default: 30,
    flag: '<seconds>',
    help: 'seconds between snapshots (0.1 to 86400; one is also written on SIGTERM/SIGINT)',
  },
} as const satisfies Record<string, Setting>;

/** How many generations and how much journal are kept, on disk and in memory. */
export const JOURNAL_RETENTION = {
  snapshotGenerations: {
    type: () => count(1, 16),
    default: 3,
    flag: '<n>',
    help: 'snapshot generations kept; a damaged one falls back to the previous. Lowered, the slots past the new count are removed after the first snapshot at it',
  },
  journalMaxAge: {
    type: () => interval('must be a non-zero interval up to 36500d, like 7d or 12h'),
    default: '7d',
    flag: '<interval>',
    help: 'journal retention by message age (only entries every kept snapshot covers are dropped; on a quiet bus a snapshot writes a generation of the unchanged state when older ones hold such entries back)',
  },
  journalMaxBytes: {
    type: () =>
      numeric(
        z
          .number()
          .int()
          .min(1024 * 1024),
      ),
    default: 2 * 1024 ** 3,
    flag: '<bytes>',
    help: 'journal size cap, enforced the same way',
    defaultNote: '2 GiB',
  },
  journalMaxHeldBytes: {
    type: () => count(4096, 4 * 1024 ** 3),
    default: MAX_BACKLOG_BYTES,
    flag: '<bytes>',
    help: 'journal records held in memory while the disk refuses writes, to be written again (runbook: Disk full); older ones past it are let go and reach the disk with the next snapshot, taken as soon as writes succeed again',
    defaultNote: '64 MiB',
  },
  dedupeWindow: {
    type: () => count(1000, 10_000_000),
    default: 200_000,
    flag: null,
    help: 'message ids kept in memory for de-duplication (older ones are found in the journal index)',
  },
} as const satisfies Record<string, Setting>;

/** Start-up replay, and how long a thread or a disk write may stall before it is taken for stuck. */
export const REPLAY_AND_WATCHES = {
  replayThread: {
    type: () => z.union([z.boolean(), z.stringbool()]),
    default: true,
    flag: '<true|false>',
    help: `read, check and decode journal records for start-up replay on a second thread, so replay uses both cores; replay times its first ${PROBE_TO} records in windows and hands the rest over only when applying them costs the main thread more than that thread costs, and at least ${grouped(THREADED_REPLAY_MIN)} are left (fewer finish sooner on the main thread) (\`false\`: all on the main thread)`,
  },
  threadHangTimeout: {
    type: () => seconds(0, 86_400),
    default: 30,
    flag: '<seconds>',
    help: 'longest the bus thread, the replay thread, the AMQP prepare thread or the AMQP input thread may go without progress (a message or record handled) or a turn of its event loop (which an idle thread takes 10 times a second: a quiet bus or a thread waiting for the main thread is no hang) before it is taken for stuck, in an endless loop or a native call: the replay thread is ended and start-up replays the rest on the main thread (`statscache_intake_total{event="replay_thread_hangs"}`); the AMQP prepare thread (`--amqp-thread`) is ended and large deliveries are decoded on the main thread until a fresh one is up (`--amqp-thread-restarts`) (`statscache_intake_total{event="amqp_thread_failures"}`); the AMQP input thread (`--amqp-input-thread`) is ended with its connections (the broker delivers again what it had not acked) and a fresh one connects after the same back-off, and past `--amqp-thread-restarts` it is intake stopped as a stuck bus thread is; a stuck bus thread is intake stopped, as a receive loop that ended: `/healthz` and `/readyz` answer 503 `intake stopped`, and `serve` stops (final snapshot) and exits 1 for its supervisor to restart it (`statscache_intake_total{event="bus_thread_hangs"}`); one stuck while it opens its sockets fails the start (`SC_BUS_THREAD_HUNG`, exit 1). (`0`: never)',
  },
  threadStartTimeout: {
    type: () => seconds(0, 86_400),
    default: 30,
    flag: '<seconds>',
    help: 'longest the bus thread, the replay thread, the AMQP prepare thread or the AMQP input thread may take from its creation to its first sign of life, loading its modules (`--thread-hang-timeout` watches it from then on): one stuck before it (a module whose top-level code loops, a native module whose load blocks) is taken for stuck: a replay thread is ended and start-up replays on the main thread (`statscache_intake_total{event="replay_thread_hangs"}`); a bus thread fails the start (`SC_BUS_THREAD_HUNG`, exit 1) instead of holding it in `starting` for good; an AMQP prepare thread is ended and large deliveries are decoded on the main thread. Far above what loading them takes: 0.37 to 0.84 s from creation to first sign of life, measured on a 2-core machine under a load average of 17. (`0`: never)',
  },
  diskHangTimeout: {
    type: () => seconds(0, 86_400),
    default: 60,
    flag: '<seconds>',
    help: 'longest a journal commit or a snapshot write may wait on the disk before `/readyz` answers 503 `journal commit pending for <n> s` (or `snapshot write pending …`) and `/healthz` says degraded (still 200: a restart does not unwedge a disk): a disk that hangs (an NFS or iSCSI server gone, a device stuck) returns no error, and every message waits on that write before it is applied. A snapshot whose fill goes on writing is not waiting; its commit is. Above the worst fsync a healthy disk takes; `statscache_disk_write_pending_seconds{write}` gives the ages. (`0`: never)',
  },
  writeProbeAfter: {
    // The tests of a refusing data file pass a fraction of a second: each refusal and its end waited out 2 s.
    type: () => seconds(0.05, 3600),
    default: PROBE_AFTER_MS / 1000,
    flag: '<seconds>',
    help: 'how long a journal commit or a snapshot write may stay unsettled before a write that changes nothing is queued behind it: lmdb-js settles a write the data file refused (made immutable, or a file system remounted read-only) neither way, and once the write behind it settles, the file is read for what became of it. So it is how soon such a refusal is reported (`journal writes failing`, `snapshots failing` on `/readyz`), and how soon held records are found written once the file takes writes again. Shorter queues that write behind every healthy write slower than it',
  },
} as const satisfies Record<string, Setting>;
