import { lockDataDir, unwritableDataDir, type DataDirLock } from '../snapshots/data-dir-lock.js';
import { DataStore } from '../snapshots/lmdb-store.js';
import { type CheckAndReadResult, checkAndRead } from '../snapshots/check-and-read.js';
import { quarantineAndSalvage, removeOldSalvages, type SalvageReport } from '../snapshots/quarantine.js';
import { writePidFile } from '../snapshots/pid-file.js';
import type { PrereadSlot } from '../snapshots/restore.js';
import { type AmqpClient, loadAmqpClient } from './amqp-inputs-deps.js';
import { systemClock } from './clock.js';
import type { ServiceOptions } from './service-options.js';

/** What build() hands the service it makes: the data dir opened, and what was found there. */
export interface OpenedDataDir {
  readonly store: DataStore;
  /** The newest snapshot, read ahead by the file check; null when it did not run or found damage. */
  readonly preread: PrereadSlot | null;
  readonly amqpClient: AmqpClient | null;
  readonly lock: DataDirLock;
  /** Set when the data file was found damaged and moved to quarantine. */
  readonly quarantine: SalvageReport | null;
}

/** The data dir locked and its check under way: what build() goes on from. */
export interface ClaimedDataDir {
  readonly lock: DataDirLock;
  /** Work dirs of salvages killed half-way, removed under the lock. */
  readonly leftovers: readonly string[];
  readonly check: Promise<CheckAndReadResult>;
}

/**
 * Locks the data dir (SC_DATA_DIR_LOCKED if another process holds it) and starts the check of
 * its data file in child processes that also read the newest snapshot ahead (check-and-read.ts).
 * The CLI calls it before it loads the service's modules, so the children run meanwhile on the
 * other core; build() calls it itself when not given one. On a throw the lock is released.
 */
export function claimDataDir(
  options: Pick<ServiceOptions, 'config' | 'checkDataFile' | 'checkStreamAboveBytes'>,
): ClaimedDataDir {
  const { dataDir } = options.config;
  const lock = lockDataDir(dataDir, 'serve');
  try {
    // Left by a salvage that was killed half-way (each a copy of the data); ours to remove under the lock.
    const leftovers = removeOldSalvages(dataDir);
    const check =
      options.checkDataFile === false
        ? Promise.resolve({ ok: true, counts: {}, ms: 0, preread: null } as const)
        : checkAndRead(dataDir, { write: true, streamAboveBytes: options.checkStreamAboveBytes });
    // Awaited by build(); a refusal before then (SC_DATA_FILE_UNCHECKED) is not unhandled.
    check.catch(() => undefined);
    return { lock, leftovers, check };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * Service.build()'s body: claims the data dir (claimDataDir, unless options.claimed did), waits
 * for the check (a damaged file is quarantined and salvaged), opens the store, then has `make`
 * build the service on it (validating plugins and restoring the newest readable snapshot). On
 * any throw the store is closed and the lock released.
 */
export async function buildService<S>(options: ServiceOptions, make: (opened: OpenedDataDir) => S): Promise<S> {
  const { dataDir } = options.config;
  const claimed = options.claimed ?? claimDataDir(options);
  const { lock } = claimed;
  let store: DataStore | null = null;
  try {
    if (claimed.leftovers.length > 0)
      options.logger.warn({ removed: claimed.leftovers }, 'removed the work dirs of salvages that did not finish');
    const check = await claimed.check;
    let report: SalvageReport | null = null;
    if (check.ok) options.logger.debug({ ms: Math.round(check.ms), records: check.counts }, 'data file checked');
    else {
      report = quarantineAndSalvage(dataDir, check.problem, (options.clock ?? systemClock).now());
      options.logger.error(
        {
          file: report.file,
          problem: report.problem,
          quarantinedTo: report.quarantinedTo,
          salvagedSlots: report.slots,
          salvagedJournal: report.journal,
          lost: report.lost,
        },
        'data file damaged: moved to quarantine; starting from what could be salvaged (older generations, the journal, --datagrepper backfill)',
      );
    }
    try {
      store = new DataStore(dataDir, { probeAfterMs: options.config.writeProbeAfter * 1000 });
    } catch (err) {
      throw unwritableDataDir(dataDir, err) ?? err;
    }
    if (store.repairedTimeKeys > 0)
      options.logger.warn(
        { repairedTimeKeys: store.repairedTimeKeys },
        'history time index repaired: messages dated -0 by an older statscache were indexed under a key no /raw window reached; re-keyed to time 0 (or dropped where their journal record is gone)',
      );
    const service = make({
      store,
      preread: check.ok ? check.preread : null,
      amqpClient: await loadAmqpClient(options.config),
      lock,
      quarantine: report,
    });
    // Tells offline tools and operators which process holds this data dir.
    writePidFile(dataDir);
    return service;
  } catch (err) {
    const opened = store;
    if (opened) void opened.close().finally(() => lock.release());
    else lock.release();
    throw err;
  }
}
