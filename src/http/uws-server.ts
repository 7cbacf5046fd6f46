/**
 * The one module that talks to uWebSockets.js. It adapts uWS requests and sockets to the
 * transport-neutral handlers (api-routes, ws-hub), which are plain functions tests can call.
 */
import { createRequire } from 'node:module';
import uWS from 'uWebSockets.js';
import type { HttpHandler } from './api-routes.js';
import type { HttpRequest } from './responses.js';
import type { WsPeer } from './ws-hub.js';

export interface WsHandlers {
  message(peer: WsPeer, text: string | null): void;
  close(peer: WsPeer): void;
  open?(peer: WsPeer): void;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxPayloadBytes: number;
  readonly idleTimeoutSeconds: number;
}

export interface RunningServer {
  readonly port: number;
  /** False when uWS fell back to its slow pure-JS implementation (no native binary for this Node). */
  readonly native: boolean;
  publish(topic: string, text: string): void;
  connections(): number;
  close(): void;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

type PeerData = { peer?: WsPeer };

/** True when the loaded uWS is the native addon rather than the JS fallback. */
export function uwsIsNative(): boolean {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('uWebSockets.js');
  return !Object.keys(require.cache).some((k) => k.startsWith(entry.replace(/src[/\\]uws\.js$/, 'dist')));
}

export function listen(options: ServerOptions, http: HttpHandler, ws: WsHandlers, onError: (err: unknown) => void): Promise<RunningServer> {
  const app = uWS.App();
  const sockets = new Set<uWS.WebSocket<PeerData>>();
  app.ws<PeerData>('/ws', {
    maxPayloadLength: options.maxPayloadBytes,
    idleTimeout: options.idleTimeoutSeconds,
    maxBackpressure: 16 * 1024 * 1024,
    sendPingsAutomatically: true,
    open: (socket) => {
      sockets.add(socket);
      const peer: WsPeer = {
        send: (text) => void socket.send(text, false),
        subscribe: (topic) => void socket.subscribe(topic),
        unsubscribe: (topic) => void socket.unsubscribe(topic),
        subscriptions: new Set(),
      };
      socket.getUserData().peer = peer;
      ws.open?.(peer);
    },
    message: (socket, message, isBinary) => {
      const peer = socket.getUserData().peer;
      if (!peer) return;
      try {
        ws.message(peer, isBinary ? null : Buffer.from(message).toString('utf8'));
      } catch (err) {
        onError(err);
      }
    },
    close: (socket) => {
      sockets.delete(socket);
      const peer = socket.getUserData().peer;
      if (peer) ws.close(peer);
    },
  });

  app.any('/*', (res, req) => {
    const headers = new Map<string, string>();
    req.forEach((k, v) => headers.set(k, v));
    const request: HttpRequest = {
      method: req.getMethod().toUpperCase(),
      path: req.getUrl(),
      query: req.getQuery() ?? '',
      header: (name) => headers.get(name) ?? '',
    };
    let response;
    try {
      response = http(request);
    } catch (err) {
      onError(err);
      response = { status: 500, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: 'internal', detail: 'unexpected error; see the server log' }) };
    }
    res.cork(() => {
      res.writeStatus(`${response.status} ${STATUS_TEXT[response.status] ?? ''}`.trim());
      for (const [k, v] of Object.entries(response.headers)) res.writeHeader(k, v);
      if (request.method === 'HEAD') res.endWithoutBody(Buffer.byteLength(response.body as string));
      else res.end(response.body);
    });
  });

  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (!socket) return reject(new Error(`cannot listen on ${options.host}:${options.port} (in use or not permitted)`));
      resolve({
        port: uWS.us_socket_local_port(socket),
        native: uwsIsNative(),
        publish: (topic, text) => void app.publish(topic, text, false),
        connections: () => sockets.size,
        close: () => {
          uWS.us_listen_socket_close(socket);
          // 1001 "going away": clients reconnect to the restarted service.
          for (const s of [...sockets]) s.end(1001, 'server stopping');
        },
      });
    });
  });
}
