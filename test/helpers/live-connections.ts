/**
 * Long-lived connections opened as a client would, for tests of the per-IP and total caps: a
 * WebSocket upgrade or an SSE stream, each giving either an open connection or the refusal's
 * status and body.
 */
import { type IncomingMessage, request } from 'node:http';
import WebSocket from 'ws';

export type Headers = Record<string, string | string[]>;
/** `retryAfter`: a refusal's Retry-After header, when it had one. */
export type Opened = { status: number; body: string; retryAfter?: string; close(): void };

/** A WebSocket upgrade: 101 and an open socket, or the refusal's status and body. */
export function upgrade(url: string, headers: Headers = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, body: '', close: () => ws.close() }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'], close: () => undefined });
      });
    });
    ws.on('error', reject);
  });
}

/** `GET /api/volume-1m/stream`: 200 and an open stream, or the refusal's status and body. */
export function sse(base: string, headers: Headers = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/volume-1m/stream`, { headers }, (res: IncomingMessage) => {
      if (res.statusCode === 200) return resolve({ status: 200, body: '', close: () => req.destroy() });
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'], close: () => undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** An array goes out as one header line per value (node:http), as a proxy that adds a line would send it. */
export function xff(value: string): Record<string, string>;
export function xff(value: string | string[]): Headers;
export function xff(value: string | string[]): Headers {
  return { 'x-forwarded-for': value };
}
export const detailOf = (o: Opened) => String((JSON.parse(o.body) as { detail?: unknown }).detail);
