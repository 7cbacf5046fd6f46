import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPORT_HEADER_BYTES, EXPORT_MAGIC, MAX_EXPORT_PAYLOAD_BYTES } from '../../src/commands/export-format.js';
import { CLI, tempDir } from '../helpers/service-process.js';

/** What the feeder offers at most: enough to tell a read that went on from one that stopped. */
const OFFERED = 64 * 1024 * 1024;
/** A pipe holds 64 KiB; the CLI's first read takes up to 1 MiB: well below this, it stopped. */
const STOPPED_BELOW = 4 * 1024 * 1024;

function header(announced: bigint): Buffer {
  const head = Buffer.alloc(EXPORT_HEADER_BYTES);
  EXPORT_MAGIC.copy(head, 0);
  head.writeUInt32BE(1, 8);
  head.writeBigUInt64BE(announced, 12);
  return head;
}

/**
 * `snapshot import <fifo>` fed a valid header announcing `announced` payload bytes, then
 * zeros up to OFFERED bytes (an endless stream, as far as a test may go): the CLI's answer and
 * how many bytes it took before it stopped reading.
 */
async function importFed(fifo: string, dataDir: string, announced: bigint) {
  // A named pipe, as `statscache snapshot import <(ssh peer …)` reads: it has no size to check.
  execFileSync('mkfifo', [fifo]);
  const child = spawn(process.execPath, [CLI, 'snapshot', 'import', fifo, '--data-dir', dataDir], {
    env: { ...process.env, STATSCACHE_ADMIN_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const feed = createWriteStream(fifo);
  let gone = false;
  // EPIPE once the CLI closed its end: what it did not read is never written.
  feed.on('error', () => (gone = true));
  child.once('exit', () => (gone = true));
  let written = 0;
  const write = (chunk: Buffer) =>
    new Promise<void>((resolve) => {
      feed.write(chunk, (err) => {
        if (err) gone = true;
        else written += chunk.byteLength;
        resolve();
      });
    });
  await write(header(announced));
  const zeros = Buffer.alloc(256 * 1024);
  while (!gone && written < OFFERED) await write(zeros);
  if (gone) feed.destroy();
  else await new Promise<void>((resolve) => feed.end(resolve));
  return { code: await closed, stderr, written };
}

describe('snapshot import of a header announcing more than one import can hold', () => {
  const scratch = tempDir();
  afterAll(() => scratch.remove());

  it('is refused after the header, naming the bound, before the stream behind it is read', async () => {
    const dataDir = join(scratch.path, 'huge');
    // 4 EiB: no file holds it, and a pipe that announces it and never ends was read into memory for ever.
    const r = await importFed(join(scratch.path, 'huge.fifo'), dataDir, 1n << 62n);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `refusing to import ${join(scratch.path, 'huge.fifo')}: the header announces 4611686018427387904 payload bytes, more than the ${MAX_EXPORT_PAYLOAD_BYTES} one import can hold; nothing was written`,
      ),
    );
    expect(r.written).toBeLessThan(STOPPED_BELOW);
    expect(existsSync(join(dataDir, 'statscache.lmdb'))).toBe(false);
  });

  it('reads a length at the bound as far as the stream goes (then refuses it as truncated)', async () => {
    const dataDir = join(scratch.path, 'at-bound');
    const r = await importFed(join(scratch.path, 'at-bound.fifo'), dataDir, BigInt(MAX_EXPORT_PAYLOAD_BYTES));
    expect(r.code).toBe(1);
    expect(r.written).toBe(EXPORT_HEADER_BYTES + OFFERED);
    expect(r.stderr).toMatch(
      new RegExp(
        `truncated or padded: the header announces ${MAX_EXPORT_PAYLOAD_BYTES} payload bytes, the file holds ${OFFERED}`,
      ),
    );
    expect(existsSync(join(dataDir, 'statscache.lmdb'))).toBe(false);
  });
});
