import { spawn } from 'node:child_process';
import { ExportFailure } from './export-tally.js';

/** Under vitest the sources are TypeScript; the child always runs the built file. */
const CHILD = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/export-child.js', import.meta.url)
  : new URL('./export-child.js', import.meta.url);

export type PeerExport = { bytes: Uint8Array; generation: number } | null;

/** An export larger than this is refused rather than held: what a replica accepts (bootstrap.ts). */
export interface ExportLimits {
  readonly maxBytes: number;
  /**
   * Longest the child may take: past it, it is killed and the export fails. Without it a child
   * that stopped answering held the export forever, and every later request with it (shared()).
   */
  readonly timeoutMs: number;
  /** Which Node runs the child: this one (tests name a wrapper that hangs). */
  readonly node?: string;
  /**
   * The service's stop or close: the child is killed and the export fails. Without it close()
   * and stop() returned with the child still reading the released data dir for up to
   * --export-timeout, its handle keeping the embedder's process alive.
   */
  readonly signal?: AbortSignal;
}

/**
 * The export built by a child process (export-child.ts): its stdout after the generation's
 * number; null when it wrote nothing (no readable generation). Rejects when the child fails or
 * writes more than `maxBytes`.
 */
export function exportInChild(dataDir: string, tailSeconds: number, limits: ExportLimits): Promise<PeerExport> {
  return new Promise((resolve, reject) => {
    const { signal } = limits;
    if (signal?.aborted) return reject(stoppedFailure());
    const child = spawn(limits.node ?? process.execPath, [CHILD.pathname, dataDir, String(tailSeconds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let tooLarge = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limits.timeoutMs);
    let stopped = false;
    const stop = () => {
      stopped = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', stop, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limits.maxBytes) {
        tooLarge = true;
        child.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      reject(err);
    });
    child.once('close', (code, killedBy) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      if (stopped) return reject(stoppedFailure());
      if (timedOut)
        return reject(
          new ExportFailure(
            'timed_out',
            `the export process did not finish within ${limits.timeoutMs / 1000} s (--export-timeout) and was killed`,
          ),
        );
      if (tooLarge) return reject(new ExportFailure('too_large', `the export exceeds ${limits.maxBytes} bytes`));
      if (code !== 0)
        return reject(
          new ExportFailure('failed', `the export process ended with ${killedBy ?? `code ${code}`}: ${stderr.trim()}`),
        );
      if (size === 0) return resolve(null);
      const out = Buffer.concat(chunks, size);
      if (size < 4) return reject(new ExportFailure('failed', `the export process wrote ${size} bytes`));
      resolve({ bytes: out.subarray(4), generation: out.readUInt32LE(0) });
    });
  });
}

const stoppedFailure = () =>
  new ExportFailure('failed', 'the service is stopping: the export process was killed (or not started)');

/**
 * One export at a time: requests that come while one is being built share it, so a peer
 * retrying (or several bootstrapping at once) cannot hold several copies of the state.
 */
export function shared(build: () => Promise<PeerExport>): () => Promise<PeerExport> {
  let building: Promise<PeerExport> | null = null;
  return () => {
    building ??= build().finally(() => {
      building = null;
    });
    return building;
  };
}
