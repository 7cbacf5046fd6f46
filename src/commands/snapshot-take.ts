import { type CommandIO, CommandError, commandConfig, type DataDirOptions } from './common.js';

export interface TakeOptions extends DataDirOptions {
  readonly url?: string;
  readonly token?: string;
}

/**
 * Most of an answer read: /admin/snapshot answers a report of a few hundred bytes (an error, a
 * few hundred more). A --url pointing elsewhere (a stream, a large file) was read whole: 1.4 GB
 * of heap after 15 s of an endless answer, until the 120 s timeout or the heap ran out.
 */
const MAX_ANSWER_BYTES = 1024 * 1024;

async function answerText(res: Response, url: URL): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    bytes += value.byteLength;
    if (bytes > MAX_ANSWER_BYTES) {
      void reader.cancel().catch(() => undefined);
      throw new CommandError(
        `${url} answered ${res.status} with more than ${MAX_ANSWER_BYTES} bytes, which statscache's /admin/snapshot never sends: is --url a statscache service?`,
      );
    }
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * `snapshot take`: asks a running service for a snapshot now (POST /admin/snapshot). The
 * token comes from --token, else STATSCACHE_ADMIN_TOKEN, else the config file's adminToken;
 * the URL from --url, else the configured host and port.
 */
export async function runSnapshotTake(opts: TakeOptions, io: CommandIO): Promise<number> {
  const config = commandConfig(opts);
  const token = opts.token ?? config.adminToken;
  if (!token)
    throw new CommandError(
      'no admin token: pass --token, set STATSCACHE_ADMIN_TOKEN, or put adminToken in the config file (the service must run with the same one)',
      2,
    );
  const base = opts.url ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  let url: URL;
  try {
    url = new URL(
      base.replace(/\/+$/, '').endsWith('/admin/snapshot') ? base : `${base.replace(/\/+$/, '')}/admin/snapshot`,
    );
  } catch {
    throw new CommandError(`--url ${JSON.stringify(base)} is not a URL like http://127.0.0.1:8080`, 2);
  }
  // localhost:8080 parses as a URL of scheme "localhost:": fetch then failed with exit 1.
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CommandError(`--url ${JSON.stringify(base)} is not a URL like http://127.0.0.1:8080 (http or https)`, 2);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    throw new CommandError(
      `cannot reach ${url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`,
    );
  }
  const text = await answerText(res, url);
  if (!res.ok) {
    let detail = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { error?: string; detail?: string };
      detail = `${body.error ?? ''}${body.detail ? `: ${body.detail}` : ''}`;
    } catch {
      // Not JSON (a proxy's page): show it raw.
    }
    throw new CommandError(`${url} answered ${res.status}: ${detail}`);
  }
  io.out(`${text}\n`);
  return 0;
}
