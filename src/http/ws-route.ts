import type { AnswerSocket, AnswerWriter } from './answer-writer.js';
import type { ClientOf, RequestHeaders } from './client-key.js';
import type { ServerOptions } from './uws-server.js';
import type { ConnectionRefusal, WsPeer } from './ws-connection.js';

/** The WebSocket side; `C` is the hub's per-connection handle. */
export interface WsHandlers<C> {
  /**
   * Checked before the upgrade. Null: another long-lived connection from `ip` is allowed; else
   * the answer that refuses it (status, error, Retry-After), written instead of upgrading.
   */
  admit?(ip: string): ConnectionRefusal | null;
  open(peer: WsPeer, ip: string): C;
  message(conn: C, text: string | null): void;
  drain?(conn: C): void;
  close(conn: C): void;
}

export type PeerData<C> = { ip: string; conn?: C; closed?: boolean };

/** The parts of uWS's WebSocket the hub's peer is made of (uws-server hands over the real one). */
export interface WsSocket<C> {
  send(text: string, isBinary: boolean): number;
  getBufferedAmount(): number;
  subscribe(topic: string): unknown;
  unsubscribe(topic: string): unknown;
  end(code: number, reason: string): void;
  close(): void;
  cork(cb: () => void): unknown;
  getUserData(): PeerData<C>;
}

/** The parts of uWS's HttpResponse and HttpRequest an upgrade uses. */
interface UpgradeResponse<C> extends AnswerSocket {
  upgrade(data: PeerData<C>, key: string, protocol: string, extensions: string, context: unknown): void;
}
interface UpgradeRequest extends RequestHeaders {
  getHeader(lowerCaseKey: string): string;
}

/** What the `/ws` route shares with the rest of the server. */
export interface WsRouteParts<C> {
  readonly clientOf: ClientOf;
  readonly writer: AnswerWriter;
  /** Open sockets, for the connection count and for closing them at stop. */
  readonly sockets: Set<WsSocket<C>>;
  readonly guarded: (fn: () => void) => void;
}

/** uWS's behaviour for `/ws`: admission at the upgrade, then each socket adapted to the hub's WsPeer. */
export function wsRoute<C>(
  options: Pick<ServerOptions, 'maxPayloadBytes' | 'idleTimeoutSeconds' | 'maxBackpressureBytes'>,
  ws: WsHandlers<C>,
  parts: WsRouteParts<C>,
) {
  const { clientOf, writer, sockets, guarded } = parts;
  return {
    maxPayloadLength: options.maxPayloadBytes * 4,
    idleTimeout: options.idleTimeoutSeconds,
    sendPingsAutomatically: options.idleTimeoutSeconds > 0,
    maxBackpressure: options.maxBackpressureBytes,
    closeOnBackpressureLimit: 1,
    upgrade: (res: UpgradeResponse<C>, req: UpgradeRequest, context: unknown) => {
      const ip = clientOf(res, req);
      const refusal = ws.admit?.(ip) ?? null;
      if (refusal !== null) {
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (refusal.retryAfterSeconds !== undefined) headers['Retry-After'] = String(refusal.retryAfterSeconds);
        return writer.write(
          res,
          { status: refusal.status, headers, body: JSON.stringify({ error: refusal.error, detail: refusal.detail }) },
          false,
          ip,
        );
      }
      // uWS answers the first subprotocol offered, though /ws speaks none by name (RFC 6455 4.2.2
      // would send none). Kept: with none in the 101, Chromium and the `ws` package fail the
      // connection of a client that offered one (the WHATWG WebSocket API requires the server to
      // select one of them), where today it connects and works.
      res.upgrade(
        { ip },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (socket: WsSocket<C>) => {
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
    message: (socket: WsSocket<C>, message: ArrayBuffer, isBinary: boolean) => {
      if (message.byteLength > options.maxPayloadBytes) {
        return socket.end(
          1009,
          `frame of ${message.byteLength} bytes is over the ${options.maxPayloadBytes}-byte limit`,
        );
      }
      const conn = socket.getUserData().conn;
      if (conn !== undefined) guarded(() => ws.message(conn, isBinary ? null : Buffer.from(message).toString('utf8')));
    },
    drain: (socket: WsSocket<C>) => {
      const conn = socket.getUserData().conn;
      if (conn !== undefined && ws.drain) guarded(() => ws.drain?.(conn));
    },
    close: (socket: WsSocket<C>) => {
      sockets.delete(socket);
      const data = socket.getUserData();
      data.closed = true;
      if (data.conn !== undefined) guarded(() => ws.close(data.conn as C));
    },
  };
}
