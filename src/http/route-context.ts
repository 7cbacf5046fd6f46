import type * as z from 'zod';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { AnswerMemo } from './answer-memo.js';
import type { EncodedCache } from './encoded-cache.js';
import type { HttpResponse } from './responses.js';
import type { ViewFailureLog } from './view-failure-log.js';

/** What the `/api/…` routes read; built once per handler. */
export interface RouteContext {
  readonly host: PluginHost;
  readonly cache: EncodedCache;
  readonly nowSeconds: () => number;
  /** Each plugin's parameter schema, compiled once. */
  readonly schemas: ReadonlyMap<string, z.ZodObject>;
  /** Deepest row a page may reach (config maxPageDepth). */
  readonly maxPageDepth: number;
  /** Finished `/api/<ident>` answers by request and state version (absent: none kept). */
  readonly answers?: AnswerMemo<HttpResponse>;
  /**
   * Set by rows() when its answer came from (or went into) `answers`: what that answer was made
   * for, so the caller can offer it as a hot answer (hot-answer.ts). The caller clears it first.
   */
  memoised?: { readonly runtime: PluginRuntime; readonly position: number; readonly stop: number } | null;
  /** Told of each answer a plugin's view failed (view-failure-log.ts: the operator's log line). */
  readonly onViewFailed?: ViewFailureLog;
}

/**
 * Most body bytes the memo holds. What a repeated read needs is the current second's answers of
 * the views being polled; older ones are dead keys, and their bodies would otherwise outlive the
 * encoded-body cache's own bound (a body it evicted stays alive while the memo holds it).
 */
export const MEMO_MAX_BYTES = 8 * 1024 * 1024;

const bodyBytes = (res: HttpResponse): number => (typeof res.body === 'string' ? res.body.length : res.body.byteLength);

/** The memo of finished `/api/<ident>` answers, bounded by entries and by body bytes. */
export const answerMemo = (): AnswerMemo<HttpResponse> => new AnswerMemo(2048, MEMO_MAX_BYTES, bodyBytes);
