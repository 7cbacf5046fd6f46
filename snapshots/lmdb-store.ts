/**
 * The one module that talks to LMDB. Values are opaque bytes (the codec owns encoding).
 * Layout: `m` → snapshot meta; `e\0<ident>\0<store>\0<key>` → one entry of one container.
 */
import { open, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const SEP = '\u0000';
const META_KEY = 'm';
/** LMDB's key limit is 1978 bytes; leave room for the prefix. */
export const MAX_ENTRY_KEY_BYTES = 1800;

export interface StoredEntry {
  readonly store: string;
  readonly key: string;
  readonly value: Uint8Array;
}

export interface WriteBatch {
  putMeta(value: Uint8Array): void;
  put(ident: string, store: string, key: string, value: Uint8Array): void;
  remove(ident: string, store: string, key: string): void;
  /** Removes every entry of a plugin (before a full rewrite after migration). */
  clear(ident: string): void;
}

export class SnapshotStore {
  private readonly db: Database<Uint8Array, string>;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = open<Uint8Array, string>({ path: join(dir, 'snapshots.lmdb'), encoding: 'binary', compression: false });
  }

  readMeta(): Uint8Array | undefined {
    return this.db.getBinary(META_KEY) ?? undefined;
  }

  *entries(ident: string): Generator<StoredEntry> {
    const prefix = `e${SEP}${ident}${SEP}`;
    for (const { key, value } of this.db.getRange({ start: prefix, end: `e${SEP}${ident}\u0001` })) {
      const rest = key.slice(prefix.length);
      const cut = rest.indexOf(SEP);
      yield { store: rest.slice(0, cut), key: rest.slice(cut + 1), value };
    }
  }

  /** Idents that have entries on disk (to report state kept for plugins no longer loaded). */
  storedIdents(): string[] {
    const idents = new Set<string>();
    for (const key of this.db.getKeys({ start: `e${SEP}`, end: `e\u0001` })) {
      idents.add(key.slice(2, key.indexOf(SEP, 2)));
    }
    return [...idents];
  }

  /** Runs `fill` inside one write transaction: all of it lands, or none. */
  write(fill: (batch: WriteBatch) => void): Promise<void> {
    const db = this.db;
    const entryKey = (ident: string, store: string, key: string) => `e${SEP}${ident}${SEP}${store}${SEP}${key}`;
    return db.transaction(() => {
      fill({
        putMeta: (value) => void db.put(META_KEY, value),
        put: (ident, store, key, value) => void db.put(entryKey(ident, store, key), value),
        remove: (ident, store, key) => void db.remove(entryKey(ident, store, key)),
        clear: (ident) => {
          for (const key of db.getKeys({ start: `e${SEP}${ident}${SEP}`, end: `e${SEP}${ident}\u0001` })) db.remove(key);
        },
      });
    }) as Promise<void>;
  }

  /** Bytes used by the environment file (for metrics and `snapshot list`). */
  sizeBytes(): number {
    const stats = this.db.getStats() as { treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number; pageSize?: number };
    const pages = (stats.treeBranchPageCount ?? 0) + (stats.treeLeafPageCount ?? 0) + (stats.overflowPages ?? 0);
    return pages * (stats.pageSize ?? 4096);
  }

  async close(): Promise<void> {
    await this.db.flushed;
    await this.db.close();
  }
}
