import type { HttpResponse } from './responses.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The status line and every header of one answer as UTF-8 bytes, built once per answer object
 * (a memoised answer is the same object each time). uWS writes `writeStatus`'s argument
 * verbatim between `HTTP/1.1 ` and CRLF, so status and headers go out in one native call instead
 * of one per header; as bytes they are copied, not measured and converted from a JS string on
 * every request. uWS still appends Date and Content-Length itself when the body is ended. An
 * answer whose header names or values hold CR or LF (none of ours should) is written header by
 * header instead, so a stray line break can never end the header block early.
 */
export interface Wire {
  readonly head: Buffer;
  readonly headers: readonly [string, string][] | null;
}
const LINE_BREAK = /[\r\n]/;
export const wireOf = (r: HttpResponse): Wire => {
  const status = `${r.status} ${STATUS_TEXT[r.status] ?? ''}`.trim();
  const headers = Object.entries(r.headers);
  if (headers.some(([k, v]) => LINE_BREAK.test(k) || LINE_BREAK.test(v))) return { head: Buffer.from(status), headers };
  let head = status;
  for (const [k, v] of headers) head += `\r\n${k}: ${v}`;
  return { head: Buffer.from(head), headers: null };
};
