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
  /**
   * `head`'s own ArrayBuffer (the Buffer is a view of all of it): what is written. uWS.js takes
   * a typed array through its ArrayBuffer, one more native step per call than given that.
   */
  readonly bytes: ArrayBuffer;
  readonly headers: readonly [string, string][] | null;
}
const wired = (text: string, headers: readonly [string, string][] | null): Wire => {
  const bytes = new Uint8Array(Buffer.from(text)).buffer;
  return { head: Buffer.from(bytes), bytes, headers };
};
const LINE_BREAK = /[\r\n]/;
export const wireOf = (r: HttpResponse): Wire => {
  const status = `${r.status} ${STATUS_TEXT[r.status] ?? ''}`.trim();
  const headers = Object.entries(r.headers);
  if (headers.some(([k, v]) => LINE_BREAK.test(k) || LINE_BREAK.test(v))) return wired(status, headers);
  let head = status;
  for (const [k, v] of headers) head += `\r\n${k}: ${v}`;
  return wired(head, null);
};
