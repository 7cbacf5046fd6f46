/**
 * Reads a whole backfill window from a history (no failures expected: a retry throws) and says
 * what was read, how many requests it took and why paging ended early, for the paging tests.
 */
import { backfillPages } from '../../src/backfill.js';

export async function readAll(url: string, rowsPerPage: number, now: number, maxPages?: number) {
  const ids: string[] = [];
  const cutShort: string[] = [];
  let requests = 0;
  for await (const page of backfillPages(
    { start: now - 60, end: now },
    {
      url,
      rowsPerPage,
      nowSeconds: () => now,
      sleep: async () => {},
      ...(maxPages === undefined ? {} : { maxPages }),
      onRequest: () => void requests++,
      onRetry: (info) => {
        throw new Error(`unexpected retry: ${info.error}`);
      },
      onCutShort: (info) => void cutShort.push(info.reason),
    },
  ))
    ids.push(...page.envelopes.map((e) => e.msg_id as string));
  return { ids, cutShort, requests };
}
