/**
 * A real HTTP client reading `GET /api/<ident>/stream` as it comes (fetch), each blank-line-ended
 * block parsed by the SSE spec's line rules: `id:`, `event:`, `data:` (several joined by newlines),
 * `:` comments counted. Tests wait on `events` (or `comments()`) growing; close() aborts the request.
 */

export interface SseEvent {
  readonly id: string | undefined;
  /** `message` when the block names none, as EventSource does. */
  readonly event: string;
  readonly data: Record<string, unknown>;
}

export interface SseStream {
  readonly res: Response;
  /** Every event so far, in arrival order; grows while the stream is open. */
  readonly events: SseEvent[];
  /** Comment lines so far (the server's heartbeats). */
  comments(): number;
  /** The server ended the stream, or close() aborted it. */
  ended(): boolean;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  let comments = 0;
  let ended = false;
  const block = (text: string): void => {
    let id: string | undefined;
    let event = 'message';
    let data: string | undefined;
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) comments++;
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data = (data === undefined ? '' : `${data}\n`) + line.slice(6);
    }
    if (data !== undefined) events.push({ id, event, data: JSON.parse(data) as Record<string, unknown> });
  };
  if (res.status === 200 && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            block(buf.slice(0, end));
            buf = buf.slice(end + 2);
          }
        }
      } catch {
        /* aborted */
      }
      ended = true;
    })();
  } else {
    ended = true;
  }
  return { res, events, comments: () => comments, ended: () => ended, close: () => controller.abort() };
}
