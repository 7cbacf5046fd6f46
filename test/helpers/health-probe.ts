/**
 * A health probe as a supervisor sends one: a new connection per request, closed after the
 * answer. Pollers use it instead of fetch because fetch's pool keeps idle keep-alive sockets,
 * and uWS closes a connection idle for 10 s: a test process that then computes for 10 s or more
 * without a turn of its event loop (seen at load 16-20) has not yet read the server's FIN, and
 * its next fetch goes out on that socket and fails "other side closed". That is the client's
 * stale socket, not the service's health; on a fresh connection any failure is the service's.
 */
import { request } from 'node:http';

export function probeJson(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON: keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
