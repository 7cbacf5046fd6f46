import { type AnswerSocket, type AnswerWriter, internalError } from './answer-writer.js';
import type { ClientOf, RequestHeaders } from './client-key.js';
import type { HttpResponse } from './responses.js';
import { SSE_HEADERS, type SseSink } from './sse-session.js';

export interface SseRequest {
  readonly ident: string;
  readonly query: URLSearchParams;
  readonly lastEventId: string;
  readonly ip: string;
}

/** `GET /api/<ident>/stream`: an immediate answer (4xx), or a starter called once the event-stream headers are written. */
export type SseHandler = (req: SseRequest) => HttpResponse | ((sink: SseSink) => { aborted(): void; writable(): void });

/** The parts of uWS's HttpResponse and HttpRequest an event stream uses (uws-server hands over the real ones). */
interface StreamResponse extends AnswerSocket {
  write(chunk: string): boolean;
}
interface StreamRequest extends RequestHeaders {
  getParameter(index: number): string | undefined;
  getQuery(): string | undefined;
  getHeader(lowerCaseKey: string): string;
}

/** What the stream route shares with the rest of the server. */
export interface SseRouteParts {
  readonly clientOf: ClientOf;
  readonly writer: AnswerWriter;
  /** A closer per open stream, for the connection count and for closing them at stop. */
  readonly streams: Set<() => void>;
  readonly guarded: (fn: () => void) => void;
  readonly onError: (err: unknown) => void;
}

/** The uWS handler of `GET /api/:ident/stream`: the hub's answer, or the event-stream head and a sink for the hub's writes. */
export function sseRoute(sse: SseHandler, parts: SseRouteParts): (res: StreamResponse, req: StreamRequest) => void {
  const { clientOf, writer, streams, guarded, onError } = parts;
  return (res, req) => {
    let ident = req.getParameter(0) ?? '';
    try {
      ident = decodeURIComponent(ident);
    } catch {
      /* not percent-encoded: keep it as sent; it will be an unknown ident */
    }
    const request: SseRequest = {
      ident,
      query: new URLSearchParams(req.getQuery() ?? ''),
      lastEventId: req.getHeader('last-event-id'),
      ip: clientOf(res, req),
    };
    let result: ReturnType<SseHandler>;
    try {
      result = sse(request);
    } catch (err) {
      onError(err);
      return writer.write(res, internalError(), false, request.ip);
    }
    if (typeof result !== 'function') return writer.write(res, result, false, request.ip);
    let done = false;
    let handle: { aborted(): void; writable(): void } | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      streams.delete(closeStream);
      if (handle) guarded(() => handle?.aborted());
    };
    const closeStream = () => {
      if (done) return;
      finish();
      res.close();
    };
    res.onAborted(finish);
    streams.add(closeStream);
    const sink: SseSink = {
      write: (text) => {
        if (done) return true;
        let ok = true;
        res.cork(() => (ok = res.write(text)));
        return ok;
      },
      close: closeStream,
    };
    res.cork(() => {
      res.writeStatus('200 OK');
      for (const [name, value] of Object.entries(SSE_HEADERS)) res.writeHeader(name, value);
      try {
        handle = result(sink);
      } catch (err) {
        onError(err);
        closeStream();
      }
    });
    res.onWritable(() => {
      if (handle && !done) guarded(() => handle?.writable());
      return true;
    });
  };
}
