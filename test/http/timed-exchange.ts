import { connect } from 'node:net';

/** What came back for one raw request: an answer, a close without one, or nothing before the deadline. */
export type Outcome =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly body: Buffer;
    }
  | { readonly kind: 'closed'; readonly bytes: number }
  | { readonly kind: 'hung' };

/**
 * Sends `head` (a whole request head, request line included, without the final blank line), then `body`, on
 * its own connection with `Connection: close`, and reads the first answer (of an event stream, its head). Raw bytes, so a
 * request no HTTP client would send (a path with spaces or raw UTF-8, a 100 KB target) is sent
 * exactly as written. Resolves `hung` when no complete answer came within `deadlineMs`.
 */
export function timedExchange(port: number, head: string | Buffer, deadlineMs: number, body = ''): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'hung' }), deadlineMs);
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([Buffer.from(head), Buffer.from(`\r\nConnection: close\r\n\r\n${body}`)]));
    });
    const isHead = Buffer.from(head).subarray(0, 5).toString('latin1') === 'HEAD ';
    const parse = (final: boolean) => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return final ? finish({ kind: 'closed', bytes: raw.length }) : undefined;
      const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const status = Number(statusLine.split(' ')[1]);
      const body = raw.subarray(end + 4);
      const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
      const bodiless = isHead || status === 101 || status === 204 || status === 304;
      // An event stream never ends by itself: its head is the answer.
      const stream = (headers['content-type'] ?? '').startsWith('text/event-stream');
      if (bodiless || stream || (length !== null && body.length >= length) || final)
        finish({
          kind: 'answer',
          status,
          headers,
          body: bodiless ? Buffer.alloc(0) : body.subarray(0, length ?? undefined),
        });
      return undefined;
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      parse(false);
    });
    socket.on('error', () => parse(true));
    socket.on('close', () => parse(true));
  });
}
