/**
 * What an imported export covers of this data dir's journal (snapshot-import.ts): the time it
 * counts without the tail carrying ids, and the data dir's own messages it lacks.
 */
import type { Journal } from '../../snapshots/journal.js';
import { messageId } from '../../snapshots/journal-record.js';
import type { JournalMove } from '../../snapshots/lmdb-store.js';
import type { ExportPayload } from './export-format.js';

/**
 * The tail's window in seconds (ExportPayload.journalTailSeconds); for an export made before
 * that was written, the span its tail shows (newest timestamp minus the oldest tail message's).
 */
function tailWindow(payload: ExportPayload): number {
  if (payload.journalTailSeconds !== undefined) return payload.journalTailSeconds;
  let oldest = payload.meta.newestTimestamp;
  for (const e of payload.journalTail) if (e.timestamp < oldest) oldest = e.timestamp;
  return payload.meta.newestTimestamp - oldest;
}

/**
 * The newest message time the imported state counts without the tail carrying its id: just
 * before the tail's window (everything dated there or earlier is in the state, as
 * ownMessagesNotIn assumes). Recorded as trimmed, so backfill refuses such messages
 * (backfill_before_journal) instead of counting them again: a replica bootstrapped from a peer
 * took a gap backfill from the peer's /raw 40 minutes back and counted 768 of 700.
 */
export function coveredWithoutIds(payload: ExportPayload): number {
  const newest = payload.meta.newestTimestamp;
  if (!(newest > 0)) return Number.NEGATIVE_INFINITY;
  const window = tailWindow(payload);
  if (window <= 0) return newest;
  const start = newest - window;
  // Strictly before the window: a message dated at its first instant is in the tail or not in the state.
  return start - Math.max(Number.EPSILON * Math.abs(start), Number.MIN_VALUE);
}

/**
 * Messages of this data dir's journal that are not in the exported state, in journal order:
 * those timestamped after its newest message, and those within the tail's window before it
 * whose id the tail lacks (the tail holds every message of the state in that window). Older
 * messages are assumed to be in the state: the export says nothing about them.
 */
export function ownMessagesNotIn(payload: ExportPayload, journal: Journal): Omit<JournalMove, 'to'>[] {
  const newest = payload.meta.newestTimestamp;
  const window = tailWindow(payload);
  const inTail = new Set(payload.journalTail.map(messageId));
  const own: Omit<JournalMove, 'to'>[] = [];
  // Without a window, a message timestamped exactly the state's newest may be in it: kept as covered.
  for (const entry of journal.byTime(window > 0 ? newest - window : newest, Number.MAX_VALUE, 'asc')) {
    const timestamp = entry.envelope.timestamp;
    if (inTail.has(entry.id) || (window === 0 && timestamp <= newest)) continue;
    own.push({ from: entry.seq, id: entry.id, timestamp });
  }
  return own.sort((a, b) => a.from - b.from);
}
