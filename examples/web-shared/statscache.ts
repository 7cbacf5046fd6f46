/**
 * What every browser example shares: where the statscache is (this origin, or `?api=<url>` for
 * another one: the API answers any origin), JSON reads that outlast load shedding and restarts,
 * the status badge, and small DOM helpers. The live views' WebSocket is live.ts.
 */

import type { Subscription } from './live.js';

export type Row = Record<string, unknown> & { readonly timestamp: number };

/** The statscache to read: `?api=http://host:8080` or, by default, the page's own origin. */
export function apiBase(): string {
  const given = new URLSearchParams(location.search).get('api');
  if (given === null || given === '') return location.origin;
  const url = new URL(given, location.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`?api= must be an http(s) URL, got ${given}`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** Answers that say "not now" (load shedding, a proxy whose upstream is restarting), not "never". */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** The longest wait between two tries of one read, whatever Retry-After asks. */
export const MAX_RETRY_MS = 30_000;

/** Doubling from `ms`, with ±25% jitter so pages that lost the same server do not come back in step. */
export const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));

/**
 * A GET that outlasts a restart or load shedding: 429/502/503/504 and network failures are
 * retried (Retry-After when given, else 1 s doubling to 30 s), the badge saying so meanwhile;
 * any other error status is final.
 */
export async function fetchRetrying(path: string): Promise<Response> {
  let wait = 1000;
  for (let attempt = 1; ; attempt++) {
    let why: string;
    let after: number | null = null;
    try {
      const res = await fetch(apiBase() + path, { headers: { Accept: 'application/json' } });
      if (!RETRY_STATUSES.has(res.status)) {
        troubles.delete(path);
        renderBadge();
        return res;
      }
      const seconds = Number(res.headers.get('Retry-After'));
      if (Number.isFinite(seconds) && seconds > 0) after = seconds * 1000;
      why = `HTTP ${res.status}`;
      await res.body?.cancel();
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    const delay = Math.min(MAX_RETRY_MS, after ?? jittered(wait));
    wait = Math.min(wait * 2, MAX_RETRY_MS);
    troubles.set(path, `${path.split('?')[0]}: ${why}; retrying in ${Math.ceil(delay / 1000)} s (try ${attempt + 1})`);
    renderBadge();
    await new Promise((r) => setTimeout(r, delay));
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetchRetrying(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as T;
}

/** "3 min ago", coarse enough to stay right between refreshes. */
export function ago(seconds: number, now = Date.now() / 1000): string {
  const d = Math.max(0, Math.round(now - seconds));
  if (d < 45) return 'just now';
  if (d < 90 * 60) return `${Math.round(d / 60)} min ago`;
  if (d < 36 * 3600) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86_400)} days ago`;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Reads being retried (path → why), shown on the badge ahead of the WebSocket's state. */
const troubles = new Map<string, string>();
let wsStatus: readonly [string, string] = ['connecting…', 'connecting'];

function renderBadge(): void {
  const badge = document.getElementById('status');
  if (!badge) return;
  const trouble = troubles.values().next();
  const [text, state] = trouble.done ? wsStatus : [trouble.value, 'down'];
  badge.textContent = text;
  badge.className = `status ${state}`;
}

/** The page's status badge (#status): the WebSocket's state, unless a read is being retried. */
export function statusBadge(): (text: string, state: string) => void {
  return (text, state) => {
    wsStatus = [text, state];
    renderBadge();
  };
}

/** Only http(s) links from message data become hrefs. */
export function safeHref(link: unknown): string | null {
  if (typeof link !== 'string') return null;
  try {
    const u = new URL(link);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Every page of `/api/<ident>?<query>` (rows_per_page 100), at most `maxPages` requests. */
export async function allRows(ident: string, query: Record<string, string | number>, maxPages = 50): Promise<Row[]> {
  const out: Row[] = [];
  for (let page = 1; page <= maxPages; page++) {
    const q = new URLSearchParams(
      Object.entries({ ...query, rows_per_page: 100, page }).map(([k, v]) => [k, String(v)]),
    );
    const res = await fetchRetrying(`/api/${encodeURIComponent(ident)}?${q}`);
    if (!res.ok) throw new Error(`/api/${ident}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    out.push(...((await res.json()) as Row[]));
    if (page >= Number(res.headers.get('X-Link-Count') ?? '1')) break;
  }
  return out;
}

/**
 * Counting rows (volume per bucket) only grow: merging history read over HTTP with rows from a
 * live view keeps the larger count, whichever arrived first. A live view holds only its newest
 * page, so a row leaving that page is not a row that stopped existing: removals are not applied.
 */
export function mergeCounts(
  into: Map<string, Row>,
  rows: Iterable<Row>,
  keyOf: (r: Row) => string,
  column = 'volume',
): void {
  for (const r of rows) {
    const k = keyOf(r);
    const had = into.get(k);
    if (had === undefined || Number(r[column]) >= Number(had[column])) into.set(k, r);
  }
}

/** Rows of a live view that a frame touched (all of them after a snapshot). */
export function touched(sub: Subscription, changed: ReadonlySet<string>): Row[] {
  if (changed.size === 0) return [...sub.rows.values()];
  return [...changed].map((k) => sub.rows.get(k)).filter((r): r is Row => r !== undefined);
}
