import { renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readBoundedFile } from '../src/bounded-read.js';

/**
 * The small JSON files beside the data (hung-messages.json, hung-views.json, applying.json):
 * written by the hang watch thread or a start, read at the next start. Anyone can edit or damage
 * one, so a read is bounded in bytes and a file that cannot be used is a `problem` to warn of,
 * never a reason not to start; a write is atomic (a new file renamed over), as the watch thread
 * may be killed right after it.
 */
export type RecordFileRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'parsed'; readonly value: unknown }
  | { readonly kind: 'problem'; readonly problem: string };

export function readRecordFile(path: string, maxBytes: number): RecordFileRead {
  const name = basename(path);
  let text: string;
  try {
    text = readBoundedFile(path, maxBytes).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'problem', problem: `could not read ${name}: ${(err as Error).message}` };
  }
  try {
    return { kind: 'parsed', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'problem', problem: `${name} is not JSON` };
  }
}

export function writeRecordFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
