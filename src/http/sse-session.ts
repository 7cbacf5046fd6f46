import type { SnapshotReason } from './ws-frames.js';
import type { LiveView, UpdateFrame } from './ws-view.js';

/** The streaming HTTP response as the hub sees it (sse-route adapts uWS's HttpResponse). */
export interface SseSink {
  /** Writes a chunk (corked by the adapter); false when it was queued behind unsent data. */
  write(text: string): boolean;
  /** Force-closes the connection. */
  close(): void;
}

/** The head of every event stream (`GET /api/<ident>/stream`), and of the answer to its HEAD. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  'Access-Control-Allow-Origin': '*',
};

/** `id:` of an event: the server epoch and the view's seq, so `Last-Event-ID` is a resume point. */
export const eventId = (epoch: string, seq: number) => `${epoch}:${seq}`;

/** Parses `Last-Event-ID`; null when absent or not ours. */
export function parseEventId(value: string): { epoch: string; seq: number } | null {
  const m = /^([0-9a-f]{1,64}):(\d{1,16})$/.exec(value.trim());
  return m ? { epoch: m[1] as string, seq: Number(m[2]) } : null;
}

/**
 * One `GET /api/<ident>/stream` client: the same frames as a WebSocket subscription, as
 * `event:`/`id:`/`data:` records. A client that stops reading is not written to (coalesced:
 * it gets a fresh snapshot once the socket drains) and is closed when it stays stuck.
 */
export class SseSession {
  slowSince: number | null = null;
  lastWriteMs: number;
  closed = false;

  constructor(
    readonly view: LiveView,
    readonly ip: string,
    private readonly sink: SseSink,
    private readonly epoch: string,
    nowMs: number,
  ) {
    this.lastWriteMs = nowMs;
  }

  snapshot(reason: SnapshotReason, nowMs: number): void {
    this.write(
      `id: ${eventId(this.epoch, this.view.seq)}\nevent: snapshot\ndata: ${this.view.snapshotFrame(this.epoch, reason, undefined)}\n\n`,
      nowMs,
    );
  }

  resumed(from: number, frames: readonly UpdateFrame[], nowMs: number): void {
    let text = `id: ${eventId(this.epoch, from)}\nevent: resumed\ndata: ${this.view.resumedFrame(this.epoch, from, frames.length, undefined)}\n\n`;
    for (const f of frames) text += updateEvent(this.epoch, f);
    this.write(text, nowMs);
  }

  update(frame: UpdateFrame, nowMs: number): void {
    if (this.slowSince === null) this.write(updateEvent(this.epoch, frame), nowMs);
  }

  /**
   * The view fails now: a `view_failed` event (not `error`, which EventSource keeps for its own
   * connection errors) with the WebSocket frame's JSON, and no `id:`, as it is no update. The
   * rows sent so far are the last good ones; `update` events follow when it computes again.
   */
  failed(nowMs: number): void {
    const text = this.view.failedFrame(undefined);
    if (text !== null && this.slowSince === null) this.write(`event: view_failed\ndata: ${text}\n\n`, nowMs);
  }

  /** A comment line: keeps proxies and uWS's HTTP idle timer from closing a quiet stream. */
  heartbeat(nowMs: number): void {
    if (this.slowSince === null) this.write(': keep-alive\n\n', nowMs);
  }

  /** The socket drained: catch up with one snapshot instead of the frames it missed. */
  writable(nowMs: number): void {
    if (this.closed || this.slowSince === null) return;
    this.slowSince = null;
    this.snapshot('resync', nowMs);
    this.failed(nowMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close();
  }

  write(text: string, nowMs: number): void {
    if (this.closed) return;
    this.lastWriteMs = nowMs;
    if (!this.sink.write(text) && this.slowSince === null) this.slowSince = nowMs;
  }
}

function updateEvent(epoch: string, f: UpdateFrame): string {
  return `id: ${eventId(epoch, f.seq)}\nevent: update\ndata: ${f.text}\n\n`;
}
