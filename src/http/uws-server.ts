/**
 * The one module that talks to uWebSockets.js. It adapts uWS requests and sockets to the
 * transport-neutral handlers (api-routes, ws-hub), which are plain functions tests can call;
 * the adapters it registers (ws-route, sse-route, answer-writer) see uWS objects only through
 * narrow interfaces of their own.
 */
import { createRequire } from 'node:module';
import uWS from 'uWebSockets.js';
import { AnswerWriter, internalError } from './answer-writer.js';
import { clientKeyOf } from './client-key.js';
import { DEFAULT_IPV6_CLIENT_PREFIX } from './client-network.js';
import { HeldBodies } from './held-bodies.js';
import { type HotAnswer, HotAnswers } from './hot-answer.js';
import { whyNotListening } from './listen-failure.js';
import type { HttpRequest, HttpResponse } from './responses.js';
import { type SseHandler, sseRoute } from './sse-route.js';
import { type PeerData, type WsHandlers, wsRoute, type WsSocket } from './ws-route.js';

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
  /**
   * close() also ends every plain HTTP connection. uWS keeps a kept-alive one for as long as a
   * request comes within its 10 s idle time, whatever Connection header the answers carry, and
   * an open connection keeps the process alive: a process that ends by running out of work
   * (`statscache proxy`) waited on the client. `serve` ends by its stop sequence instead.
   */
  readonly endConnectionsOnClose?: boolean;
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

/** True when the loaded uWS is the native addon rather than the JS fallback. */
export function uwsIsNative(): boolean {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('uWebSockets.js');
  return !Object.keys(require.cache).some((k) => k.startsWith(entry.replace(/src[/\\]uws\.js$/, 'dist')));
}

/** uWS's ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT (the typings have no overload with a host). */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/**
 * Header names as bytes: uWS.js converts a string argument to UTF-8 in a fresh allocation on
 * every call (three per hot read), and takes an ArrayBuffer as it is.
 */
const nameBytes = (name: string): ArrayBuffer => new Uint8Array(Buffer.from(name, 'latin1')).buffer;
const ACCEPT = nameBytes('accept');
const ACCEPT_ENCODING = nameBytes('accept-encoding');
const IF_NONE_MATCH = nameBytes('if-none-match');

/** The method as sent is upper case from every real client; only another spelling pays for a conversion. */
const upperMethod = (m: string): string => (m === 'GET' ? 'GET' : m.toUpperCase());

export function listen<C>(
  options: ServerOptions,
  http: (req: HttpRequest) => HttpResponse | Promise<HttpResponse>,
  ws: WsHandlers<C>,
  onError: (err: unknown) => void,
  sse?: SseHandler,
  /** The options named when the port cannot be had (default --host and --port). */
  flags?: { readonly host: string; readonly port: string },
): Promise<RunningServer> {
  const app = uWS.App();
  const clientOf = clientKeyOf(options.trustProxy ?? [], options.ipv6ClientPrefix ?? DEFAULT_IPV6_CLIENT_PREFIX);
  const writer = new AnswerWriter(new HeldBodies(options.maxHeldBytes, options.maxHeldBytesPerClient), clientOf);
  const { tally } = writer;
  const sockets = new Set<WsSocket<C>>();
  const streams = new Set<() => void>();
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      onError(err);
    }
  };

  // With one trailing slash too, as every route takes it (route-pattern.ts): uWS matches neither
  // form to the other. A handshake to `/ws/` reached the routes (404, then a 400 for its key).
  const socketRoute = wsRoute(options, ws, { clientOf, writer, sockets, guarded });
  for (const path of ['/ws', '/ws/']) app.ws<PeerData<C>>(path, socketRoute);
  // More specific than the catch-all below, so uWS routes event streams here whatever the order.
  // Both forms too: `/stream/` reached the catch-all, whose 404 said this process had no event
  // streams (while its HEAD, answered there, began one).
  if (sse) {
    const route = sseRoute(sse, { clientOf, writer, streams, guarded, onError });
    for (const path of ['/api/:ident/stream', '/api/:ident/stream/']) app.get(path, route);
  }

  const hot = new HotAnswers();
  const offer = (answer: HotAnswer) => hot.offer(answer);
  app.any('/*', (res, req) => {
    const path = req.getUrl();
    const method = upperMethod(req.getCaseSensitiveMethod());
    const query = req.getQuery() ?? '';
    // A request the handler answered before, answered again while still fresh (hot-answer.ts).
    if (hot.holds(path)) {
      const again = hot.find(
        path,
        method,
        query,
        req.getHeader(ACCEPT),
        req.getHeader(ACCEPT_ENCODING),
        req.getHeader(IF_NONE_MATCH),
      );
      if (again !== undefined) {
        again.served();
        return writer.write(res, again.response, method === 'HEAD', req, true);
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
    if (!(response instanceof Promise)) return writer.write(res, response, request.method === 'HEAD', req, true);
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
      (r) => !aborted && writer.write(res, r, request.method === 'HEAD', client),
      (err) => {
        onError(err);
        if (!aborted) writer.write(res, internalError(), false, client);
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
      if (!socket) return void whyNotListening(options.host, options.port, flags).then(reject);
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
          // uWS.js 20.30 has App.close() (close every socket of the app) without its typing.
          if (options.endConnectionsOnClose) (app as unknown as { close(): void }).close();
        },
      });
    });
  });
}

/**
 * A small HTTP server with no live push (`statscache proxy`'s /healthz and /metrics): answers
 * are small, so little is held for slow readers, and an upgrade to /ws is refused 404 before its
 * handshake like any other unknown path. Listens as listen() does (an exclusive port, the
 * cause named when the port cannot be had, `flags` the options to name in that error).
 */
export function listenPlain(
  host: string,
  port: number,
  http: (req: HttpRequest) => HttpResponse | Promise<HttpResponse>,
  onError: (err: unknown) => void,
  flags?: { readonly host: string; readonly port: string },
): Promise<RunningServer> {
  const noWebSockets: WsHandlers<null> = {
    admit: () => ({ status: 404, error: 'not_found', detail: 'no WebSocket here' }),
    open: (peer) => {
      peer.end(1008, 'no WebSocket here');
      return null;
    },
    message: () => {},
    close: () => {},
  };
  return listen(
    {
      host,
      port,
      maxPayloadBytes: 1024,
      idleTimeoutSeconds: 0,
      maxBackpressureBytes: 64 * 1024,
      maxHeldBytes: 1024 * 1024,
      endConnectionsOnClose: true,
    },
    http,
    noWebSockets,
    onError,
    undefined,
    flags,
  );
}
