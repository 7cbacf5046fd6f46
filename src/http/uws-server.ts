/**
 * The one module that talks to uWebSockets.js. It adapts uWS requests and sockets to the
 * transport-neutral handlers (api-routes, ws-hub), which are plain functions tests can call.
 */
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import uWS from 'uWebSockets.js';
import { StatscacheError } from '../../actors/errors.js';
import { derivedOnce } from './answer-memo.js';
import { TrustedProxies } from './client-address.js';
import { clientNetwork, DEFAULT_IPV6_CLIENT_PREFIX } from './client-network.js';
import { HeldBodies } from './held-bodies.js';
import { type HotAnswer, HotAnswers } from './hot-answer.js';
import type { HttpRequest, HttpResponse } from './responses.js';
import { SSE_HEADERS, type SseSink } from './sse-session.js';
import type { ConnectionRefusal, WsPeer } from './ws-connection.js';

/** The WebSocket side; `C` is the hub's per-connection handle. */
export interface WsHandlers<C> {
  /** Checked before the upgrade: false answers 429 instead. */
  /** Null: another long-lived connection from `ip` is allowed; else the answer that refuses it. */
  admit?(ip: string): ConnectionRefusal | null;
  open(peer: WsPeer, ip: string): C;
  message(conn: C, text: string | null): void;
  drain?(conn: C): void;
  close(conn: C): void;
}

export interface SseRequest {
  readonly ident: string;
  readonly query: URLSearchParams;
  readonly lastEventId: string;
  readonly ip: string;
}

/** `GET /api/<ident>/stream`: an immediate answer (4xx), or a starter called once the event-stream headers are written. */
export type SseHandler = (req: SseRequest) => HttpResponse | ((sink: SseSink) => { aborted(): void; writable(): void });

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest frame a client may send: a bigger one is closed with 1009 and a reason (uWS itself cuts off at 4× without one). */
  readonly maxPayloadBytes: number;
  /** 0 disables; otherwise pings are sent automatically and a silent peer is closed. */
  readonly idleTimeoutSeconds: number;
  /** Hard per-socket queue limit: uWS closes a socket rather than drop a frame past it. */
  readonly maxBackpressureBytes: number;
  /** `--trust-proxy`: peers whose X-Forwarded-For names the client (client-address.ts). */
  readonly trustProxy?: readonly string[];
  /** `--ipv6-client-prefix`: an IPv6 client is its network of this many bits (client-network.ts). Default 64. */
  readonly ipv6ClientPrefix?: number;
  /** `--http-max-held-bytes`: answers held for slow readers over all connections (held-bodies.ts). */
  readonly maxHeldBytes?: number;
  /** `--http-max-held-bytes-per-client`: answers held for one client's slow connections (held-bodies.ts). */
  readonly maxHeldBytesPerClient?: number;
}

export interface RunningServer {
  readonly port: number;
  /** False when uWS fell back to its slow pure-JS implementation (no native binary for this Node). */
  readonly native: boolean;
  publish(topic: string, text: string): void;
  connections(): number;
  /** Answers that waited for their client to read them (see holdRest), counted since listening. */
  heldAnswers(): HeldAnswers;
  close(): void;
}

export interface HeldAnswers {
  /** Answers the connection could not take at once: the rest was sent as the client read. */
  readonly held: number;
  /** Connections closed while such an answer was still unsent (see holdRest for why). */
  readonly closedUnread: number;
  /** Bytes of the answers held now (each body once, however many connections hold it). */
  readonly heldBytes: number;
}

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

type PeerData<C> = { ip: string; conn?: C; closed?: boolean };

/** True when the loaded uWS is the native addon rather than the JS fallback. */
export function uwsIsNative(): boolean {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('uWebSockets.js');
  return !Object.keys(require.cache).some((k) => k.startsWith(entry.replace(/src[/\\]uws\.js$/, 'dist')));
}

/** uWS's ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT (the typings have no overload with a host). */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/**
 * uWS only says "false" when listening fails. Node's own listen on the same address tells
 * why (in use, not permitted, no such address), so the error names the cause.
 */
function whyNotListening(host: string, port: number): Promise<StatscacheError> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        resolve(
          new StatscacheError(
            'SC_PORT_IN_USE',
            `port ${port} on ${host} is already in use (another statscache, or another program): stop it or pass another --port`,
          ),
        );
      else
        resolve(
          new StatscacheError(
            'SC_LISTEN_FAILED',
            `cannot listen on ${host}:${port}: ${err.code ?? err.message}${err.code === 'EACCES' ? ' (ports below 1024 need privileges)' : ''}; pass another --host or --port`,
          ),
        );
    });
    probe.listen({ host, port, exclusive: true }, () => {
      probe.close();
      resolve(
        new StatscacheError(
          'SC_LISTEN_FAILED',
          `cannot listen on ${host}:${port} (uWebSockets.js refused it, for no reason the system reports)`,
        ),
      );
    });
  });
}

/** The method as sent is upper case from every real client; only another spelling pays for a conversion. */
const upperMethod = (m: string): string => (m === 'GET' ? 'GET' : m.toUpperCase());

/**
 * Every X-Forwarded-For header of the request, joined as one list (RFC 9110 §5.3): a proxy that
 * appends its own header line instead of extending the client's would otherwise have the
 * client's forged line read first. uWS caps how many headers a request has (it drops the
 * connection past about 50), and pickClient reads only the joined list's tail.
 */
function forwardedFor(req: uWS.HttpRequest): string {
  let value = '';
  req.forEach((name, v) => {
    if (name === 'x-forwarded-for') value = value === '' ? v : `${value},${v}`;
  });
  return value;
}

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
const prepared = new WeakMap<HttpResponse, Wire>();
const LINE_BREAK = /[\r\n]/;
export const wireOf = (r: HttpResponse): Wire => {
  const status = `${r.status} ${STATUS_TEXT[r.status] ?? ''}`.trim();
  const headers = Object.entries(r.headers);
  if (headers.some(([k, v]) => LINE_BREAK.test(k) || LINE_BREAK.test(v))) return { head: Buffer.from(status), headers };
  let head = status;
  for (const [k, v] of headers) head += `\r\n${k}: ${v}`;
  return { head: Buffer.from(head), headers: null };
};

/**
 * Who a held answer is counted against: the request while its handler runs (uWS's request is
 * valid only then), the client already worked out, or null for the TCP peer alone.
 */
type HeldFor = uWS.HttpRequest | string | null;

type HeldTally = {
  held: number;
  closedUnread: number;
  readonly bodies: HeldBodies;
  /** The client key per-IP limits use; only worked out for an answer that is held. */
  readonly clientOf: (res: uWS.HttpResponse, heldFor: HeldFor) => string;
};

const isEmpty = (body: string | Uint8Array): boolean =>
  typeof body === 'string' ? body.length === 0 : body.byteLength === 0;

/**
 * Answers without a body (HEAD, 304, 204) given in a route handler, written at the end of the
 * event-loop turn their request arrived in. Until then the request is unfinished, and uWS closes
 * a connection that sends another request while one is unfinished: so a client pipelining
 * thousands of HEADs or conditional GETs without reading gets its connection closed at the
 * second one, instead of the server queueing thousands of header blocks for it. A body gives
 * tryEnd a way to tell that the socket took nothing (holdRest below), and uWS.js has none for
 * headers alone: its write of a header block always succeeds, into a per-connection buffer
 * without limit, and it reports no buffered amount for HTTP. Clients that wait for each answer
 * before sending the next request never notice (their next request comes in a later turn).
 */
class BodilessAnswers {
  private pending: { res: uWS.HttpResponse; response: HttpResponse; head: boolean; gone: boolean }[] = [];
  private scheduled = false;

  constructor(private readonly tally: HeldTally) {}

  defer(res: uWS.HttpResponse, response: HttpResponse, head: boolean): void {
    const entry = { res, response, head, gone: false };
    // Called when uWS closes the connection first: for a request pipelined behind this answer, or a client gone.
    res.onAborted(() => {
      entry.gone = true;
      this.tally.closedUnread++;
    });
    this.pending.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const due = this.pending;
    this.pending = [];
    for (const e of due) if (!e.gone) e.res.cork(() => sendAnswer(e.res, e.response, e.head, this.tally, null));
  };
}

/**
 * Writes one answer. uWS corks a response by itself while its route handler runs, so an answer
 * given there (`inHandler`) is written directly (and without allocating a callback, as this is
 * the hot path); one that comes later is written in `cork()`, or each write would be its own send.
 * An answer that comes later is already one uWS holds the connection's next request for.
 */
function writeAnswer(
  res: uWS.HttpResponse,
  response: HttpResponse,
  head: boolean,
  inHandler: boolean,
  tally: HeldTally,
  bodiless: BodilessAnswers,
  heldFor: HeldFor,
): void {
  if (!inHandler) res.cork(() => sendAnswer(res, response, head, tally, heldFor));
  else if (head || isEmpty(response.body)) bodiless.defer(res, response, head);
  else sendAnswer(res, response, head, tally, heldFor);
}

function sendAnswer(
  res: uWS.HttpResponse,
  response: HttpResponse,
  head: boolean,
  tally: HeldTally,
  heldFor: HeldFor,
): void {
  const wire = derivedOnce(prepared, response, wireOf);
  res.writeStatus(wire.head);
  if (wire.headers !== null) for (const [k, v] of wire.headers) res.writeHeader(k, v);
  // endWithoutBody(n) with n > 0 aborts the process in uWS 20.30: HEAD answers carry no length.
  // 204 and 304 have no content by definition, and RFC 9110 (8.6) forbids a Content-Length on
  // a 204 and allows one on a 304 only as the 200's length: end() would write "Content-Length: 0".
  if (head || response.status === 204 || response.status === 304) res.endWithoutBody();
  // Not end(): it copies whatever the socket cannot take now into uWS's buffer for that
  // connection, without limit. tryEnd sends what the socket takes and keeps no copy; a total of
  // 0 means "this is the whole body" (uWS measures a string's UTF-8 length itself).
  else if (!res.tryEnd(wireBody(response), 0)[1]) holdRest(res, response, tally, tally.clientOf(res, heldFor));
}

/**
 * A large string body as its bytes, made once: uWS converts a string to UTF-8 itself on every
 * tryEnd, several times slower than Buffer.from (1.1 s against 0.4 s for two 57 MB /raw pages),
 * and a body the socket cannot take at once was then converted a second time to be held.
 */
const wireBody = (r: HttpResponse): string | Uint8Array =>
  typeof r.body === 'string' && r.body.length > LARGE_STRING_BODY ? derivedOnce(bodyBytes, r, bytesOf) : r.body;
const LARGE_STRING_BODY = 64 * 1024;

/** A string body as bytes, made once per answer object (a memoised answer is shared) and only when held. */
const bodyBytes = new WeakMap<HttpResponse, Uint8Array>();
const bytesOf = (r: HttpResponse): Uint8Array => (typeof r.body === 'string' ? Buffer.from(r.body) : r.body);

/**
 * The rest of an answer its connection could not take at once, sent as the client reads. It is
 * held by reference (a memoised body is the one all clients share), never copied. Nothing is
 * queued behind it: uWS closes a connection that sends another request while its answer is
 * unfinished, and one that takes nothing for 10 s (its HTTP timeout). So a client that does not
 * read costs the kernel's socket buffers, uWS's 16 KiB cork buffer and this one answer, whatever
 * it asks for, while the answer itself is exempt from any size bound (a GET /admin/export of
 * hundreds of MB still reaches a slow reader). uWS.js counts no queued bytes per HTTP
 * connection (getWriteOffset is this answer's; getBufferedAmount is WebSocket-only), so a
 * byte bound spanning several answers of one connection could not be measured; the answers held
 * over all connections, and over each client's, are, and bounded (held-bodies.ts). The price: a client that
 * pipelines past an answer it has not read is closed; request/response clients never are.
 * Bodiless answers (HEAD, 304) have nothing to hold: see BodilessAnswers.
 */
function holdRest(res: uWS.HttpResponse, response: HttpResponse, tally: HeldTally, client: string): void {
  const body = derivedOnce(bodyBytes, response, bytesOf);
  const { bodies } = tally;
  if (response.heldWhateverSize !== true && !bodies.admits(body, client)) {
    tally.closedUnread++;
    res.close();
    return;
  }
  tally.held++;
  bodies.hold(body, client);
  let holding = true;
  const release = () => {
    if (holding) bodies.release(body, client);
    holding = false;
  };
  // Replaces an async route's own abort handler, which has no more use once its answer is written.
  res.onAborted(() => {
    release();
    tally.closedUnread++;
  });
  // `offset` is how much of the body the socket has taken; uWS drops both handlers once it is all sent.
  res.onWritable((offset) => {
    const [ok, done] = res.tryEnd(body.subarray(offset), body.byteLength);
    if (done) release();
    return ok;
  });
}

const internalError = (): HttpResponse => ({
  status: 500,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ error: 'internal', detail: 'unexpected error; see the server log' }),
});

export function listen<C>(
  options: ServerOptions,
  http: (req: HttpRequest) => HttpResponse | Promise<HttpResponse>,
  ws: WsHandlers<C>,
  onError: (err: unknown) => void,
  sse?: SseHandler,
): Promise<RunningServer> {
  const app = uWS.App();
  const proxies = new TrustedProxies(options.trustProxy ?? []);
  // The client's address for per-IP limits and logs. Called in the upgrade and SSE handlers,
  // and for a plain request only when its answer is held (or answered later), while `req` is
  // still valid; other plain requests never need it.
  const ipv6Prefix = options.ipv6ClientPrefix ?? DEFAULT_IPV6_CLIENT_PREFIX;
  // The key per-IP limits count the client under (its IPv6 network), and what their refusals name.
  const clientOf = (res: uWS.HttpResponse, req: uWS.HttpRequest | null): string =>
    clientNetwork(
      proxies.clientOf(Buffer.from(res.getRemoteAddressAsText()).toString(), () =>
        req === null ? '' : forwardedFor(req),
      ),
      ipv6Prefix,
    );
  const tally: HeldTally = {
    held: 0,
    closedUnread: 0,
    bodies: new HeldBodies(options.maxHeldBytes, options.maxHeldBytesPerClient),
    clientOf: (res, heldFor) => (typeof heldFor === 'string' ? heldFor : clientOf(res, heldFor)),
  };
  const bodiless = new BodilessAnswers(tally);
  const writeResponse = (
    res: uWS.HttpResponse,
    response: HttpResponse,
    head: boolean,
    heldFor: HeldFor,
    inHandler = false,
  ) => writeAnswer(res, response, head, inHandler, tally, bodiless, heldFor);
  const sockets = new Set<uWS.WebSocket<PeerData<C>>>();
  const streams = new Set<() => void>();
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      onError(err);
    }
  };

  app.ws<PeerData<C>>('/ws', {
    maxPayloadLength: options.maxPayloadBytes * 4,
    idleTimeout: options.idleTimeoutSeconds,
    sendPingsAutomatically: options.idleTimeoutSeconds > 0,
    maxBackpressure: options.maxBackpressureBytes,
    closeOnBackpressureLimit: 1,
    upgrade: (res, req, context) => {
      const ip = clientOf(res, req);
      const refusal = ws.admit?.(ip) ?? null;
      if (refusal !== null) {
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (refusal.retryAfterSeconds !== undefined) headers['Retry-After'] = String(refusal.retryAfterSeconds);
        return writeResponse(
          res,
          { status: refusal.status, headers, body: JSON.stringify({ error: refusal.error, detail: refusal.detail }) },
          false,
          ip,
        );
      }
      res.upgrade<PeerData<C>>(
        { ip },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (socket) => {
      sockets.add(socket);
      const data = socket.getUserData();
      // A closed uWS socket throws on any use: every call checks the flag the close handler sets.
      const peer: WsPeer = {
        send: (text) => (data.closed ? 2 : socket.send(text, false)),
        bufferedAmount: () => (data.closed ? 0 : socket.getBufferedAmount()),
        subscribe: (topic) => void (data.closed || socket.subscribe(topic)),
        unsubscribe: (topic) => void (data.closed || socket.unsubscribe(topic)),
        end: (code, reason) => void (data.closed || socket.end(code, reason)),
        terminate: () => void (data.closed || socket.close()),
        cork: (fn) => (data.closed ? fn() : void socket.cork(fn)),
      };
      guarded(() => (data.conn = ws.open(peer, data.ip)));
    },
    message: (socket, message, isBinary) => {
      if (message.byteLength > options.maxPayloadBytes) {
        return socket.end(
          1009,
          `frame of ${message.byteLength} bytes is over the ${options.maxPayloadBytes}-byte limit`,
        );
      }
      const conn = socket.getUserData().conn;
      if (conn !== undefined) guarded(() => ws.message(conn, isBinary ? null : Buffer.from(message).toString('utf8')));
    },
    drain: (socket) => {
      const conn = socket.getUserData().conn;
      if (conn !== undefined && ws.drain) guarded(() => ws.drain?.(conn));
    },
    close: (socket) => {
      sockets.delete(socket);
      const data = socket.getUserData();
      data.closed = true;
      if (data.conn !== undefined) guarded(() => ws.close(data.conn as C));
    },
  });

  if (sse) {
    // More specific than the catch-all below, so uWS routes event streams here whatever the order.
    app.get('/api/:ident/stream', (res, req) => {
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
        return writeResponse(res, internalError(), false, request.ip);
      }
      if (typeof result !== 'function') return writeResponse(res, result, false, request.ip);
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
    });
  }

  const hot = new HotAnswers();
  const offer = (answer: HotAnswer) => hot.offer(answer);
  app.any('/*', (res, req) => {
    const path = req.getUrl();
    const method = upperMethod(req.getCaseSensitiveMethod());
    const query = req.getQuery() ?? '';
    // A request the handler answered before, answered again while still fresh (hot-answer.ts).
    if (hot.holds(path)) {
      const again = hot.match(path, {
        method,
        query,
        accept: req.getHeader('accept'),
        acceptEncoding: req.getHeader('accept-encoding'),
        ifNoneMatch: req.getHeader('if-none-match'),
      });
      if (again !== undefined) {
        again.served();
        return writeResponse(res, again.response, method === 'HEAD', req, true);
      }
    }
    // Headers are read from uWS as the handler asks for them (the request object is only valid
    // until this callback returns): copying every header per request cost more than the few the
    // routes read. An answer that comes later gets a copy taken before returning, below.
    let copied: Map<string, string> | undefined;
    const request: HttpRequest = {
      method,
      path,
      query,
      header: (name) => (copied === undefined ? req.getHeader(name) : (copied.get(name) ?? '')),
      offer,
      client: () => clientOf(res, req),
    };
    let response: HttpResponse | Promise<HttpResponse>;
    try {
      response = http(request);
    } catch (err) {
      onError(err);
      response = internalError();
    }
    if (!(response instanceof Promise)) return writeResponse(res, response, request.method === 'HEAD', req, true);
    // An answer that comes later (admin routes): uWS requires onAborted before returning.
    const headers = new Map<string, string>();
    req.forEach((k, v) => headers.set(k, v));
    copied = headers;
    // Worked out now, while `req` is valid, for the answer should it be held.
    const client = clientOf(res, req);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    response.then(
      (r) => !aborted && writeResponse(res, r, request.method === 'HEAD', client),
      (err) => {
        onError(err);
        if (!aborted) writeResponse(res, internalError(), false, client);
      },
    );
  });

  return new Promise((resolve, reject) => {
    // Exclusive: without it uWS sets SO_REUSEPORT, and a second instance on the same port
    // starts fine and the kernel spreads clients over both at random.
    const listenWith = app.listen as unknown as (
      host: string,
      port: number,
      options: number,
      cb: (socket: uWS.us_listen_socket | false) => void,
    ) => void;
    listenWith.call(app, options.host, options.port, LIBUS_LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (!socket) return void whyNotListening(options.host, options.port).then(reject);
      resolve({
        port: uWS.us_socket_local_port(socket),
        native: uwsIsNative(),
        publish: (topic, text) => void app.publish(topic, text, false),
        connections: () => sockets.size + streams.size,
        heldAnswers: () => ({ held: tally.held, closedUnread: tally.closedUnread, heldBytes: tally.bodies.bytes }),
        close: () => {
          uWS.us_listen_socket_close(socket);
          // 1001 "going away": clients reconnect to the restarted service and resume.
          for (const s of [...sockets]) if (!s.getUserData().closed) s.end(1001, 'server stopping');
          for (const close of [...streams]) close();
        },
      });
    });
  });
}
