/**
 * A counting view read two ways: its history over HTTP (every page) and one live view (the
 * newest page) over the WebSocket, merged by the larger count. Counts only grow on one server,
 * but not across servers: after a reconnect the server may have restarted from an older state,
 * or be another replica (another epoch), so every snapshot after the first rebuilds the rows
 * from that snapshot and a fresh read of the history, never merging onto what was shown.
 */
import type { Live, Params, Subscription } from './live.js';
import { mergeCounts, type Row, touched } from './statscache.js';

export interface CountsView {
  /** The merged rows, replaced as a whole on a rebuild. */
  rows(): Map<string, Row>;
  close(): void;
}

export function countsView(
  live: Live,
  ident: string,
  params: Params,
  history: () => Promise<Row[]>,
  keyOf: (r: Row) => string,
  draw: () => void,
  fail: (err: Error) => void,
): CountsView {
  let rows = new Map<string, Row>();
  let closed = false;
  /** The read whose answer still counts: a rebuild drops the answers of reads before it. */
  let round = 0;
  const read = (): void => {
    const mine = ++round;
    history().then((past) => {
      if (closed || mine !== round) return;
      mergeCounts(rows, past, keyOf);
      draw();
    }, fail);
  };
  // Live first, so nothing published while the history loads is missed; counts merge by max.
  const sub: Subscription = live.subscribe(ident, params, (changed, snapshot) => {
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
  });
  read();
  return {
    rows: () => rows,
    close() {
      closed = true;
      live.unsubscribe(sub);
    },
  };
}
