import { parentPort, workerData } from 'node:worker_threads';
import {
  BEACON_SLOTS,
  type BeaconReading,
  readBeacon,
  readViewBeacon,
  readViewParams,
  samePlace,
  sameView,
  type ViewReading,
} from '../actors/apply-beacon.js';
import { REPLAY_POLL_MS, REPLAY_SLOW_APPLY_MS, SLOW_APPLY_MS } from '../snapshots/applying-mark.js';
import { HangRecords, RECORD_WAIT_MS } from './hang-records.js';
import type { HangWatchData } from './hang-watch.js';
import { fatalLine, killFromThread } from './thread-kill.js';

/**
 * The hang watch thread (hang-watch.ts): looks at the apply beacon every `pollMs`; a plugin seen
 * on the same message of the same batch for `timeoutMs` is stuck. The main thread cannot be
 * interrupted in the middle of synchronous code, so the pair is recorded on disk and the process
 * is killed; the next start skips that message for that plugin. SIGKILL, not an exit: the main
 * thread would have to run to exit cleanly, and it never will. Everything accepted before it is
 * on disk already (the journal commits before plugins apply); what was on its way in is fetched
 * again by the next start's backfill.
 *
 * A message held past SLOW_APPLY_MS is also written down (applying-mark.ts) until the plugin moves
 * on: a process that dies inside a plugin (out of memory) leaves it behind for the next start.
 * So is a view call held that long, with its parameters: the next start refuses them to that view.
 *
 * A plugin's custom view computing for one set of parameters past `timeoutMs` ends the process
 * the same way; the (plugin, parameters) pair goes to hung-views.json, and the next start refuses
 * those parameters to that view.
 */
const data = workerData as HangWatchData;
// Tests only: the thread fails as it starts (test/recovery/hang-watch-failed.test.ts).
if (process.env['STATSCACHE_TEST_HANG_WATCH_FAIL'] !== undefined) throw new Error('hang watch failed (test hook)');
/**
 * Files are written on a thread of their own: written here, a hung disk held this thread in
 * its fsync, before the kill (and at the slow-message mark, before the timeout was even seen).
 */
const records = new HangRecords(data.dataDir, new URL('./hang-record-writer.js', import.meta.url));
const slots = new Float64Array(data.buffer, 0, BEACON_SLOTS);
const heapShare = new Float64Array(data.heapShare);
const replaying = new Int32Array(data.replaying);
let seen: BeaconReading = readBeacon(slots);
let since = performance.now();
let viewSeen: ViewReading = readViewBeacon(slots);
let viewSince = since;
/** What applying.json holds: the message now seen, the view call now seen, or nothing. */
let marked: 'message' | 'view' | null = null;
const identOf = (reading: { readonly plugin: number }): string => data.idents[reading.plugin] ?? `#${reading.plugin}`;

/** Looks at the beacon: `timer` always, `replayTimer` too while the start-up replay runs. */
function look(): void {
  const now = performance.now();
  if (viewHung(now)) return;
  const reading = readBeacon(slots);
  if (!samePlace(reading, seen)) {
    seen = reading;
    since = now;
    if (marked === 'message') unmark();
    return;
  }
  const markAfter = Atomics.load(replaying, 0) === 1 ? REPLAY_SLOW_APPLY_MS : SLOW_APPLY_MS;
  if (marked === null && now - since >= markAfter && reading.seq > 0) {
    const began = new Date(Date.now() - (now - since)).toISOString();
    const share = heapShare[0] as number;
    // Best effort: without it a death on this message is not recognised at the next start.
    const mark = { seq: reading.seq, ident: identOf(reading), since: began, heapShare: share };
    if (records.post({ kind: 'mark', mark })) marked = 'message';
  }
  if (now - since < data.timeoutMs) return;
  stopLooking();
  // The hang is recorded as such; the mark would count it a second time, as a death.
  if (marked !== null) unmark();
  const ident = identOf(reading);
  const at = new Date().toISOString();
  const heldMs = Math.round(now - since);
  const record = { seq: reading.seq, ident, at, timeoutSeconds: data.timeoutMs / 1000 };
  void records.write({ kind: 'hang', record }, RECORD_WAIT_MS).then((recorded) =>
    endProcess(at, {
      plugin: ident,
      seq: reading.seq,
      heldMs,
      recorded,
      msg: recorded
        ? `plugin "${ident}" has been applying journal seq ${reading.seq} for over --plugin-hang-timeout ${data.timeoutMs / 1000} s: ending the process; the next start skips that message for that plugin`
        : `plugin "${ident}" has been applying journal seq ${reading.seq} for over --plugin-hang-timeout ${data.timeoutMs / 1000} s: ending the process; the hang could not be recorded within ${RECORD_WAIT_MS / 1000} s (the data dir's disk failed or hangs), so the next start gives that message to that plugin again`,
    }),
  );
}

const timer = setInterval(look, data.pollMs);
const replayTimer = setInterval(() => {
  if (Atomics.load(replaying, 0) === 1) look();
  else clearInterval(replayTimer);
}, REPLAY_POLL_MS);

function stopLooking(): void {
  clearInterval(timer);
  clearInterval(replayTimer);
}

/**
 * Whether a view has computed past the timeout; if so, records it and ends the process. Past
 * SLOW_APPLY_MS, writes the call down until it returns.
 */
function viewHung(now: number): boolean {
  const reading = readViewBeacon(slots);
  if (!sameView(reading, viewSeen)) {
    viewSeen = reading;
    viewSince = now;
    if (marked === 'view') unmark();
    return false;
  }
  if (marked === null && now - viewSince >= SLOW_APPLY_MS) markView(reading, now);
  if (now - viewSince < data.timeoutMs) return false;
  const params = readViewParams(data.buffer, reading);
  // It returned while this looked: the parameters read may be the next call's.
  if (params === null) return false;
  stopLooking();
  // Recorded as a hang; the mark would count it again, as a death.
  if (marked !== null) unmark();
  const ident = identOf(reading);
  const at = new Date().toISOString();
  const heldMs = Math.round(now - viewSince);
  const record = {
    ident,
    params,
    view: data.viewDigests[reading.plugin] ?? '',
    at,
    timeoutSeconds: data.timeoutMs / 1000,
  };
  void records.write({ kind: 'view-hang', record }, RECORD_WAIT_MS).then((recorded) =>
    endProcess(at, {
      plugin: ident,
      params,
      heldMs,
      recorded,
      msg: recorded
        ? `the view of plugin "${ident}" has been computing for over --plugin-hang-timeout ${data.timeoutMs / 1000} s with parameters ${params}: ending the process; the next start refuses those parameters to that view (view_hung)`
        : `the view of plugin "${ident}" has been computing for over --plugin-hang-timeout ${data.timeoutMs / 1000} s with parameters ${params}: ending the process; the hang could not be recorded within ${RECORD_WAIT_MS / 1000} s (the data dir's disk failed or hangs), so the next start does not refuse them`,
    }),
  );
  return true;
}

/**
 * Writes the fatal line and kills the process (thread-kill.ts). The process's logger lives on the
 * stuck thread, and a worker's process.stdout is relayed through that thread too: written
 * straight to fd 1 here, or stderr when stdout refuses it. Nowhere to say it: the record on
 * disk (hung-messages.json, hung-views.json) still names it.
 */
function endProcess(at: string, fields: Record<string, unknown> & { readonly msg: string }): void {
  const line = fatalLine(at, fields);
  killFromThread([
    [1, line],
    [2, line],
  ]);
}

function markView(reading: ViewReading, now: number): void {
  const params = readViewParams(data.buffer, reading);
  // It returned while this looked: the next poll sees a new call, or none.
  if (params === null) return;
  // Best effort: without it a death in this view is not recognised at the next start.
  const mark = {
    kind: 'view' as const,
    ident: identOf(reading),
    params,
    view: data.viewDigests[reading.plugin] ?? '',
    since: new Date(Date.now() - (now - viewSince)).toISOString(),
    heapShare: heapShare[0] as number,
  };
  if (records.post({ kind: 'mark', mark })) marked = 'view';
}

function unmark(): void {
  marked = null;
  // Best effort: a mark left behind names a message that did complete, one death counted that was not.
  records.post({ kind: 'unmark' });
}

parentPort?.on('message', (m: unknown) => {
  if (m === 'stop') {
    stopLooking();
    // After a mark still on its way: the main thread's own clear may come before it is written.
    records.post({ kind: 'unmark' });
    records.stop();
    parentPort?.close();
  }
});
