/**
 * A counting view read two ways: its history over HTTP (every page) and one live view (the
 * newest page) over the WebSocket, merged by the larger count. Counts only grow on one server,
 * but not across servers: after a reconnect the server may have restarted from an older state,
 * or be another replica (another epoch), so every snapshot after the first rebuilds the rows
 * from that snapshot and a fresh read of the history, never merging onto what was shown.
 *
 * The live view holds only the newest page: a message dated before it (backfilled after an
 * outage, or late) changes a row the server sends no frame for. So the history is read again
 * every `rereadMs` (jittered, counted from the end of the last read), and the page matches
 * /api within that time without a reload.
 */
import type { Live, Params, Refusal, Subscription } from './live.js';
import { jittered, mergeCounts, type Row, touched } from './statscache.js';

/** How often the history is read again by default: rows outside the live page change unseen otherwise. */
export const REREAD_MS = 120_000;

export interface CountsView {
  /** The merged rows, replaced as a whole on a rebuild. */
  rows(): Map<string, Row>;
  /** While the server refuses the live view: why (the rows are then the history's, not kept current). */
  refusal(): Refusal | null;
  /** What keeps the rows from being /api's, in words for the page (a failed read, a refused live view), or null. */
  problem(): string | null;
  close(): void;
}

export interface CountsOptions {
  /** The history read again after this long (±25%); default REREAD_MS. */
  readonly rereadMs?: number;
  /** The live view refused, or served again (null): the page says so where the view is shown. */
  readonly refused?: (refusal: Refusal | null) => void;
}

export function countsView(
  live: Live,
  ident: string,
  params: Params,
  history: () => Promise<Row[]>,
  keyOf: (r: Row) => string,
  draw: () => void,
  fail: (err: Error) => void,
  options: CountsOptions = {},
): CountsView {
  let rows = new Map<string, Row>();
  let closed = false;
  /** The read whose answer still counts: a rebuild drops the answers of reads before it. */
  let round = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let readError: string | null = null;
  const read = (): void => {
    const mine = ++round;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const again = () => {
      if (closed || mine !== round) return;
      timer = setTimeout(read, jittered(options.rereadMs ?? REREAD_MS));
    };
    history().then(
      (past) => {
        if (closed || mine !== round) return;
        readError = null;
        mergeCounts(rows, past, keyOf);
        draw();
        again();
      },
      (err: Error) => {
        // A view the page left, or a read a rebuild superseded, has nothing to say any more.
        if (closed || mine !== round) return;
        readError = err.message;
        fail(err);
        again();
      },
    );
  };
  // Live first, so nothing published while the history loads is missed; counts merge by max.
  const sub: Subscription = live.subscribe(
    ident,
    params,
    (changed, snapshot) => {
      if (closed) return;
      if (snapshot && sub.snapshots > 1) {
        rows = new Map();
        mergeCounts(rows, sub.rows.values(), keyOf);
        draw();
        read();
        return;
      }
      mergeCounts(rows, touched(sub, changed), keyOf);
      draw();
    },
    (refusal) => {
      if (!closed) options.refused?.(refusal);
    },
  );
  read();
  return {
    rows: () => rows,
    refusal: () => sub.refusal,
    problem() {
      const r = sub.refusal;
      if (readError !== null) return `Could not read the history: ${readError}`;
      if (r === null) return null;
      return r.retrying
        ? `The live view is refused for now (${r.code}), asked for again; the counts may be behind.`
        : `The live view is refused (${r.code}): ${r.detail}`;
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      live.unsubscribe(sub);
    },
  };
}
