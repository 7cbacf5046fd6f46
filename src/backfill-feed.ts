import type { Journal } from '../snapshots/journal.js';
import { DataFilePanicError } from '../snapshots/store-write-errors.js';
import { backfillPages, type BackfillWindow } from './backfill.js';
import type { EnvelopeLimits } from './envelope-limits.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';
import { Progress } from './progress.js';

/** What one window's backfill reads (RecoveryDeps extends it). */
export interface BackfillFeedDeps {
  readonly intake: Intake;
  readonly journal: Journal;
  readonly log: Logger;
  /** datagrepper's /raw URL, or null: no backfill. */
  readonly datagrepper: string | null;
  readonly nowSeconds: () => number;
  /** The bus's bounds on one message, applied to archived copies alike (maxFrameBytes also bounds a page's bytes). */
  readonly limits?: (Omit<EnvelopeLimits, 'nowSeconds'> & { readonly maxFrameBytes?: number }) | undefined;
  readonly signal: AbortSignal;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** A message whose apply threw (skipped and counted by the caller). */
  readonly onAcceptError?: (err: unknown, topic: string) => void;
  /** One history request's bound (--backfill-request-timeout), and the messages a page asks for (--backfill-rows-per-page). */
  readonly requestTimeoutMs?: number;
  readonly rowsPerPage?: number;
}

/**
 * Feeds every message of a datagrepper window, oldest first; retries pages until they succeed.
 * Each HTTP request is counted in `counters.historyRequests`; `onProgress` is told of each page
 * (for /readyz), and null once the window ends.
 */
export async function feedWindow(
  deps: BackfillFeedDeps,
  counters: { historyRequests: number },
  window: BackfillWindow,
  why: string,
  onProgress: (progress: Progress | null) => void,
): Promise<void> {
  const { datagrepper: url, log, intake, signal } = deps;
  if (!url) return;
  log.info({ why, start: window.start, end: window.end }, 'backfilling from datagrepper');
  let fed = 0;
  let skipped = 0;
  try {
    for await (const page of backfillPages(window, {
      url,
      nowSeconds: deps.nowSeconds,
      limits: deps.limits,
      ...(deps.requestTimeoutMs !== undefined ? { requestTimeoutMs: deps.requestTimeoutMs } : {}),
      ...(deps.rowsPerPage !== undefined ? { rowsPerPage: deps.rowsPerPage } : {}),
      signal,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      onRequest: () => void counters.historyRequests++,
      onRetry: (info) => {
        intake.counters.backfillRetries++;
        log.warn({ ...info, why }, 'backfill page failed; retrying');
      },
      onStepBack: (info) =>
        log.info(
          { ...info, why },
          'the history window shrank while paging (a peer trimming its journal): reading again from this page',
        ),
      onCutShort: (info) => {
        intake.counters.backfillCutShort++;
        log.error(
          { ...info, why, start: window.start, end: window.end },
          'backfill paging ended before the history said it would: messages of this window may be missing',
        );
      },
    })) {
      const progress = new Progress(`backfilling (${why})`, page.pages, log, null);
      progress.done = page.page;
      onProgress(progress);
      intake.counters.backfillInvalid += page.invalid;
      const trimmedThrough = deps.journal.trimmedThrough;
      for (const envelope of page.envelopes) {
        // A history serves every topic; the bus brought only the subscribed ones.
        if (!intake.subscribes(envelope.topic)) {
          intake.counters.backfillUnsubscribed++;
          continue;
        }
        // Counted before, maybe, with its id trimmed from the journal since: de-duplication cannot tell.
        if (envelope.timestamp <= trimmedThrough) {
          intake.counters.backfillBeforeJournal++;
          skipped++;
          continue;
        }
        try {
          if (intake.accept(envelope)) {
            fed++;
            intake.counters.backfilled++;
          }
        } catch (err) {
          // The data file failed for good (MDB_PANIC): no message can be de-duplicated or
          // journaled in this process, and the service is ending. Skipping each as lost would
          // count the rest of the window as dropped; the backfill ends with the coded error,
          // and the next start's backfill reads the window again.
          if (err instanceof DataFilePanicError) throw err;
          // One message that breaks the apply path is skipped, never the rest of the backfill.
          deps.onAcceptError?.(err, envelope.topic);
        }
      }
      // Applied (after its journal commit) before the next page is fetched: memory stays one page.
      await intake.settled();
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    onProgress(null);
  }
  if (skipped > 0)
    log.warn(
      { why, skipped, trimmedThrough: deps.journal.trimmedThrough },
      'history messages dated at or before what the journal has trimmed, or what an imported snapshot already holds, were not taken in: they may have been counted already, and the journal has no id of theirs to tell',
    );
  // Stopped part-way: not a finished backfill to report.
  if (signal.aborted) log.info({ why, fed }, 'backfill stopped: the service is stopping');
  else log.info({ why, fed }, 'backfill done');
}
