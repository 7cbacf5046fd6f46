import { spawn } from 'node:child_process';

/** Under vitest the sources are TypeScript; the child always runs the built file. */
const CHILD = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/export-child.js', import.meta.url)
  : new URL('./export-child.js', import.meta.url);

export type PeerExport = { bytes: Uint8Array; generation: number } | null;

/** An export larger than this is refused rather than held: what a replica accepts (bootstrap.ts). */
export interface ExportLimits {
  readonly maxBytes: number;
}

/**
 * The export built by a child process (export-child.ts): its stdout after the generation's
 * number; null when it wrote nothing (no readable generation). Rejects when the child fails or
 * writes more than `maxBytes`.
 */
export function exportInChild(dataDir: string, tailSeconds: number, limits: ExportLimits): Promise<PeerExport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD.pathname, dataDir, String(tailSeconds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let tooLarge = false;
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
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (tooLarge) return reject(new Error(`the export exceeds ${limits.maxBytes} bytes`));
      if (code !== 0)
        return reject(new Error(`the export process ended with ${signal ?? `code ${code}`}: ${stderr.trim()}`));
      if (size === 0) return resolve(null);
      const out = Buffer.concat(chunks, size);
      if (size < 4) return reject(new Error(`the export process wrote ${size} bytes`));
      resolve({ bytes: out.subarray(4), generation: out.readUInt32LE(0) });
    });
  });
}

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
