/**
 * The live-push wire contract (WebSocket frames; SSE events carry the same JSON). Types only
 * plus the parser of client frames, so the example client can import the types without
 * pulling in the server.
 */

/** What a client may send as a subscription id: echoed back in every reply to that frame. */
export type SubscriptionId = string | number;

/** Parameter values as a client sends them; validated like the HTTP query string. */
export type WireParams = Readonly<Record<string, string | number | boolean>>;

export interface ResumePoint {
  readonly epoch: string;
  readonly seq: number;
}

export type ClientFrame =
  | {
      readonly op: 'subscribe';
      readonly ident: string;
      readonly params: WireParams;
      readonly id?: SubscriptionId;
      readonly resume?: ResumePoint;
    }
  /** By `id` (the subscription's), or by `ident` + `params` (absent params: the default view). */
  | { readonly op: 'unsubscribe'; readonly ident?: string; readonly params: WireParams; readonly id?: SubscriptionId }
  | { readonly op: 'ping'; readonly id?: SubscriptionId };

/** A row key on the wire: the values of the plugin's `key` columns, in order. */
export type WireKey = readonly unknown[];

export type SnapshotReason = 'subscribe' | 'resume_gap' | 'resume_epoch' | 'resync';

export type ServerFrame =
  | {
      readonly type: 'hello';
      readonly epoch: string;
      readonly tickMs: number;
      readonly limits: Readonly<Record<string, number>>;
    }
  | {
      readonly type: 'snapshot';
      readonly ident: string;
      /** Canonical name of the view (ident + normalized parameters); update frames carry it too. */
      readonly view: string;
      readonly id?: SubscriptionId;
      readonly epoch: string;
      readonly seq: number;
      readonly key: readonly string[];
      readonly order: 'asc' | 'desc';
      readonly reason: SnapshotReason;
      readonly rows: readonly Record<string, unknown>[];
    }
  | {
      readonly type: 'update';
      readonly ident: string;
      readonly view: string;
      readonly seq: number;
      readonly rows: readonly Record<string, unknown>[];
      readonly removed: readonly WireKey[];
    }
  /** Resume accepted: the `replayed` update frames after `seq` follow at once. */
  | {
      readonly type: 'resumed';
      readonly ident: string;
      readonly view: string;
      readonly id?: SubscriptionId;
      readonly epoch: string;
      readonly seq: number;
      readonly replayed: number;
      readonly key: readonly string[];
      readonly order: 'asc' | 'desc';
    }
  | { readonly type: 'unsubscribed'; readonly ident: string; readonly view: string; readonly id?: SubscriptionId }
  | { readonly type: 'pong'; readonly id?: SubscriptionId }
  | {
      readonly type: 'error';
      readonly error: WsErrorCode;
      readonly detail: string;
      readonly ident?: string;
      readonly id?: SubscriptionId;
      readonly parameter?: string;
      /**
       * Set on a `view_failed` about a subscription held (not a refusal to subscribe): its view
       * fails now, the subscription stays, and the rows held are its last good ones, as of `seq`.
       * The next `update` (sent even when no row changed) says it computes again.
       */
      readonly view?: string;
      readonly seq?: number;
    };

export type WsErrorCode =
  | 'bad_frame'
  | 'unknown_op'
  | 'unknown_ident'
  | 'bad_parameter'
  | 'not_subscribed'
  | 'too_many_subscriptions'
  | 'too_many_subscriptions_per_ip'
  | 'too_many_views'
  | 'too_many_new_views'
  | 'view_failed'
  | 'view_hung';

/** Close codes the server uses (4000–4999 is the application range of RFC 6455). */
export const CLOSE_CODES = {
  /** Stayed over the buffered-bytes limit for too long: it reads slower than the data arrives. */
  tooSlow: 4008,
  /** Server going away (stop or restart); reconnect and resume. */
  goingAway: 1001,
  /** Frame larger than wsMaxFrameBytes (uWS closes with it). */
  tooBig: 1009,
  /** Policy violation: more frames than --ws-max-frames-per-second allows (RFC 6455 1008). */
  tooManyFrames: 1008,
} as const;

const MAX_ID_LENGTH = 128;

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: 'bad_frame' | 'unknown_op'; detail: string; id?: SubscriptionId; ident?: string };

/** Validates one text frame from a client; never throws. */
export function parseClientFrame(text: string | null): ParsedFrame {
  if (text === null) return { ok: false, error: 'bad_frame', detail: 'binary frames are not accepted; send JSON text' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'bad_frame', detail: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'bad_frame', detail: 'frame must be a JSON object' };
  const f = value as Record<string, unknown>;
  const rawId = f['id'];
  if (
    rawId !== undefined &&
    !(
      (typeof rawId === 'string' && rawId.length <= MAX_ID_LENGTH) ||
      (typeof rawId === 'number' && Number.isFinite(rawId))
    )
  ) {
    return {
      ok: false,
      error: 'bad_frame',
      detail: `"id" must be a number or a string of at most ${MAX_ID_LENGTH} characters`,
    };
  }
  const id = rawId as SubscriptionId | undefined;
  const withId = <T extends object>(o: T): T & { id?: SubscriptionId } => (id === undefined ? o : { ...o, id });
  const ident = typeof f['ident'] === 'string' ? f['ident'] : undefined;
  const fail = (error: 'bad_frame' | 'unknown_op', detail: string): ParsedFrame => ({
    ok: false,
    error,
    detail,
    ...withId({}),
    ...(ident === undefined ? {} : { ident }),
  });

  const op = f['op'];
  if (op === 'ping') return { ok: true, frame: withId({ op }) };
  if (op !== 'subscribe' && op !== 'unsubscribe') {
    return fail('unknown_op', `unknown op ${shownOp(op)}; expected "subscribe", "unsubscribe" or "ping"`);
  }
  if (f['ident'] !== undefined && ident === undefined) return fail('bad_frame', '"ident" must be a string');
  const params = parseParams(f['params']);
  if (typeof params === 'string') return fail('bad_frame', params);
  if (op === 'unsubscribe') {
    if (ident === undefined && id === undefined)
      return fail('bad_frame', 'unsubscribe needs "id" (of the subscription) or "ident" (plus its "params")');
    return { ok: true, frame: withId({ op, params, ...(ident === undefined ? {} : { ident }) }) };
  }
  if (ident === undefined) return fail('bad_frame', 'subscribe needs "ident" (a string)');
  const resume = f['resume'];
  if (resume === undefined) return { ok: true, frame: withId({ op, ident, params }) };
  const r = resume as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || typeof r['epoch'] !== 'string' || !Number.isSafeInteger(r['seq'])) {
    return fail('bad_frame', '"resume" must be {"epoch": <string from hello or snapshot>, "seq": <integer>}');
  }
  return { ok: true, frame: withId({ op, ident, params, resume: { epoch: r['epoch'], seq: r['seq'] as number } }) };
}

/**
 * An op as an error names it. Only a primitive is stringified: 30,000 nested arrays fit in a
 * 64 KiB frame, and stringifying them overflowed the stack, so the frame got no answer.
 */
function shownOp(op: unknown): string {
  if (typeof op === 'object' && op !== null) return Array.isArray(op) ? 'an array' : 'an object';
  return JSON.stringify(op)?.slice(0, 64) ?? 'undefined';
}

function parseParams(raw: unknown): WireParams | string {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    return '"params" must be an object of parameter values, like {"category": "bodhi"}';
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      return `parameter "${k.slice(0, 64)}" must be a string, number or boolean`;
    out[k] = v;
  }
  return out;
}
