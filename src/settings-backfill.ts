/** Where what the bus did not bring comes from: the history to backfill from, a peer to start from, and their timing. */
import * as z from 'zod';
import { count, seconds, type Setting } from './setting-kinds.js';

/** Backfill after downtime and gaps, and the bootstrap of an empty data dir. */
export const BACKFILL = {
  datagrepper: {
    type: () => z.url({ protocol: /^https?$/ }).nullable(),
    default: null,
    flag: '<url>',
    help: "a datagrepper `/raw` or `/v2/search` URL (or another statscache's `/raw`) to backfill from after downtime and detected gaps",
  },
  bootstrap: {
    // The peer's paths are appended to it: a query or fragment made `?x=1/admin/export`.
    type: () =>
      z
        .url({ protocol: /^https?$/ })
        .refine((u) => !/[?#]/.test(u), 'must be a base URL without ?query or #fragment, like http://peer:8080')
        .nullable(),
    default: null,
    flag: '<peer url>',
    help: "a running peer's base URL: an empty data dir is first filled from the peer's newest snapshot (`GET /admin/export`, with this replica's adminToken; checksum verified), then backfilled from the peer's `/raw` before the replica reports ready; a data dir that already holds state ignores it",
  },
  exportTimeout: {
    type: () => seconds(1, 86_400),
    default: 600,
    flag: '<seconds>',
    help: 'longest an export of the state may take (1 to 86400): a `GET /admin/export` whose child process has not finished by then is killed and answered `500 export_failed` (`statscache_exports_total{outcome="timed_out"}`), so a child that stopped answering cannot hold every later export; and with `--bootstrap`, the longest this replica waits for the whole download of its peer\'s. Raise it on the peer and its replicas alike for a state too large to export in time: an export built after the replica gave up serves nobody',
    defaultNote: '10 minutes',
  },
  bootstrapIdleTimeout: {
    type: () => seconds(0.1, 3600),
    default: 60,
    flag: '<seconds>',
    help: "with `--bootstrap`, longest the download of the peer's export may go without a byte once the peer began its answer (0.1 to 3600): a peer or proxy that sent the headers and stalls is given up then (`SC_BOOTSTRAP_FAILED`, exit 1: the supervisor's restart tries again), not after the whole `--export-timeout`, which still bounds the wait for the answer to begin (the peer builds the export first) and the whole download",
  },
  backfillOverlap: {
    type: () => seconds(0, 86_400),
    default: 600,
    flag: '<seconds>',
    help: 'seconds re-fetched before the newest journaled message (late and in-flight messages)',
  },
  backfillRequestTimeout: {
    type: () => seconds(0.1, 3600),
    default: 30,
    flag: '<seconds>',
    help: 'longest one backfill request to the history may take, its whole answer read (0.1 to 3600): a page not answered by then is abandoned and asked again after the usual back-off (`statscache_intake_total{event="backfill_retries"}`, logged as "backfill page failed; retrying"), so a history that hangs cannot hold the backfill. Raise it behind a slow proxy, or for a history whose pages take long to build',
  },
  backfillRowsPerPage: {
    type: () => count(1, 100),
    default: 100,
    flag: '<rows>',
    help: "messages asked of the history per page of a backfill (`rows_per_page`, 1 to 100, datagrepper's own largest): lower it for a small datagrepper instance that cannot build a page of 100 in time; a history that answers fewer per page and says so in its `arguments` is paged by its own size either way",
  },
  readyTimeout: {
    type: () => seconds(0, 86_400),
    default: 30,
    flag: '<seconds>',
    help: 'longest a slow or unreachable `--datagrepper` may keep start-up unready (0 to 86400); then live intake opens and `/readyz` answers 200 with a `degraded` reason while the backfill goes on in the background',
  },
  gapBackfillInterval: {
    type: () => seconds(0.05, 3600),
    default: 30,
    flag: '<seconds>',
    help: 'least seconds between two gap backfills (0.05 to 3600); gaps suspected meanwhile are merged into the next one',
  },
  historyLag: {
    type: () => seconds(0, 3600),
    default: 30,
    flag: '<seconds>',
    help: "how far the history's archive may run behind the bus (datanommer stores what the bus carried a little later): what every backfilled window (the start-up one, each gap's) held from this many seconds before it was read is fetched again once this long has passed since its end or the read, de-duplicated (0: never)",
  },
} as const satisfies Record<string, Setting>;
