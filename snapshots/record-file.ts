import { basename } from 'node:path';
import { readBoundedFile } from '../src/bounded-read.js';
import { replaceFileDurably } from '../src/durable-replace.js';

/**
 * The small JSON files beside the data (hung-messages.json, hung-views.json, applying.json):
 * written by the hang watch thread or a start, read at the next start. Anyone can edit or damage
 * one, so a read is bounded in bytes and a file that cannot be used is a `problem` to warn of,
 * never a reason not to start; a write is atomic and durable (a new file fsynced and renamed
 * over), as the watch thread may be killed, or the machine lose power, right after it.
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

/** The name writeRecordFile() gives its new file (`<path>.<pid>.tmp`) before renaming it over `path`. */
const tempPathOf = (path: string, pid: number): string => `${path}.${pid}.tmp`;

/** Whether `name` is a new file writeRecordFile() left beside `file` (its process died mid-write). */
export function isRecordTempOf(name: string, file: string): boolean {
  const pid = name.startsWith(`${file}.`) && name.endsWith('.tmp') ? name.slice(file.length + 1, -'.tmp'.length) : '';
  return /^\d+$/.test(pid) && name === tempPathOf(file, Number(pid));
}

export function writeRecordFile(path: string, text: string): void {
  replaceFileDurably(path, text, tempPathOf(path, process.pid));
}

/**
 * The records of a file `{ "<listKey>": [ … ] }`: the newest `max` of the list, each through
 * `parse` (null: not understood, skipped and counted in `problem`). A file that is missing gives
 * none; one that cannot be read, is not JSON or has no such list gives none and says why.
 */
export function readRecordList<T>(
  path: string,
  maxBytes: number,
  listKey: string,
  max: number,
  parse: (item: unknown) => T | null,
): { readonly records: T[]; readonly problem: string | null } {
  const read = readRecordFile(path, maxBytes);
  if (read.kind === 'missing') return { records: [], problem: null };
  if (read.kind === 'problem') return { records: [], problem: read.problem };
  const name = basename(path);
  const list = (read.value as Record<string, unknown> | null)?.[listKey];
  if (!Array.isArray(list)) return { records: [], problem: `${name} has no "${listKey}" list` };
  const records: T[] = [];
  let invalid = 0;
  for (const item of list.slice(-max)) {
    const r = parse(item);
    if (r === null) invalid++;
    else records.push(r);
  }
  return { records, problem: invalid > 0 ? `${name}: ${invalid} records not understood, ignored` : null };
}
