import { DATA_FILE, dataFileWriteFailed } from '../snapshots/lmdb-store.js';
import type { Config } from './config.js';
import type { PeerExport } from './export-process.js';
import type { ExportTally } from './export-tally.js';
import { type AdminHandler, createAdminHandler } from './http/admin-routes.js';
import { errorText } from './logger.js';
import type { ServiceHttpDeps } from './service-http.js';

/**
 * GET /admin/export's export (bootstrap.ts), loaded on the first request: it brings the import
 * and export commands, and most services are never asked. One peerExport for all requests, so
 * concurrent ones still share one export child.
 */
function lazyPeerExport(config: Config, tally: ExportTally, signal?: AbortSignal): () => Promise<PeerExport> {
  let loaded: Promise<() => Promise<PeerExport>> | undefined;
  const { dataDir, backfillOverlap, exportTimeout } = config;
  return async () => {
    loaded ??= import('./bootstrap.js').then(({ peerExport }) =>
      peerExport(dataDir, backfillOverlap, exportTimeout, tally, signal),
    );
    return (await loaded)();
  };
}

/**
 * The service's `/admin/*` routes (POST /admin/snapshot, GET /admin/export), wired to its
 * snapshot, its log and its stop signal; `exports` counts the exports, for /metrics.
 */
export function serviceAdmin(
  d: Pick<ServiceHttpDeps, 'config' | 'log' | 'snapshot' | 'stopping'>,
  exports: ExportTally,
): AdminHandler {
  const { config } = d;
  return createAdminHandler({
    adminToken: config.adminToken,
    // A refused write names the data file, as the offline writers do (`snapshot take` prints it).
    snapshot: () =>
      d.snapshot().catch((err: unknown) => {
        throw (
          dataFileWriteFailed(
            config.dataDir,
            DATA_FILE,
            err,
            'the service keeps serving, and its state is written with the next snapshot that succeeds',
            'the service stops without a final snapshot and exits 1 for its supervisor, whose restart opens the file afresh',
          ) ?? err
        );
      }),
    exportSnapshot: lazyPeerExport(config, exports, d.stopping),
    onExportError: (err) =>
      d.log.error(
        { err: errorText(err) },
        'GET /admin/export failed: answered 500; a replica bootstrapping from this service retries',
      ),
  });
}
