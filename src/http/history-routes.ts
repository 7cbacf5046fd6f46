import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { cancellable, WalkCancelledError } from '../../snapshots/walk-cancelled.js';
import type { Journal } from '../../snapshots/journal.js';
import type { Envelope, Meta } from '../envelope.js';
import type { MetaDeriver } from '../message.js';
import {
  argumentsOf,
  BadParameter,
  one,
  parseCallback,
  parseHistoryQuery,
  parseMetaFields,
  rawArguments,
  type HistoryQuery,
  type MetaField,
} from './history-params.js';
import {
  type HistoryPage,
  isFilteredQuery,
  mapSliced,
  type ScanBudget,
  ScanTimeout,
  searchJournal,
  unfilteredPageBytes,
} from './history-search.js';
import { answer, HEADERS, messageText, packageVersion, unavailable } from './history-answers.js';
import { metaObject } from './history-meta.js';
import { json, type HttpRequest, type HttpResponse, quoted } from './responses.js';
import type { ScanGate } from './scan-gate.js';

export interface HistoryDeps {
  readonly journal: Journal;
  readonly deriveMeta: MetaDeriver;
  readonly nowSeconds: () => number;
  /** Bounds filtered scans: how many run at once and wait (the gate), and how long each may take from arrival. */
  readonly scans?: {
    readonly gate: ScanGate;
    readonly timeoutSeconds: number;
    /** A filtered scan's slice timer and pause between slices (performance.now, setImmediate); tests step and hold them. */
    readonly slices?: Pick<ScanBudget, 'sliceNowMs' | 'pause'>;
    /**
     * Aborted by stop() and close(): a gated scan ends at the pause it waits in (503
     * service_stopping), and one not begun does not begin. Each holds the journal's range
     * across turns, which read on from the store closed under it (MDB_BAD_TXN).
     */
    readonly stopping?: AbortSignal;
    /** Told of each gated scan, which stop() and close() wait for before the store closes. */
    readonly track?: <T>(scan: Promise<T>) => Promise<T>;
  };
}

/** Null for paths that are not history routes; a filtered `/raw` answers asynchronously. */
export type HistoryHandler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse> | null;

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
/** Journal ids longer than this are stored hashed (snapshots/journal-record.ts messageId), so no such id can be found. */
const MAX_ID_LENGTH = 200;
/**
 * Journal entries up to which an unfiltered `/raw` query runs at once. Past it, counting the
 * window (LMDB counts every key in it: ~25 ms at 400 k) and reaching a deep page cost tens of
 * milliseconds of the event loop each, and 16 clients asking in a loop held /healthz at 2.7 s;
 * such queries then share the filtered scans' gate (--history-scan-concurrency), so at most that
 * many hold the loop at once and the rest are told to retry.
 */
export const UNGATED_JOURNAL_MAX = 50_000;
/**
 * Bytes of stored messages up to which an unfiltered `/raw` page is built at once. A page of
 * 100 messages of 1 MiB (the bus's frame cap) held the event loop for seconds to decode and
 * encode and took hundreds of MB while it did, and every client asking for one got it built:
 * past this the page shares the filtered scans' gate (at most --history-scan-concurrency built
 * at once, in slices that let the loop run, the rest told to retry).
 */
export const LIGHT_PAGE_BYTES = 4 * 1024 * 1024;

type HistoryRoute = '/raw' | '/id' | 'unknown';

function matchHistory(path: string): HistoryRoute | null {
  if (path === '/raw' || path === '/raw/') return '/raw';
  if (path === '/id' || path === '/id/') return '/id';
  if (path.startsWith('/raw/') || path.startsWith('/id/')) return 'unknown';
  return null;
}

/**
 * datagrepper's `GET /raw` and `GET /id` (datagrepper.md) answered from the service's own
 * journal, so one statscache can be another's `--datagrepper`. Returns null for any other
 * path so the caller can fall through to the API routes.
 */
export function createHistoryHandler(deps: HistoryDeps): HistoryHandler {
  const sourceVersion = packageVersion();
  const message = (envelope: Envelope, fields: readonly MetaField[], meta: Meta | undefined) =>
    messageText(
      envelope,
      sourceVersion,
      fields.length > 0 ? metaObject(fields, envelope, meta ?? deps.deriveMeta(envelope)) : undefined,
    );

  const raw = (params: URLSearchParams, client: string): HttpResponse | Promise<HttpResponse> => {
    const arrivedMs = deps.nowSeconds() * 1000;
    const q = parseHistoryQuery(params, arrivedMs / 1000);
    const scans = deps.scans;
    const light = () =>
      !isFilteredQuery(q) &&
      deps.journal.entries <= UNGATED_JOURNAL_MAX &&
      unfilteredPageBytes(deps.journal, q, LIGHT_PAGE_BYTES) <= LIGHT_PAGE_BYTES;
    if (scans === undefined || light()) {
      const found = searchJournal(deps.journal, q, deps.deriveMeta);
      return found instanceof Promise ? found.then((page) => rawPage(q, page)) : rawPage(q, found);
    }
    const { gate, timeoutSeconds, stopping } = scans;
    const pause = scans.slices?.pause ?? yieldToLoop;
    const budget = {
      deadlineMs: arrivedMs + timeoutSeconds * 1000,
      nowMs: () => deps.nowSeconds() * 1000,
      ...scans.slices,
      pause: () => cancellable(pause(), stopping),
    };
    const run = gate.run(async () => {
      if (stopping?.aborted) throw new WalkCancelledError();
      const { hits, total } = await searchJournal(deps.journal, q, deps.deriveMeta, budget);
      return rawPage(
        q,
        { hits, total },
        await mapSliced(hits, (h) => message(h.entry.envelope, q.meta, h.meta), budget.pause),
      );
    }, client);
    if (run === null) {
      return unavailable(
        'scan_busy',
        `${gate.concurrency} /raw scans are running and ${gate.queueLength} waiting, the limits (--history-scan-concurrency, --history-scan-queue), or this client holds ${gate.perClient}, its share of them; retry shortly, or narrow the time window`,
        1,
        params,
      );
    }
    return (scans.track?.(run) ?? run).catch((err: unknown) => {
      if (err instanceof WalkCancelledError)
        return unavailable(
          'service_stopping',
          'the service is stopping: the scan was ended before its data file closes; retry once it is back, or against another instance',
          1,
          params,
        );
      if (!(err instanceof ScanTimeout)) throw err;
      gate.stats.timedOut++;
      return unavailable(
        'scan_timeout',
        `the filtered scan took over ${timeoutSeconds} s, its budget (--history-scan-timeout-seconds); narrow the time window (start, end, delta) or retry later`,
        Math.max(1, Math.ceil(timeoutSeconds)),
        params,
      );
    });
  };

  const rawPage = (
    q: HistoryQuery,
    { hits, total }: HistoryPage,
    texts = hits.map((h) => message(h.entry.envelope, q.meta, h.meta)),
  ): HttpResponse => {
    const pages = Math.ceil(total / q.rowsPerPage);
    const body = `{"raw_messages":[${texts.join(',')}],"total":${total},"pages":${pages},"count":${hits.length},"arguments":${JSON.stringify(argumentsOf(q))}}`;
    return answer(body, q.callback);
  };

  const byId = (params: URLSearchParams): HttpResponse => {
    const id = one(params, 'id');
    if (id === undefined || id === '') throw new BadParameter('id', 'is required: GET /id?id=<msg_id>');
    const fields = parseMetaFields(params);
    const callback = parseCallback(params);
    const entry = id.length > MAX_ID_LENGTH ? null : deps.journal.getById(id);
    if (!entry)
      return json(404, { error: 'not_found', detail: `no message with id ${quoted(id)} in the journal` }, HEADERS);
    return answer(message(entry.envelope, fields, undefined), callback);
  };

  return (req) => {
    const route = matchHistory(req.path);
    if (route === null) return null;
    if (req.method === 'OPTIONS') {
      return {
        status: 204,
        headers: {
          ...HEADERS,
          Allow: ALLOWED_METHODS,
          'Access-Control-Allow-Methods': ALLOWED_METHODS,
          'Access-Control-Max-Age': '86400',
        },
        body: '',
      };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(
        405,
        {
          error: 'method_not_allowed',
          detail: `method ${quoted(req.method)} is not allowed here; use GET`,
        },
        { ...HEADERS, Allow: ALLOWED_METHODS },
      );
    }
    if (route === 'unknown')
      return json(
        404,
        {
          error: 'not_found',
          detail: `no route ${quoted(req.path)}; history is at /raw and /id`,
        },
        HEADERS,
      );
    const params = new URLSearchParams(req.query);
    try {
      return route === '/raw' ? raw(params, req.client?.() ?? '') : byId(params);
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      return json(
        400,
        { error: 'bad_parameter', detail: err.message, parameter: err.parameter, arguments: rawArguments(params) },
        HEADERS,
      );
    }
  };
}
