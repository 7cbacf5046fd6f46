/**
 * De-duplication of a new message id against a journal of N ids, beside its baseline in the
 * same run: the id index read in LMDB (what every new id cost before the filter, and still
 * costs until the filter is built) against the Bloom filter (snapshots/id-filter.ts), and the
 * time to fill the filter from the index. Not part of `npm test`.
 *   node dist/bench/dedupe.js            (BENCH_IDS=500000 by default)
 */
// Decode as `statscache serve` does (its CLI loads this first): msgpackr's native string
// extraction off, which changes what replayed state holds and what the collector copies.
import '../src/msgpack-strings.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../snapshots/journal.js';
import { KnownIds } from '../snapshots/known-ids.js';
import { DataStore } from '../snapshots/lmdb-store.js';

const N = Number(process.env['BENCH_IDS'] ?? 500_000);
const Q = 200_000;
const dir = mkdtempSync(join(tmpdir(), 'statscache-bench-dedupe-'));
const store = new DataStore(dir);
const journal = new Journal(store, {
  dedupeWindow: 1000,
  onWriteError: (err) => {
    throw err;
  },
});
const value = new Uint8Array(200);
// Ids shaped like fedmsg's: `<year>-<uuid>#<16 hex>`.
const idOf = (i: number, tag: string) => `2026-${((i * 2654435761) >>> 0).toString(16)}-${tag}-${i}#0123456789abcdef`;
for (let from = 0; from < N; from += 10_000) {
  const records = [];
  for (let i = from; i < Math.min(N, from + 10_000); i++)
    records.push({ seq: i + 1, id: idOf(i, 'c0ffee'), timestamp: 1.7e9 + i, value });
  await store.appendJournal(records);
}
const fresh = Array.from({ length: Q }, (_, i) => idOf(i, 'beef'));
/** CPU µs per seen() of an id never journaled. */
const perId = () => {
  const cpu = process.cpuUsage();
  let seen = 0;
  for (const id of fresh) if (journal.seen(id)) seen++;
  const used = process.cpuUsage(cpu);
  if (seen !== 0) throw new Error(`${seen} fresh ids reported seen`);
  return (used.user + used.system) / Q;
};
perId(); // warm-up
const index = [perId(), perId(), perId()];
const started = performance.now();
await journal.known.build();
const buildMs = performance.now() - started;
const filter = [perId(), perId(), perId()];
const min = (xs: number[]) => Math.min(...xs);

/**
 * Remembering an id once the memory window is full (the default 200 k), against what did it
 * before in the same run: a Set whose oldest id was found with values().next(). V8 leaves a
 * deleted entry as a hole at the front of the Set's table until a rehash, and the iterator
 * steps over every hole, so that cost grew with the window.
 */
const WINDOW = 200_000;
const stream = Array.from({ length: WINDOW + 300_000 }, (_, i) => idOf(i, 'window'));
const rememberUs = (remember: (id: string) => void) => {
  for (let i = 0; i < WINDOW; i++) remember(stream[i] as string);
  const cpu = process.cpuUsage();
  for (let i = WINDOW; i < stream.length; i++) remember(stream[i] as string);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / (stream.length - WINDOW);
};
const windowKnownIds = () => {
  const ids = new KnownIds(store, WINDOW, () => Promise.resolve());
  return rememberUs((id) => ids.remember(id));
};
const windowSetIterator = () => {
  const recent = new Set<string>();
  return rememberUs((id) => {
    recent.add(id);
    if (recent.size > WINDOW) {
      const oldest = recent.values().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
  });
};
const known = [windowKnownIds(), windowKnownIds()];
const setIterator = [windowSetIterator(), windowSetIterator()];
console.log(
  JSON.stringify({
    journal_ids: N,
    index_read_us_per_id: +min(index).toFixed(3),
    filter_us_per_id: +min(filter).toFixed(3),
    ratio: +(min(index) / min(filter)).toFixed(2),
    filter_build_ms: Math.round(buildMs),
    filter_bytes: journal.known.stats.filterBytes,
    remember_us_window_full: +min(known).toFixed(3),
    remember_us_window_full_set_iterator: +min(setIterator).toFixed(3),
  }),
);
await store.close();
rmSync(dir, { recursive: true, force: true });
