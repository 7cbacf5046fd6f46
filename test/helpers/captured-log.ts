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
