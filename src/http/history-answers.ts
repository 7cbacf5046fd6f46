import { readFileSync } from 'node:fs';
import type { Envelope } from '../envelope.js';
import { rawArguments } from './history-params.js';
import { CORS_HEADERS, json, type HttpResponse } from './responses.js';
import { jsonpBody } from './render.js';

/** The headers of every /raw and /id answer. */
export const HEADERS = { ...CORS_HEADERS, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };

/** A 503 that says which bound refused the scan; Retry-After tells a datagrepper client (backfill retries) when to come back. */
export function unavailable(
  error: 'scan_busy' | 'scan_timeout' | 'service_stopping',
  detail: string,
  retryAfterSeconds: number,
  params: URLSearchParams,
): HttpResponse {
  return json(
    503,
    { error, detail, arguments: rawArguments(params) },
    { ...HEADERS, 'Retry-After': String(retryAfterSeconds) },
  );
}

export function answer(body: string, callback: string | undefined): HttpResponse {
  if (callback === undefined)
    return { status: 200, headers: { ...HEADERS, 'Content-Type': 'application/json; charset=utf-8' }, body };
  return {
    status: 200,
    headers: { ...HEADERS, 'Content-Type': 'application/javascript; charset=utf-8' },
    body: jsonpBody(callback, body, ';'),
  };
}

/**
 * One envelope as datagrepper serves it: a float `timestamp` (written with a fraction, as
 * Python's json does, so strict clients read a float), `source_name`, `source_version`, and
 * the requested `meta`.
 */
export function messageText(
  envelope: Envelope,
  sourceVersion: string,
  meta: Record<string, unknown> | undefined,
): string {
  const { timestamp, ...rest } = envelope;
  const tail = JSON.stringify({
    ...rest,
    source_name: 'statscache',
    source_version: sourceVersion,
    ...(meta ? { meta } : {}),
  });
  const ts = Number.isInteger(timestamp) && Math.abs(timestamp) < 1e21 ? `${timestamp}.0` : String(timestamp);
  return `{"timestamp":${ts},${tail.slice(1)}`;
}

let cachedVersion: string | undefined;

/** The package version, from the source tree (src/http) or the build (dist/src/http). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'statscache' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // Not at this depth; try the next.
    }
  }
  return (cachedVersion = 'unknown');
}
