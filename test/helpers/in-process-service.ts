import { request } from 'node:http';
import pino from 'pino';
import type { Service } from '../../src/service.js';

/** A line of the service's log as a test reads it: the fields it asserts on. */
export interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly err?: unknown;
}

/**
 * A pino logger whose lines (parsed) land in `lines`, for an in-process Service: the close-*
 * tests assert on what was logged, and that nothing failed, after the store closed.
 */
export function capturedLog<L extends object = LogLine>(): { readonly lines: L[]; readonly logger: pino.Logger } {
  const lines: L[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as L) });
  return { lines, logger };
}

/** Each plugin's state digest (/plugins), read in-process. */
export function pluginDigests(s: Service): Record<string, string> {
  const res = s.http({ method: 'GET', path: '/plugins', query: '', header: () => '' });
  const body = JSON.parse(String(res.body)) as { plugins: { ident: string; digest: string }[] };
  return Object.fromEntries(body.plugins.map((p) => [p.ident, p.digest]));
}

/** What POST /admin/snapshot answered: its status and the JSON members the tests read. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: {
    readonly error?: string;
    readonly detail?: string;
    readonly report?: { readonly generation?: number };
    readonly generation?: number;
  };
}

/** POST /admin/snapshot over a connection of its own (closed after the answer: nothing kept alive). */
export function postSnapshot(port: number, token: string): Promise<AdminAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/admin/snapshot', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as AdminAnswer['body'] }));
    });
    req.setHeader('authorization', `Bearer ${token}`);
    req.on('error', reject);
    req.end();
  });
}
