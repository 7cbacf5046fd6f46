/**
 * `<data dir>/amqp-bindings.json`: the routing keys this data dir last bound on each durable
 * `--amqp-queue`. AMQP 0-9-1 cannot list a queue's bindings, and a durable queue keeps them
 * across restarts, so without this record a binding dropped from the configuration would keep
 * routing its topics into the queue (and into every statistic) forever.
 */
import { join } from 'node:path';
import { readBoundedFile } from './bounded-read.js';
import { replaceFileDurably } from './durable-replace.js';

export const AMQP_BINDINGS_FILE = 'amqp-bindings.json';

/** Bounds on what is read back: the file is ours, but a hand-edited or damaged one must not hurt. */
const MAX_KEYS = 1000;
const MAX_KEY_LENGTH = 255;
/** 1,000 keys of 255 characters under a few URLs fit in well under this. */
const MAX_FILE_BYTES = 1024 * 1024;

type Recorded = Record<string, Record<string, string[]>>;

export class AmqpBindingRecord {
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, AMQP_BINDINGS_FILE);
  }

  /**
   * The keys last bound on `queue`, through any input: the URL it was reached by is only a
   * label, and the same broker written another way (`localhost` for `127.0.0.1`, a new port,
   * `amqps` after a move to TLS) must not lose track of what the queue is bound to. Every
   * input binds the same `--amqp-binding` keys, and unbinding a key a queue does not have is a
   * no-op in RabbitMQ, so the union is safe. Empty when none are known; throws when the file is
   * there but cannot be read (EMFILE, EIO, EACCES): taken as empty, the stale keys were never
   * unbound and the next write replaced the record with only the keys bound now, so a binding
   * dropped from the configuration routed into the queue for good. The input's set-up fails
   * with the cause and is retried at its next connect.
   */
  read(_input: string, queue: string): string[] {
    const keys = new Set<string>();
    for (const queues of Object.values(this.load())) for (const k of queues[queue] ?? []) keys.add(k);
    return [...keys].slice(0, MAX_KEYS);
  }

  /**
   * Replaces the record for one queue under `input`, and drops what inputs no longer configured
   * (`live`: the labels of every `--amqp` input now) recorded for it: old spellings of a URL.
   * Another live input's entry stays, as its broker has a queue of that name of its own, still
   * to be unbound there. Written to a temporary file, fsynced and renamed, so never half-written, even by a power
   * loss (a lost record would leave a dropped binding routing into the queue for good).
   */
  write(input: string, queue: string, keys: readonly string[], live: ReadonlySet<string> = new Set()): void {
    const all = this.load();
    for (const other of Object.keys(all)) if (other !== input && !live.has(other)) delete all[other]?.[queue];
    all[input] = { ...all[input], [queue]: [...keys] };
    replaceFileDurably(this.path, `${JSON.stringify(all, null, 1)}\n`, `${this.path}.tmp`);
  }

  private load(): Recorded {
    let text: string;
    try {
      text = readBoundedFile(this.path, MAX_FILE_BYTES).toString('utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return {};
      // Past the bound is damage (a hand edit), read as knowing nothing like unparsable JSON.
      if (code === undefined) return {};
      throw new Error(
        `could not read ${this.path} (${String((err as Error).message)}): it is kept as it is and the bindings are set up again at the next connect`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return {};
    }
    const out: Recorded = {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return out;
    for (const [input, queues] of Object.entries(raw)) {
      if (typeof queues !== 'object' || queues === null || Array.isArray(queues)) continue;
      const kept: Record<string, string[]> = {};
      for (const [queue, keys] of Object.entries(queues)) {
        if (!Array.isArray(keys)) continue;
        kept[queue] = keys
          .filter((k): k is string => typeof k === 'string' && k.length <= MAX_KEY_LENGTH)
          .slice(0, MAX_KEYS);
      }
      out[input] = kept;
    }
    return out;
  }
}
