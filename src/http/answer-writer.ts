import { derivedOnce } from './answer-memo.js';
import type { ClientOf, PeerAddress, RequestHeaders } from './client-key.js';
import type { HeldBodies } from './held-bodies.js';
import type { HttpResponse } from './responses.js';
import { type Wire, wireOf } from './wire-head.js';

/** The parts of uWS's HttpResponse an answer is written with (uws-server hands over the real one). */
export interface AnswerSocket extends PeerAddress {
  cork(cb: () => void): unknown;
  writeStatus(status: string | Uint8Array | ArrayBuffer): unknown;
  writeHeader(key: string, value: string): unknown;
  endWithoutBody(): unknown;
  tryEnd(body: string | Uint8Array, totalSize: number): [boolean, boolean];
  onWritable(handler: (offset: number) => boolean): unknown;
  onAborted(handler: () => void): unknown;
  close(): unknown;
}

/**
 * Who a held answer is counted against: the request while its handler runs (uWS's request is
 * valid only then), the client already worked out, or null for the TCP peer alone.
 */
export type HeldFor = RequestHeaders | string | null;

type HeldTally = {
  held: number;
  closedUnread: number;
  readonly bodies: HeldBodies;
  /** The client key per-IP limits use; only worked out for an answer that is held. */
  readonly clientOf: (res: AnswerSocket, heldFor: HeldFor) => string;
};

export const internalError = (): HttpResponse => ({
  status: 500,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ error: 'internal', detail: 'unexpected error; see the server log' }),
});

/** Writes answers to uWS responses, holding the rest of those a connection cannot take at once (see holdRest). */
export class AnswerWriter {
  readonly tally: HeldTally;
  private readonly bodiless: BodilessAnswers;

  constructor(bodies: HeldBodies, clientOf: ClientOf) {
    this.tally = {
      held: 0,
      closedUnread: 0,
      bodies,
      clientOf: (res, heldFor) => (typeof heldFor === 'string' ? heldFor : clientOf(res, heldFor)),
    };
    this.bodiless = new BodilessAnswers(this.tally);
  }

  /**
   * Writes one answer. uWS corks a response by itself while its route handler runs, so an answer
   * given there (`inHandler`) is written directly (and without allocating a callback, as this is
   * the hot path); one that comes later is written in `cork()`, or each write would be its own send.
   * An answer that comes later is already one uWS holds the connection's next request for.
   */
  write(res: AnswerSocket, response: HttpResponse, head: boolean, heldFor: HeldFor, inHandler = false): void {
    const tally = this.tally;
    if (!inHandler) res.cork(() => sendAnswer(res, response, head, tally, heldFor));
    else if (head || isEmpty(response.body)) this.bodiless.defer(res, response, head);
    else sendAnswer(res, response, head, tally, heldFor);
  }
}

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
  private pending: { res: AnswerSocket; response: HttpResponse; head: boolean; gone: boolean }[] = [];
  private scheduled = false;

  constructor(private readonly tally: HeldTally) {}

  defer(res: AnswerSocket, response: HttpResponse, head: boolean): void {
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

/** Each answer object's head on the wire (wire-head.ts), made the first time it is written. */
const prepared = new WeakMap<HttpResponse, Wire>();

function sendAnswer(
  res: AnswerSocket,
  response: HttpResponse,
  head: boolean,
  tally: HeldTally,
  heldFor: HeldFor,
): void {
  const wire = derivedOnce(prepared, response, wireOf);
  res.writeStatus(wire.bytes);
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
function holdRest(res: AnswerSocket, response: HttpResponse, tally: HeldTally, client: string): void {
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
