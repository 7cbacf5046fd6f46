import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Journal, JournalEntry } from '../../snapshots/journal.js';
import { categoryOf, type Envelope, type Meta } from '../envelope.js';
import type { MetaDeriver } from '../message.js';
import type { FilterField, HistoryQuery } from './history-params.js';

export interface HistoryHit {
  readonly entry: JournalEntry;
  /** Derived once when a filter or the `meta` parameter needed it. */
  readonly meta: Meta | undefined;
}

export interface HistoryPage {
  readonly hits: readonly HistoryHit[];
  readonly total: number;
}

/** When a filtered scan must give up: a deadline on the service clock (milliseconds), checked between slices. */
export interface ScanBudget {
  readonly deadlineMs: number;
  readonly nowMs: () => number;
  /** The slice timer's clock (performance.now() when absent; tests step it). */
  readonly sliceNowMs?: () => number;
  /** How the scan lets the loop run between slices (setImmediate when absent; tests hold it there). */
  readonly pause?: () => Promise<void>;
}

/** A filtered scan ran past its budget; nothing partial is served (a datagrepper client would take it for the whole answer). */
export class ScanTimeout extends Error {}

/** Whether a query needs the filtered scan (every message of the window decoded and tested) rather than the time index alone. */
export function isFilteredQuery(q: HistoryQuery): boolean {
  return TEST_ORDER.some((f) => q.filters[f].length > 0);
}

/** Timestamps are never negative (the bus edge rejects them); this stands for "no upper bound". */
const NO_END = Number.MAX_SAFE_INTEGER;

type Test = (envelope: Envelope, meta: () => Meta, text: () => string) => boolean;

const anyOf = (values: readonly string[], have: readonly string[]) => values.some((v) => have.includes(v));

/** One predicate per filter kind; OR within a kind, AND across kinds (datagrepper.md). */
const TESTS: Readonly<Record<FilterField, (values: readonly string[]) => Test>> = {
  topics: (values) => (e) => values.includes(e.topic),
  categories: (values) => (e) => values.includes(categoryOf(e.topic)),
  users: (values) => (_e, meta) => anyOf(values, meta().usernames),
  packages: (values) => (_e, meta) => anyOf(values, meta().packages),
  agents: (values) => (_e, meta) => values.includes(meta().agent ?? ''),
  contains: (values) => (_e, _meta, text) => values.some((v) => text().includes(v)),
  not_topics: (values) => (e) => !values.includes(e.topic),
  not_categories: (values) => (e) => !values.includes(categoryOf(e.topic)),
  not_users: (values) => (_e, meta) => !anyOf(values, meta().usernames),
  not_packages: (values) => (_e, meta) => !anyOf(values, meta().packages),
  not_agents: (values) => (_e, meta) => !values.includes(meta().agent ?? ''),
};

/** Cheap tests first: topic and category need no meta, `contains` needs the JSON text. */
const TEST_ORDER: readonly FilterField[] = [
  'topics',
  'not_topics',
  'categories',
  'not_categories',
  'agents',
  'not_agents',
  'users',
  'not_users',
  'packages',
  'not_packages',
  'contains',
];

/**
 * One page of the journal for a `/raw` query. The time window is read through the journal's
 * time index; without filters the total is counted from the index and only the served page is
 * decoded. With filters every message in the window is decoded and tested once (the window is
 * bounded by journal retention), meta is derived at most once per message and only when a
 * filter or the `meta` parameter needs it.
 */
export function searchJournal(
  journal: Journal,
  q: HistoryQuery,
  deriveMeta: MetaDeriver,
  budget?: ScanBudget,
): HistoryPage | Promise<HistoryPage> {
  const lo = Math.max(0, q.window?.start ?? 0);
  const hi = q.window?.end ?? NO_END;
  const offset = (q.page - 1) * q.rowsPerPage;
  const tests = TEST_ORDER.filter((f) => q.filters[f].length > 0).map((f) => TESTS[f](q.filters[f]));
  const wantMeta = q.meta.length > 0;

  if (tests.length === 0) {
    // Gated (a large journal): counted and paged in steps that yield, as a filtered scan does.
    if (budget !== undefined)
      return pageSliced(journal, q, lo, hi, offset, wantMeta, deriveMeta, budget.pause ?? yieldToLoop);
    const total = journal.countByTime(lo, hi);
    if (offset >= total) return { hits: [], total };
    return {
      hits: hitsOf(journal, journal.seqsByTime(lo, hi, q.order, offset), q.rowsPerPage, wantMeta, deriveMeta),
      total,
    };
  }

  return searchFiltered(journal, q, lo, hi, offset, tests, wantMeta, deriveMeta, budget);
}

/** An unfiltered page of a large journal: LMDB walks the time index a step at a time, yielding between steps. */
async function pageSliced(
  journal: Journal,
  q: HistoryQuery,
  lo: number,
  hi: number,
  offset: number,
  wantMeta: boolean,
  deriveMeta: MetaDeriver,
  pause: () => Promise<void>,
): Promise<HistoryPage> {
  // Once before the walk too: the requests that came with this one meet it running (the gate holds them).
  await pause();
  // A pause may be the turn the data file failed in: the store refuses every read after it
  // (snapshots/store-guard.ts), the walk's next step and each decode's read alike.
  const { total, seqs } = await journal.pageByTime(lo, hi, q.order, offset, q.rowsPerPage, pause);
  // Decoded in slices: a page of 100 messages of 1 MiB took half a second to decode at once.
  const hits = (await mapSliced(seqs.slice(0, q.rowsPerPage), (seq) => journal.get(seq), pause))
    .filter((entry): entry is JournalEntry => entry !== null)
    .map((entry) => ({ entry, meta: wantMeta ? deriveMeta(entry.envelope) : undefined }));
  return { hits, total };
}

/**
 * Bytes of the stored records an unfiltered page serves, read without decoding them: what
 * decoding and encoding that page will cost, before paying it. Counted only until past `limit`.
 */
export function unfilteredPageBytes(journal: Journal, q: HistoryQuery, limit: number): number {
  const lo = Math.max(0, q.window?.start ?? 0);
  const hi = q.window?.end ?? NO_END;
  let bytes = 0;
  let n = 0;
  for (const seq of journal.seqsByTime(lo, hi, q.order, (q.page - 1) * q.rowsPerPage)) {
    if (n++ >= q.rowsPerPage || bytes > limit) break;
    bytes += journal.recordBytes(seq);
  }
  return bytes;
}

/** `fn` over `items`, letting the event loop run every SLICE_MS (each item may be a message of a MiB). */
export async function mapSliced<T, R>(
  items: readonly T[],
  fn: (item: T) => R,
  pause: () => Promise<void> = yieldToLoop,
): Promise<R[]> {
  const out: R[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await pause();
      sliceStart = performance.now();
    }
    out.push(fn(item));
  }
  return out;
}

/** The journal entries of up to `limit` seqs of a page, with their meta when asked. */
function hitsOf(
  journal: Journal,
  seqs: Iterable<number>,
  limit: number,
  wantMeta: boolean,
  deriveMeta: MetaDeriver,
): HistoryHit[] {
  const hits: HistoryHit[] = [];
  for (const seq of seqs) {
    const entry = journal.get(seq);
    if (entry) hits.push({ entry, meta: wantMeta ? deriveMeta(entry.envelope) : undefined });
    if (hits.length >= limit) break;
  }
  return hits;
}

/**
 * How long a filtered scan runs before it lets the event loop serve others. With the scan
 * gate's few concurrent scans, an `/api` request waits at most about this times the concurrency.
 */
const SLICE_MS = 4;

/**
 * The filtered scan reads the whole window, which can be a large part of the journal: it
 * yields to the event loop every few milliseconds so live ingest and other clients never wait
 * on it, and throws ScanTimeout once past its budget.
 */
async function searchFiltered(
  journal: Journal,
  q: HistoryQuery,
  lo: number,
  hi: number,
  offset: number,
  tests: readonly Test[],
  wantMeta: boolean,
  deriveMeta: MetaDeriver,
  budget: ScanBudget | undefined,
): Promise<HistoryPage> {
  const hits: HistoryHit[] = [];
  let total = 0;
  const overBudget = () => budget !== undefined && budget.nowMs() > budget.deadlineMs;
  // Time spent waiting for a slot counts: the client has been waiting all along.
  if (overBudget()) throw new ScanTimeout();
  const sliceNow = budget?.sliceNowMs ?? (() => performance.now());
  const pause = budget?.pause ?? yieldToLoop;
  let sliceStart = sliceNow();
  for (const entry of journal.byTime(lo, hi, q.order)) {
    // The clock is looked at every message: one may be a MiB to decode and search (tens of ms
    // with many `contains` values), and looking every 64 messages held the loop for seconds
    // (a window of 73 messages of 900 KB: /healthz waited 10 s behind one scan).
    if (sliceNow() - sliceStart > SLICE_MS) {
      // A failure told meanwhile ends the walk at its next step: the store refuses every read
      // once it knows, the held iterator's too (snapshots/store-guard.ts).
      await pause();
      if (overBudget()) throw new ScanTimeout();
      sliceStart = sliceNow();
    }
    const envelope = entry.envelope;
    let meta: Meta | undefined;
    let text: string | undefined;
    const lazyMeta = () => (meta ??= deriveMeta(envelope));
    const lazyText = () => (text ??= JSON.stringify(envelope));
    if (!tests.every((t) => t(envelope, lazyMeta, lazyText))) continue;
    if (total >= offset && hits.length < q.rowsPerPage) hits.push({ entry, meta: wantMeta ? lazyMeta() : undefined });
    total++;
  }
  return { hits, total };
}
