/**
 * `--bootstrap <peer url>`: a new replica starts from a running peer instead of from nothing.
 * Before the service opens its data dir, the peer's newest snapshot generation is pulled
 * (`GET /admin/export`, the `snapshot export` file format), its SHA-256 verified, and written
 * as this data dir's newest generation with the peer's journal tail; the service then
 * restores it and its start-up backfill (from the peer's `/raw` unless `--datagrepper` says
 * otherwise) fetches what the peer received since, de-duplicated by the journal, before it
 * reports ready. The peer side of the route is peerExport().
 */
import { existsSync, readdirSync } from 'node:fs';
import { StatscacheError } from '../actors/errors.js';
import { causeChain } from './backfill.js';
import { ERROR_TEXT_BYTES, readUpTo } from './backfill-fetch.js';
import { DATA_FILE } from '../snapshots/lmdb-store.js';
import { QUARANTINE_DIR } from '../snapshots/quarantine.js';
import { APPLYING_FILE } from '../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE } from '../snapshots/hung-messages.js';
import { HUNG_VIEWS_FILE } from '../snapshots/hung-views.js';
import { isRecordTempOf } from '../snapshots/record-file.js';
import { openStore } from './commands/common.js';
import { decodeExport, ExportFileError } from './commands/export-format.js';
import { listSlots } from './commands/generations.js';
import { tailSeconds } from './commands/snapshot-export.js';
import { exportInChild, type PeerExport, shared } from './export-process.js';
import type { ExportTally } from './export-tally.js';
import { importPayload, stateTooNew } from './commands/snapshot-import.js';
import { registerPlugins } from '../actors/registry.js';
import { builtinPlugins } from '../plugins/index.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** Largest export a replica accepts from a peer (a state of millions of keys is a few hundred MB). */
export const MAX_EXPORT_BYTES = 1024 ** 3;
/**
 * The peer side: the newest good generation as export bytes (`GET /admin/export`), built by a
 * child process killed past `timeoutSeconds` (--export-timeout); each build counted in `tally`
 * (/metrics), once however many requests share it.
 */
export function peerExport(
  dataDir: string,
  backfillOverlap: number,
  timeoutSeconds: number,
  tally?: ExportTally,
  signal?: AbortSignal,
): () => Promise<PeerExport> {
  // No bigger than a replica accepts: it would be refused there after the whole transfer.
  // No longer than a replica waits for the whole download (the same setting there): an export built later serves nobody.
  const limits = { maxBytes: MAX_EXPORT_BYTES, timeoutMs: timeoutSeconds * 1000, ...(signal ? { signal } : {}) };
  const build = () => exportInChild(dataDir, tailSeconds(backfillOverlap), limits);
  return shared(tally ? () => tally.follow(build) : build);
}

const fail = (message: string, cause?: unknown): never => {
  throw new StatscacheError('SC_BOOTSTRAP_FAILED', message, cause === undefined ? undefined : { cause });
};

/**
 * A peer refusing this replica's token (401, 403), or having no such route (404: a wrong URL, or
 * a peer without an adminToken), refuses the same way on every start; an export larger than a
 * replica accepts stays larger. Exit 2 for these, so systemd does not retry them every 2 s;
 * a peer that is down, busy or cut off mid-transfer is worth the retry (exit 1).
 */
const refuse = (message: string): never => {
  throw new StatscacheError('SC_BOOTSTRAP_FAILED', message, { operatorFix: true });
};

/**
 * What statscache keeps beside its data file: its hang and crash records (with a record file's
 * temporary name: record-file.ts), and the folder damaged data files are moved aside to.
 */
const RECORD_FILES = [HUNG_MESSAGES_FILE, HUNG_VIEWS_FILE, APPLYING_FILE];
const ownFile = (name: string): boolean =>
  name.startsWith('statscache.') ||
  name === QUARANTINE_DIR ||
  RECORD_FILES.some((f) => name === f || isRecordTempOf(name, f));

/** What the data dir holds: nothing (bootstrap), statscache state (keep it), or something else (refuse). */
function dataDirState(dataDir: string): 'empty' | 'has-state' {
  if (!existsSync(dataDir)) return 'empty';
  const names = readdirSync(dataDir);
  if (names.length === 0) return 'empty';
  if (names.includes(DATA_FILE)) {
    const store = openStore(dataDir, { readOnly: true });
    try {
      if (listSlots(store).some((s) => s.ok)) return 'has-state';
    } finally {
      void store.close();
    }
  }
  // Only statscache's own files and no generation (a bootstrap killed before it wrote one, or a
  // first run the hang watch or a poison message ended before its first snapshot): nothing to
  // keep. The hang and crash records stay: they name messages of this data file's journal, which
  // the bootstrap keeps, and views, which it does not change; so does a quarantined data file.
  if (names.every(ownFile)) return 'empty';
  throw new StatscacheError(
    'SC_CONFIG_INVALID',
    `--bootstrap needs an empty data dir, and ${dataDir} holds ${names
      .slice(0, 5)
      .map((n) => JSON.stringify(n))
      .join(', ')}${names.length > 5 ? '…' : ''} but no statscache snapshot; point --data-dir at an empty folder`,
  );
}

/**
 * The peer's export, read whole. Bounded twice: the whole download by --export-timeout (the peer
 * builds the export before it answers, so the wait for its headers may be long), and once the
 * answer began, each wait for the next bytes by --bootstrap-idle-timeout: a peer or proxy that
 * sent the headers and stalled held the start for the whole export timeout (10 minutes by default).
 */
async function download(
  url: string,
  token: string,
  maxBytes: number,
  limits: { readonly timeoutSeconds: number; readonly idleSeconds: number },
): Promise<Buffer> {
  let res: Response;
  const timeout = AbortSignal.timeout(limits.timeoutSeconds * 1000);
  const idle = new AbortController();
  const why = (err: unknown): string =>
    idle.signal.aborted
      ? `no bytes from the peer for ${limits.idleSeconds} s (--bootstrap-idle-timeout)`
      : timeout.aborted
        ? `no complete export within ${limits.timeoutSeconds} s (--export-timeout), the longest the download may take`
        : causeChain(err);
  try {
    res = await fetch(url, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.statscache.snapshot' },
      signal: AbortSignal.any([timeout, idle.signal]),
    });
  } catch (err) {
    return fail(`cannot reach the peer at ${url}: ${why(err)}`, err);
  }
  // Armed from the headers on, re-armed by each chunk: aborting the fetch's signal ends its body.
  const stalled = setTimeout(() => idle.abort(), limits.idleSeconds * 1000);
  try {
    return await readExport(res, url, maxBytes, () => stalled.refresh(), why);
  } finally {
    clearTimeout(stalled);
  }
}

/** The answer's body (an error's start, or the whole export within `maxBytes`); `moved` is told of each chunk. */
async function readExport(
  res: Response,
  url: string,
  maxBytes: number,
  moved: () => void,
  why: (err: unknown) => string,
): Promise<Buffer> {
  if (res.status !== 200) {
    // Only its start: the whole body was read into memory, and a peer whose error body never
    // ended (a proxy's, a broken one) held the start for the 600 s timeout, growing the heap.
    const text = (await readUpTo(res, ERROR_TEXT_BYTES).catch(() => null))?.text().slice(0, 300) ?? '';
    return ([401, 403, 404].includes(res.status) ? refuse : fail)(
      `the peer answered ${res.status} to GET ${url}${res.status === 401 ? ' (this replica needs the peer’s adminToken)' : ''}: ${text}`,
    );
  }
  const announced = Number(res.headers.get('content-length') ?? Number.NaN);
  if (announced > maxBytes)
    return refuse(`the peer's export is ${announced} bytes, more than the ${maxBytes} accepted`);
  const chunks: Buffer[] = [];
  let total = 0;
  const body = res.body;
  if (body === null) return fail(`the peer sent no body for GET ${url}`);
  try {
    for await (const chunk of body) {
      moved();
      total += chunk.byteLength;
      if (total > maxBytes) {
        await body.cancel().catch(() => undefined);
        return refuse(`the peer's export exceeds the ${maxBytes} bytes accepted`);
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (err instanceof StatscacheError) throw err;
    return fail(`download from ${url} failed after ${total} bytes: ${why(err)}`, err);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Fills an empty data dir from the peer and returns the config the service runs with: the
 * peer's `/raw` as the history to backfill from when none is configured. A data dir that
 * already holds a snapshot (a restarted replica) is kept as it is: the bootstrap is skipped.
 * `clock`: the service's (systemClock unless a test injects one); the journal tail is judged by it.
 */
export async function bootstrapFromPeer(
  config: Config,
  log: Logger,
  options: { maxBytes?: number; plugins?: readonly unknown[]; clock?: Clock } = {},
): Promise<Config> {
  const peer = config.bootstrap;
  if (peer === null) return config;
  const base = peer.replace(/\/+$/, '');
  const withHistory = Object.freeze({ ...config, datagrepper: config.datagrepper ?? `${base}/raw` });
  if (dataDirState(config.dataDir) === 'has-state') {
    log.info(
      { dataDir: config.dataDir, peer: base },
      'data dir already holds a snapshot: --bootstrap skipped, restoring it and backfilling',
    );
    return withHistory;
  }
  if (config.adminToken === null)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      "--bootstrap pulls the peer's GET /admin/export, which needs the peer's admin token: set adminToken (STATSCACHE_ADMIN_TOKEN) to the same value as the peer's",
    );
  const url = `${base}/admin/export`;
  // A duration for the log, not a date: monotonic, so a wall clock stepped meanwhile (NTP) does not skew it.
  const started = performance.now();
  const bytes = await download(url, config.adminToken, options.maxBytes ?? MAX_EXPORT_BYTES, {
    timeoutSeconds: config.exportTimeout,
    idleSeconds: config.bootstrapIdleTimeout,
  });
  let payload: ReturnType<typeof decodeExport>;
  try {
    payload = decodeExport(bytes);
  } catch (err) {
    if (err instanceof ExportFileError) return fail(`the peer's export from ${url} is refused: ${err.message}`, err);
    throw err;
  }
  const tooNew = stateTooNew(payload, registerPlugins(options.plugins ?? builtinPlugins()));
  if (tooNew !== null) return fail(`the peer's export from ${url} is refused: ${tooNew}`);
  const lines: string[] = [];
  await importPayload(
    payload,
    url,
    config,
    { out: (s) => lines.push(s.trim()), err: (s) => lines.push(s.trim()) },
    // The clock the service then runs on: a tail message it would refuse as future_timestamp is not journaled.
    (options.clock ?? systemClock).now() / 1000,
  );
  log.info(
    {
      peer: base,
      bytes: bytes.byteLength,
      generation: payload.meta.generation,
      journalTail: payload.journalTail.length,
      ms: Math.round(performance.now() - started),
      detail: lines.join(' '),
      backfillFrom: withHistory.datagrepper,
    },
    "bootstrapped from the peer's snapshot (checksum verified); backfilling what it received since",
  );
  return withHistory;
}
