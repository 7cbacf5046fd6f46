import * as z from 'zod';
import type { HotAnswer } from './hot-answer.js';

/** The transport-neutral request and response the route handlers speak (uws-server adapts them). */
export interface HttpRequest {
  /** Upper-case method. */
  readonly method: string;
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query: string;
  /** Header value by lower-case name, "" when absent. */
  header(name: string): string;
  /** Set by an adapter that can give an answer again by itself (hot-answer.ts); the handler offers memoised ones. */
  readonly offer?: (hot: HotAnswer) => void;
  /**
   * The key per-IP limits count the client under (client-network.ts), worked out when asked:
   * only while the handler runs, since the adapter's request is valid only then. Absent: one
   * client for every request (tests calling handlers directly).
   */
  readonly client?: () => string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
  /**
   * An answer for an authenticated client (the admin export): held for a slow reader whatever
   * the answers held for others (--http-max-held-bytes, held-bodies.ts), which anyone can fill.
   */
  readonly heldWhateverSize?: true;
}

export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Link, X-Link-Number, X-Link-Count',
};

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

/** Most characters of a client's value an error detail echoes (quoted()). */
export const ECHO_MAX_CHARS = 100;

/**
 * A client's value as an error detail names it: JSON-quoted, whole up to ECHO_MAX_CHARS
 * characters, else its first ECHO_MAX_CHARS and how long it was. Echoed whole, a 60 KB
 * parameter came back in the 400's body (a reflection and an amplifier for whoever forges the
 * link) and in every log line that carries the detail. Every route quotes through here.
 */
export function quoted(value: string): string {
  if (value.length <= ECHO_MAX_CHARS) return JSON.stringify(value);
  // Not between the halves of a surrogate pair: the cut would echo half a character.
  const code = value.charCodeAt(ECHO_MAX_CHARS - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? ECHO_MAX_CHARS - 1 : ECHO_MAX_CHARS;
  return `${JSON.stringify(value.slice(0, end))}… (${value.length} characters)`;
}

/** Every error body: a stable code for programs and a detail naming the bad value for people. */
export const errorBodySchema = z.object({
  error: z.string().meta({
    description:
      'stable code: bad_parameter, not_acceptable, unknown_ident, no_layout, not_found, method_not_allowed, view_hung, data_file_failed, upgrade_required, bad_handshake',
  }),
  detail: z.string().meta({ description: 'what was wrong, naming the parameter and value' }),
  parameter: z
    .string()
    .optional()
    .meta({ description: 'with `bad_parameter`: the query parameter refused, as `/raw` and WebSocket errors name it' }),
  header: z.string().optional().meta({
    description:
      'with `upgrade_required` and `bad_handshake` (`/ws` without a WebSocket handshake): the request header missing or refused',
  }),
});

export function error(
  status: number,
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): HttpResponse {
  const body: z.infer<typeof errorBodySchema> = { error: code, detail };
  return json(status, body, headers);
}

/** A `400 bad_parameter` naming the parameter in a field of its own: a program need not parse the detail. */
export function badParameter(parameter: string, detail: string, headers: Record<string, string> = {}): HttpResponse {
  const body: z.infer<typeof errorBodySchema> = { error: 'bad_parameter', detail, parameter };
  return json(400, body, headers);
}
