/**
 * The one module that talks to LMDB. One environment holds both the snapshot slots and the
 * journal, so their writes share one ordered queue: a snapshot that commits proves every
 * journal entry appended before it committed too. Values are opaque bytes (the codec owns
 * encoding and checksums).
 *
 * Databases (keys are ordered-binary arrays, so no separator character can clash with a key):
 *   snapshot      [slot, 'm'] → slot meta; [slot, 'e', ident, store, key] → one entry (a key of
 *                 64+ units holding a unit 0-4 as parts of 63 after `store`: see entryKey)
 *   journal       seq → message record
 *   journal-ids   message id → seq (de-duplication, GET /id)
 *   journal-time  [timestamp, seq] → empty (time-window reads)
 */
import * as lmdb from 'lmdb';
import { compareKeys, open, type Database, type Key, type RangeOptions, type RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { join } from 'node:path';
import { AppendSettlement } from './append-settlement.js';

const EMPTY = new Uint8Array(0);

/**
 * A write transaction that did not commit (disk full, file size limit, I/O error, map full):
 * nothing of it landed. `cause` is LMDB's own error, which lmdb-js hands out separately.
 */
export class WriteFailedError extends Error {
  override readonly name = 'WriteFailedError';
}

/**
 * lmdb-js rejects each write of a failed commit with "Commit failed (see commitError for
 * details)" and rejects a second promise, `error.commitError`, with the cause. Nothing in
 * lmdb-js handles that one (kriszyp/lmdb-js#368), and an unhandled rejection ends a Node
 * process: so every failed write is passed through here, which handles it and names the cause.
 */
async function writeFailure(err: unknown): Promise<WriteFailedError> {
  const inner = (err as { commitError?: unknown } | null)?.commitError;
  let cause: unknown = err;
  if (inner instanceof Promise)
    cause = await inner.then(
      () => err,
      (e: unknown) => e,
    );
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return new WriteFailedError(code === undefined ? text : `${text} (code ${String(code)})`, { cause });
}

/** A journal key no record has (seqs start at 1): the append-settlement probe removes it, changing nothing. */
const PROBE_SEQ = -1;
/** How long a journal append may stay pending before a probe is queued behind it (append-settlement.ts). */
const PROBE_AFTER_MS = 2_000;

/** Slots are numbered 0…MAX_SLOTS-1 (generations kept). */
export const MAX_SLOTS = 16;

type SnapshotKey = [number, 'm'] | [number, 'e', string, string, string];
/** Where one reader's share of a slot's entries begins or ends (slotCuts). */
export type SlotCut = SnapshotKey;

/** Entries per plugin ident and container name, as a slot's meta record gives them (PluginRecord.entries). */
export type SlotSizes = Readonly<Record<string, Readonly<Record<string, number>> | undefined>>;

/** A slot's containers in LMDB's key order, with their sizes; null when a size is missing or not a count. */
function containersInKeyOrder(slot: number, sizes: SlotSizes): { start: SlotCut; n: number }[] | null {
  const out: { start: SlotCut; n: number }[] = [];
  for (const [ident, entries] of Object.entries(sizes)) {
    if (entries === undefined) return null;
    for (const [store, n] of Object.entries(entries)) {
      if (!Number.isSafeInteger(n) || n < 0) return null;
      out.push({ start: [slot, 'e', ident, store] as unknown as SlotCut, n });
    }
  }
  return out.sort((a, b) => compareKeys(a.start as Key, b.start as Key));
}

/** One journal record to append. */
export interface JournalAppend {
  readonly seq: number;
  readonly id: string;
  readonly timestamp: number;
  readonly value: Uint8Array;
}

/** One journal record moved to a later seq (snapshot import): its id and time index entries follow it. */
export interface JournalMove {
  readonly from: number;
  readonly to: number;
  readonly id: string;
  readonly timestamp: number;
}

export interface SnapshotBatch {
  putMeta(slot: number, value: Uint8Array): void;
  put(slot: number, ident: string, store: string, key: string, value: Uint8Array): void;
  remove(slot: number, ident: string, store: string, key: string): void;
  /** Removes every entry of one plugin in a slot (before rewriting it whole). */
  clear(slot: number, ident: string): void;
  /** Removes at most `limit` entries of one plugin in a slot; returns how many (0: none left). */
  clearSome(slot: number, ident: string, limit: number): number;
  /**
   * Copies at most `limit` entries of one plugin from slot `from` into slot `to` as stored (key
   * and checksummed value alike), starting after `after` (from its first entry when null).
   * Returns how many, and where the next call starts.
   */
  copySome(
    from: number,
    to: number,
    ident: string,
    after: SlotCut | null,
    limit: number,
  ): { n: number; last: SlotCut | null };
}

const metaKey = (slot: number): SnapshotKey => [slot, 'm'];

/**
 * LMDB's key encoding (ordered-binary) escapes UTF-16 units 0-4 only in strings of fewer than 64
 * units; in a longer one a unit 0 ends the string on reading (it separates a key's parts), so
 * such a key came back cut short after a restart, and two keys differing after it became one.
 * A key of 64 or more units holding one is stored as parts of 63 units after the store name,
 * each escaped as a short string is; the reader joins the parts (entryKeyOf). Other keys are
 * stored as one part, as they always were.
 */
const PART = 63;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the units ordered-binary escapes are the point
const LOW_UNIT = /[\u0000-\u0004]/;

function entryKey(slot: number, ident: string, store: string, key: string): SnapshotKey {
  if (key.length <= PART || !LOW_UNIT.test(key)) return [slot, 'e', ident, store, key];
  const parts: string[] = [];
  for (let at = 0; at < key.length; at += PART) parts.push(key.slice(at, at + PART));
  return [slot, 'e', ident, store, ...parts] as unknown as SnapshotKey;
}

/** ordered-binary's key encoding, as LMDB is given a key: exported by lmdb-js, missing from its types. */
const keyBytes = (lmdb as unknown as { keyValueToBuffer: (key: Key) => Uint8Array }).keyValueToBuffer;

/** The longest key LMDB takes (lmdb-js's default, which statscache keeps): a longer one throws on put. */
export const MAX_LMDB_KEY_BYTES = 1978;

/**
 * Bytes the snapshot table's key for (ident, store, key) takes in the highest slot, as LMDB is
 * given it: over MAX_LMDB_KEY_BYTES, writing the entry throws (what an export made by hand, or
 * by a build without today's bound on plugin keys, can hold).
 */
export function entryKeyBytes(ident: string, store: string, key: string): number {
  // Up to 600 units, however encoded (3 bytes a unit, separators, the slot), fit with room to spare.
  if (ident.length + store.length + key.length <= 600) return 0;
  return keyBytes(entryKey(MAX_SLOTS - 1, ident, store, key) as Key).length;
}

/** The entry key a stored key holds: its one part, or its parts joined; not a string when a part is not one. */
function entryKeyOf(k: readonly unknown[]): unknown {
  if (k.length <= 5) return k[4];
  let key = '';
  for (let i = 4; i < k.length; i++) {
    const part = k[i];
    if (typeof part !== 'string') return part;
    key += part;
  }
  return key;
}
// A prefix sorts before everything it starts; `ident + \u0001` sorts after every [ident, …].
const pluginRange = (slot: number, ident: string) => ({
  start: [slot, 'e', ident] as unknown as SnapshotKey,
  end: [slot, 'e', `${ident}\u0001`] as unknown as SnapshotKey,
});
const slotEntries = (slot: number) => ({
  start: [slot, 'e'] as unknown as SnapshotKey,
  end: [slot, 'e\u0001'] as unknown as SnapshotKey,
});

/** LMDB's own count of a database's records (its root record's), as lmdb-js reports it. */
const recordedEntries = (db: { getStats(): unknown }): number | undefined =>
  (db.getStats() as { entryCount?: number }).entryCount;

/**
 * A walk of a whole database that met fewer (or more) records than LMDB's own count of them: a
 * damaged page the cursor stepped over without an error. Garbage written into the middle of the
 * file did that: the check passed, and every start then died on MDB_CORRUPTED (a crash loop
 * under a supervisor). Throwing here fails the check, and the start quarantines and salvages.
 */
function walkedAll(name: string, walked: number, db: { getStats(): unknown }): number {
  const recorded = recordedEntries(db);
  if (recorded !== undefined && recorded !== walked)
    throw new Error(`${name}: the walk met ${walked} records, the database records ${recorded} (a damaged page)`);
  return walked;
}

/** The LMDB data file and its lock file inside a data dir. */
export const DATA_FILE = 'statscache.lmdb';
export const DATA_LOCK_FILE = 'statscache.lmdb-lock';

export class DataStore {
  private readonly root: RootDatabase;
  private readonly snapshots: Database<Uint8Array, SnapshotKey>;
  private readonly journal: Database<Uint8Array, number>;
  /** The journal again, read through LMDB's shared buffer (journalAfter). */
  private readonly journalShared: Database<Uint8Array, number>;
  /** The snapshot table again, read the same way (forEachEntry, walk). */
  private readonly snapshotsShared: Database<Uint8Array, SnapshotKey>;
  /** Size of the value a shared handle last read (its buffer is larger than the value). */
  private sharedSize = 0;
  private readonly ids: Database<number, string>;
  private readonly times: Database<Uint8Array, [number, number]>;
  /** Time-index keys of messages dated -0 re-keyed (or dropped) when this file was opened. */
  readonly repairedTimeKeys: number;
  /**
   * What trimming the journal let go: `through`, the newest message time among the records it
   * dropped (see trimmedThrough()). Absent from a read-only handle on a file older than it.
   */
  private readonly trimmed: Database<number, string> | undefined;
  /** The last write's commit failed (a full disk): close() cannot wait for LMDB then. */
  private writeFailed = false;
  /** writeSnapshot() calls not yet settled: their transaction may be open across turns. */
  private snapshotsWriting = 0;
  /** Journal appends whose outcome lmdb-js may never report (append-settlement.ts). */
  private readonly appends: AppendSettlement;
  /** Milliseconds of a monotonic clock, for writesWaiting(). */
  private readonly now: () => number;
  /**
   * When the snapshot write in progress was called (now()): a transaction that never starts
   * (queued behind a write the disk holds) waits from then.
   */
  private snapshotCalled = Number.NEGATIVE_INFINITY;
  /**
   * When a snapshot's fill last moved (now()): each write it makes, and its end. A long fill that
   * goes on writing is no stall, for it or for the appends queued behind it; its commit, if it
   * never settles, is.
   */
  private snapshotMoved = Number.NEGATIVE_INFINITY;

  constructor(
    readonly dir: string,
    options: { readOnly?: boolean; probeAfterMs?: number; now?: () => number } = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    if (!options.readOnly) mkdirSync(dir, { recursive: true });
    this.root = open({
      path: join(dir, DATA_FILE),
      maxDbs: 8,
      readOnly: options.readOnly ?? false,
      compression: false,
      // Writes are batched per turn here (journal.ts) or run in a transaction. lmdb-js's own
      // per-turn batch keeps a commit promise nobody can handle, so a failed commit (a full
      // disk) ended the process with an unhandled rejection.
      eventTurnBatching: false,
      // With overlapping sync (lmdb-js's default on Linux) a commit resolves before its pages
      // are flushed, and a flush the disk refuses is reported nowhere: journal batches said
      // "committed" were gone once a disk filled (seqs 205-228 of 400 in
      // test/e2e/amqp-bus.test.ts), never held, never written again. A commit now resolves once
      // it is on disk, so a full disk fails it and the journal holds its records.
      overlappingSync: false,
    });
    // Read-only, lmdb-js hands back no handle for a database the file does not hold: say so
    // here, rather than "cannot read properties of undefined" at the first read (a file copied
    // while it was written, or not a statscache file at all).
    const need = <T>(db: T | undefined, name: string): T => {
      if (db === undefined || db === null)
        throw new Error(
          `${join(dir, DATA_FILE)} holds no "${name}" database: not a statscache data file, or a copy taken while it was being written`,
        );
      return db;
    };
    this.snapshots = need(this.root.openDB<Uint8Array, SnapshotKey>('snapshot', { encoding: 'binary' }), 'snapshot');
    this.journal = need(this.root.openDB<Uint8Array, number>('journal', { encoding: 'binary' }), 'journal');
    // Replay reads every journal record once, and restore every snapshot entry of a generation.
    this.journalShared = need(this.sharedReader<number>('journal'), 'journal');
    this.snapshotsShared = need(this.sharedReader<SnapshotKey>('snapshot'), 'snapshot');
    this.ids = need(this.root.openDB<number, string>('journal-ids', { encoding: 'ordered-binary' }), 'journal-ids');
    this.times = need(
      this.root.openDB<Uint8Array, [number, number]>('journal-time', { encoding: 'binary' }),
      'journal-time',
    );
    // lmdb-js hands back no handle for a database a read-only file does not hold yet.
    this.trimmed = this.root.openDB<number, string>('journal-trimmed', {}) as Database<number, string> | undefined;
    this.appends = new AppendSettlement({
      probe: () => this.queued(() => void this.journal.remove(PROBE_SEQ)),
      probeAfterMs: options.probeAfterMs ?? PROBE_AFTER_MS,
      now: this.now,
    });
    this.repairedTimeKeys = options.readOnly ? 0 : this.repairNegativeZeroTimes();
  }

  /**
   * Before decodeEnvelope turned -0 into 0, a message dated -0 got the time-index key [-0, seq],
   * which the ordered key encoding has no form for: it sorts after every finite time, so the
   * message was in no window and trimming (which removes [0, seq]) left the key for good. Such
   * keys are all past [Infinity, 0], where no real key is: finding them reads only them. Each is
   * re-keyed [0, seq] (how the record reads back), or dropped when its record is gone.
   */
  private repairNegativeZeroTimes(): number {
    const seqs: number[] = [];
    for (const key of this.times.getKeys({ start: [Number.POSITIVE_INFINITY, 0] })) {
      const seq = (key as unknown[]).at(-1);
      if (!Number.isFinite(key[0]) && typeof seq === 'number' && Number.isSafeInteger(seq)) seqs.push(seq);
    }
    if (seqs.length === 0) return 0;
    this.root.transactionSync(() => {
      for (const seq of seqs) {
        void this.times.removeSync([-0, seq]);
        if (this.journal.doesExist(seq)) void this.times.putSync([0, seq], EMPTY);
      }
    });
    return seqs.length;
  }

  /**
   * A read-only handle on `name` whose decoder copies nothing: range reads then hand it LMDB's
   * one shared read buffer (and the value's size, in sharedSize) instead of a fresh
   * ArrayBuffer per value.
   */
  private sharedReader<K extends Key>(name: string): Database<Uint8Array, K> {
    return this.root.openDB<Uint8Array, K>(name, {
      encoding: 'binary',
      encoder: {
        encode: (): never => {
          throw new Error(`the shared ${name} handle is read-only`);
        },
        decode: (bytes: Uint8Array, size: number) => {
          this.sharedSize = size;
          return bytes;
        },
      },
    } as object);
  }

  // ── snapshot slots ────────────────────────────────────────────────────────────

  readSlotMeta(slot: number): Uint8Array | undefined {
    return this.snapshots.getBinary(metaKey(slot)) ?? undefined;
  }

  /** Slots that have a meta record. */
  slots(): number[] {
    return Array.from({ length: MAX_SLOTS }, (_, i) => i).filter((s) => this.readSlotMeta(s) !== undefined);
  }

  /**
   * Each entry of a plugin in a slot, passed to `read` as the first `size` bytes of a buffer
   * LMDB reuses for the next entry (`read` must not keep it): no copy of each value.
   */
  forEachEntry(
    slot: number,
    ident: string,
    read: (store: string, key: string, bytes: Uint8Array, size: number) => void,
  ): void {
    for (const { key, value } of this.snapshotsShared.getRange(pluginRange(slot, ident))) {
      const k = key as unknown as [number, 'e', string, string, ...unknown[]];
      read(k[3], entryKeyOf(k) as string, value, this.sharedSize);
    }
  }

  /**
   * Every entry of a slot, plugin by plugin and store by store in key order, passed as
   * forEachEntry passes them (`read` must not keep `bytes`).
   */
  forEachSlotEntry(
    slot: number,
    read: (ident: string, store: string, key: string, bytes: Uint8Array, size: number) => void,
    part: { readonly from: SlotCut | null; readonly to: SlotCut | null } = { from: null, to: null },
  ): void {
    const whole = slotEntries(slot);
    const range = { start: part.from ?? whole.start, end: part.to ?? whole.end };
    for (const { key, value } of this.snapshotsShared.getRange(range)) {
      const k = key as unknown as [number, 'e', string, string, ...unknown[]];
      read(k[2], k[3], entryKeyOf(k) as string, value, this.sharedSize);
    }
  }

  /**
   * Keys that cut a slot's entries into `parts` runs of near-equal length, for readers that
   * share them out. With `sizes` (the entries per plugin and container its meta record says
   * were written), a cut lands in the container that holds its entry, where LMDB skips to it
   * natively; without them, LMDB counts the whole slot first (232 ms of a 1.3 s read
   * at 1 M entries). Always `parts - 1` cuts in key order: any such keys cut the slot into
   * disjoint runs that cover it, so sizes that do not match the file only make the runs uneven.
   */
  slotCuts(slot: number, parts: number, sizes?: SlotSizes): SlotCut[] {
    const containers = sizes === undefined ? null : containersInKeyOrder(slot, sizes);
    const n =
      containers === null ? this.snapshots.getKeysCount(slotEntries(slot)) : containers.reduce((t, c) => t + c.n, 0);
    const { start: first, end } = slotEntries(slot);
    const cuts: SlotCut[] = [];
    for (let i = 1; i < parts; i++) {
      const target = Math.floor((i * n) / parts);
      let start = first;
      let offset = target;
      let cut: SlotCut | null = null;
      if (containers !== null) {
        let before = 0;
        const at = containers.find((c) => (before += c.n) > target);
        if (at !== undefined) {
          start = at.start;
          offset = target - (before - at.n);
          // A container's prefix sorts before every key in it and after every earlier one.
          if (offset === 0) cut = at.start;
        }
      }
      // Each call gets its own options: lmdb-js sets flags on the object it is given.
      if (cut === null)
        for (const key of this.snapshots.getKeys({ start, end, offset, limit: 1 })) cut = key as SlotCut;
      // Past the last entry (sizes larger than the file): the later runs are empty. Never before
      // the previous cut, so the runs stay disjoint whatever the sizes said.
      const previous = cuts[cuts.length - 1];
      if (cut === null) cut = end as unknown as SlotCut;
      if (previous !== undefined && compareKeys(cut as Key, previous as Key) < 0) cut = previous;
      cuts.push(cut);
    }
    return cuts;
  }

  /** Idents with entries in a slot. */
  identsIn(slot: number): string[] {
    const idents = new Set<string>();
    for (const key of this.snapshots.getKeys(slotEntries(slot))) idents.add(String(key[2]));
    return [...idents];
  }

  /** Bytes of stored entries per plugin in a slot (for `snapshot list`). */
  slotSizes(slot: number): Record<string, { entries: number; bytes: number }> {
    const out: Record<string, { entries: number; bytes: number }> = {};
    for (const { key, value } of this.snapshots.getRange(slotEntries(slot))) tallyEntry(out, key, value);
    return out;
  }

  /**
   * slotSizes(), handing the event loop back every `chunk` entries: the service measures a
   * generation for `POST /admin/snapshot`, and a walk of a million entries in one turn held
   * reads and health probes for as long. The range keeps its read transaction across the
   * turns, so it counts one version of the slot whatever is written meanwhile.
   */
  async slotSizesPaced(slot: number, chunk = 4096): Promise<Record<string, { entries: number; bytes: number }>> {
    const out: Record<string, { entries: number; bytes: number }> = {};
    let n = 0;
    for (const { key, value } of this.snapshots.getRange(slotEntries(slot))) {
      tallyEntry(out, key, value);
      if (++n % chunk === 0) await yieldToLoop();
    }
    return out;
  }

  /**
   * Runs `fill` inside one write transaction: all of it lands when it commits. `fill` may be
   * async (it yields between bounded chunks so the event loop keeps serving): LMDB then holds
   * the write lock until it settles, and writes queued meanwhile (journal appends) commit with it.
   *
   * A `fill` that throws part-way (a value msgpack cannot encode, a key LMDB refuses) leaves
   * nothing of it: it runs in a child transaction, which lmdb-js aborts when its callback throws
   * (a plain transaction commits the writes made before the throw: lmdb 3.5, checked with real
   * files). Journal appends queued while it runs are transactions of their own, run in the
   * parent after it, so they commit either way. Before, the slot being rewritten had its meta
   * record removed first so that a throw left it no generation rather than an older
   * generation's meta over newer entries; with --snapshot-generations 1 that left no generation
   * at all, and the journal it had let go was lost (1 message counted for 201).
   */
  writeSnapshot(fill: (batch: SnapshotBatch) => void | Promise<void>): Promise<void> {
    this.snapshotsWriting++;
    this.snapshotCalled = this.now();
    const moved = () => {
      this.snapshotMoved = this.now();
    };
    const written = this.root.childTransaction(() => {
      const filled = fill(this.snapshotBatch());
      if (filled instanceof Promise) return filled.then(moved);
      moved();
      return filled;
    });
    return this.checked(written as Promise<void>).finally(() => this.snapshotsWriting--);
  }

  /**
   * How long (ms) the oldest journal append not yet settled, and the snapshot write in progress,
   * have waited on the disk; null for none. A disk that hangs (NFS, iSCSI, a device stuck in D
   * state) fails nothing: its writes just never settle, and every message waits on them.
   */
  writesWaiting(): { readonly journal: number | null; readonly snapshot: number | null } {
    const now = this.now();
    const oldest = this.appends.oldestPending();
    return {
      // An append queued while a snapshot's fill goes on waits for that fill, not for the disk.
      journal: oldest === null ? null : now - Math.max(oldest, this.snapshotMoved),
      snapshot: this.snapshotsWriting > 0 ? now - Math.max(this.snapshotCalled, this.snapshotMoved) : null,
    };
  }

  /** The writes of one snapshot transaction (writeSnapshot). */
  private snapshotBatch(): SnapshotBatch {
    const db = this.snapshots;
    // Each write the fill makes is progress (writesWaiting): a clock read is ~50 ns, an entry's encoding microseconds.
    const moved = () => {
      this.snapshotMoved = this.now();
    };
    return {
      putMeta: (slot, value) => {
        moved();
        void db.put(metaKey(slot), value);
      },
      put: (slot, ident, store, key, value) => {
        moved();
        void db.put(entryKey(slot, ident, store, key), value);
      },
      remove: (slot, ident, store, key) => {
        moved();
        void db.remove(entryKey(slot, ident, store, key));
      },
      clear: (slot, ident) => {
        moved();
        for (const key of db.getKeys(pluginRange(slot, ident))) db.remove(key);
      },
      clearSome: (slot, ident, limit) => {
        moved();
        let n = 0;
        for (const key of [...db.getKeys({ ...pluginRange(slot, ident), limit })]) {
          db.remove(key);
          n++;
        }
        return n;
      },
      copySome: (from, to, ident, after, limit) => {
        moved();
        const range = pluginRange(from, ident);
        // The start is inclusive: one more is read, and `after` itself (copied last time) left out.
        const read = [...db.getRange({ start: after ?? range.start, end: range.end, limit: limit + 1 })];
        const next = read.filter(({ key }) => after === null || compareKeys(key as Key, after as Key) !== 0);
        let last: SlotCut | null = after;
        let n = 0;
        for (const { key, value } of next.slice(0, limit)) {
          const parts = [...(key as unknown as unknown[])];
          parts[0] = to;
          void db.put(parts as unknown as SnapshotKey, value);
          last = key;
          n++;
        }
        return { n, last };
      },
    };
  }

  /**
   * Removes up to `limit` entries of a slot in one transaction; the number removed. For a slot
   * at or past --snapshot-generations (the count was lowered), emptied in bounded steps.
   */
  async clearSlotSome(slot: number, limit: number): Promise<number> {
    const db = this.snapshots;
    let n = 0;
    await this.checked(
      this.root.transaction(() => {
        for (const key of [...db.getKeys({ ...slotEntries(slot), limit })]) {
          db.remove(key);
          n++;
        }
      }) as Promise<unknown>,
    );
    return n;
  }

  /** Removes a slot's meta record: it is no longer a generation (its entries go first: clearSlotSome). */
  dropSlotMeta(slot: number): Promise<boolean> {
    return this.checked(this.snapshots.remove(metaKey(slot)));
  }

  /**
   * writeSnapshot, with journal records moved to later seqs in the same transaction (all of it
   * lands, or none): `snapshot import` puts the data dir's own messages that the imported state
   * lacks after its journalSeq, so the next start replays them on top. Each record keeps its
   * bytes; its id and time index entries follow it. `appends` (the export's journal tail) are
   * written in the same transaction. A throw part-way (a record to move gone, a key LMDB
   * refuses) undoes it all: committed, the moves without their generation made the next start
   * replay the moved messages on top of a generation that held them (600 counted for 400).
   */
  writeSnapshotMovingJournal(
    moves: readonly JournalMove[],
    fill: (batch: SnapshotBatch) => void | Promise<void>,
    appends: readonly JournalAppend[] = [],
    coveredThrough?: number,
  ): Promise<void> {
    return this.writeSnapshot((batch) => {
      // The state counts messages dated at or before coveredThrough whose ids the journal never
      // held: for backfill that is a trim (trimmedThrough()), in the same transaction. It
      // replaces the mark, lower too: the old mark was about the state this one replaces, and
      // kept, it refused a backfill of what an older import lacks (361 of 510 counted). The
      // older generations keep theirs (SnapshotMeta.coveredThrough) for a fall back.
      if (coveredThrough !== undefined) this.setTrimmedThrough(coveredThrough);
      this.appendInTransaction(appends);
      for (const m of moves) {
        const value = this.journal.getBinary(m.from);
        if (value === undefined || value === null) throw new Error(`journal record ${m.from} to move is gone`);
        void this.journal.remove(m.from);
        void this.times.remove([m.timestamp, m.from]);
        // Written back as any append is: the record, its id (now pointing at `to`) and its time.
        this.appendInTransaction([{ seq: m.to, id: m.id, timestamp: m.timestamp, value }]);
      }
      return fill(batch);
    });
  }

  /** Raw access for tools and corruption tests: every key/value of a slot, meta first. */
  *slotRaw(slot: number): Generator<{ key: unknown; value: Uint8Array }> {
    const meta = this.readSlotMeta(slot);
    if (meta) yield { key: metaKey(slot), value: meta };
    for (const { key, value } of this.snapshots.getRange(slotEntries(slot))) yield { key, value };
  }

  putRaw(key: unknown, value: Uint8Array): Promise<boolean> {
    return this.checked(this.snapshots.put(key as SnapshotKey, value));
  }

  removeRaw(key: unknown): Promise<boolean> {
    return this.checked(this.snapshots.remove(key as SnapshotKey));
  }

  // ── journal ───────────────────────────────────────────────────────────────────

  /**
   * Appends journal records in one transaction (committed asynchronously, in order with
   * every other write of this environment). Normally a batch: LMDB's writer thread does the
   * puts (the B-tree inserts of three databases per record), where a transaction callback runs
   * them on the main thread while the writer waits for it (12% less main-thread CPU per
   * message at 1 k msg/s). While a paced snapshot holds its transaction open across turns, a
   * batch would run inside it and resolve at once, before anything is committed; a
   * transaction callback then joins the snapshot's transaction and resolves when it commits.
   */
  appendJournal(records: readonly JournalAppend[]): Promise<void> {
    // Settled (append-settlement.ts), then confirmed: lmdb-js may report neither outcome, or the wrong one.
    return this.appends
      .watch(this.checked(this.queued(() => this.appendInTransaction(records))))
      .then(() => this.confirmInFile(records));
  }

  /**
   * An append lmdb-js said committed (or never reported on, and settled by a later write:
   * append-settlement.ts), confirmed from the file. lmdb-js 3.5.6 links each new
   * transaction's outcome to the head of its pending list (queueCommitResolution in write.js),
   * dropping any queued between: with three commits pending at once, the second one's writes
   * take the third one's outcome. Under a refusing disk a commit failed with EIO (lmdb-js logged
   * it) and the single-message appends in it resolved, their records absent (10 of 600 in
   * test/e2e/amqp-bus.test.ts; most runs of test/snapshots/misreported-append.test.ts, none with
   * the link made at the tail): the journal neither held nor wrote them again. A transaction
   * lands whole, but a retry's held records may be in the file from a commit reported failed,
   * so every record is looked up, not just one (a read each, no copy).
   */
  private confirmInFile(records: readonly JournalAppend[]): void {
    const absent = records.find((r) => !this.journal.doesExist(r.seq));
    if (absent === undefined) return;
    this.writeFailed = true;
    throw new WriteFailedError(
      `LMDB did not report the journal write of seqs ${String(records[0]?.seq)}-${String(records.at(-1)?.seq)} as failed, but seq ${String(absent.seq)} is not in the file`,
    );
  }

  /** Journal appends whose outcome LMDB never reported, settled by a later write and read from the file. */
  get appendOutcomesRecovered(): number {
    return this.appends.recovered;
  }

  /** `write`'s puts as one queued write, in order with every other: see appendJournal. */
  private queued(write: () => void): Promise<unknown> {
    return this.snapshotsWriting > 0 ? this.root.transaction(write) : this.root.batch(write);
  }

  private appendInTransaction(records: readonly JournalAppend[]): void {
    for (const r of records) {
      void this.journal.put(r.seq, r.value);
      void this.ids.put(r.id, r.seq);
      void this.times.put([r.timestamp, r.seq], EMPTY);
    }
  }

  lastSeq(): number {
    for (const key of this.journal.getKeys({ reverse: true, limit: 1 })) return key;
    return 0;
  }

  firstSeq(): number {
    for (const key of this.journal.getKeys({ limit: 1 })) return key;
    return 0;
  }

  /**
   * Committed journal records with seq > after, in order, each passed to `read` as the first
   * `size` bytes of a buffer LMDB reuses for the next record: `read` must not keep it.
   */
  *journalAfter<T>(after: number, read: (seq: number, bytes: Uint8Array, size: number) => T): Generator<T> {
    for (const { key, value } of this.journalShared.getRange({ start: after + 1 }))
      yield read(key, value, this.sharedSize);
  }

  journalRecord(seq: number): Uint8Array | undefined {
    return this.journal.getBinary(seq) ?? undefined;
  }

  /** Bytes of a committed journal record (0 if none), read through the shared buffer: nothing copied out. */
  journalRecordBytes(seq: number): number {
    this.sharedSize = 0;
    return this.journalShared.get(seq) === undefined ? 0 : this.sharedSize;
  }

  seqOfId(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** Up to `limit` ids of the id index after `after` (from the first when undefined), in key order. */
  idsAfter(after: string | undefined, limit: number): string[] {
    const ids: string[] = [];
    const range = after === undefined ? { limit } : { start: after, limit: limit + 1 };
    for (const id of this.ids.getKeys(range)) if (id !== after) ids.push(id);
    return ids.length > limit ? ids.slice(0, limit) : ids;
  }

  /** Entries in the id index. */
  idCount(): number {
    return recordedEntries(this.ids) ?? 0;
  }

  /** The id index's entries with start <= id < end, in key order. */
  *idsBetween(start: string, end: string): Generator<{ readonly id: string; readonly seq: number }> {
    for (const { key, value } of this.ids.getRange({ start, end })) yield { id: key, seq: value };
  }

  /** Seqs of records with start <= timestamp <= end, by timestamp. */
  /**
   * Seqs of the records with start <= timestamp <= end in time order, the first `offset` of them
   * skipped by LMDB's cursor (a page deep in the window: 12 ms natively for 400 k keys, against
   * 148 ms stepping through them here).
   */
  *seqsByTime(start: number, end: number, order: 'asc' | 'desc', offset = 0): Generator<number> {
    const range =
      order === 'asc'
        ? { start: [start, 0] as [number, number], end: [end, Number.MAX_SAFE_INTEGER] as [number, number], offset }
        : {
            start: [end, Number.MAX_SAFE_INTEGER] as [number, number],
            end: [start, 0] as [number, number],
            reverse: true,
            offset,
          };
    for (const key of this.times.getKeys(range)) yield key[1];
  }

  /**
   * The total of records with start <= timestamp <= end and the seqs of the `limit` of them after
   * the first `offset` in `order`, walking the time index natively `step` keys at a time with
   * `pause()` between steps: a window of millions of keys is counted, and a deep page reached,
   * without holding the event loop (LMDB counts ~30 ns a key, so one step of 100 k is ~3 ms).
   * Each step reads on its own, so records written meanwhile may or may not be counted.
   */
  async pageByTime(
    start: number,
    end: number,
    order: 'asc' | 'desc',
    offset: number,
    limit: number,
    pause: () => Promise<void>,
    step = 100_000,
  ): Promise<{ total: number; seqs: number[] }> {
    const asc = order === 'asc';
    const bound: [number, number] = asc ? [end, Number.MAX_SAFE_INTEGER] : [start, 0];
    let from: [number, number] = asc ? [start, 0] : [end, Number.MAX_SAFE_INTEGER];
    let passed = 0;
    let seqs: number[] | null = null;
    for (;;) {
      const range = { start: from, end: bound, reverse: !asc };
      if (seqs === null && offset < passed + step) {
        seqs = [];
        for (const key of this.times.getKeys({ ...range, offset: offset - passed, limit })) seqs.push(key[1]);
      }
      let next: [number, number] | undefined;
      for (const key of this.times.getKeys({ ...range, offset: step, limit: 1 })) next = key;
      if (next === undefined) {
        passed += this.times.getCount(range);
        break;
      }
      passed += step;
      from = next;
      await pause();
    }
    return { total: passed, seqs: seqs ?? [] };
  }

  /** How many records have start <= timestamp <= end (counted by LMDB without decoding them). */
  countByTime(start: number, end: number): number {
    return this.times.getCount({ start: [start, 0], end: [end, Number.MAX_SAFE_INTEGER] });
  }

  /**
   * Deletes journal records with seq <= upTo (their index entries given by `indexOf`), and
   * records in the same transaction the newest message time among them (trimmedThrough()).
   */
  truncate(upTo: number, indexOf: (value: Uint8Array) => { id: string; timestamp: number } | null): Promise<number> {
    return this.checked(
      this.root.transaction(() => {
        let n = 0;
        const before = this.trimmedThrough();
        let through = before;
        for (const { key, value } of this.journal.getRange({ end: upTo + 1 })) {
          const idx = indexOf(value);
          if (idx) {
            if (this.ids.get(idx.id) === key) this.ids.remove(idx.id);
            this.times.remove([idx.timestamp, key]);
            if (idx.timestamp > through) through = idx.timestamp;
          }
          this.journal.remove(key);
          n++;
        }
        if (through > before) void this.trimmed?.put('through', through);
        // The trims alone too: a restore sets the mark to its generation's own and these (markRestored).
        if (through > this.journalTrimsThrough()) void this.trimmed?.put('trims', through);
        return n;
      }) as Promise<number>,
    );
  }

  /**
   * The newest message time among the journal records ever trimmed (-Infinity: none). A message
   * dated at or before it may have been counted while its id is gone from the journal, so
   * de-duplication can no longer tell; after it, every counted message's id is still held.
   */
  trimmedThrough(): number {
    const through = this.trimmed?.get('through');
    return typeof through === 'number' ? through : Number.NEGATIVE_INFINITY;
  }

  /** The newest message time among the journal records trimmed (the trims alone, no import's mark); -Infinity: none recorded. */
  journalTrimsThrough(): number {
    const through = this.trimmed?.get('trims');
    return typeof through === 'number' ? through : Number.NEGATIVE_INFINITY;
  }

  /**
   * Sets trimmedThrough() for a restored generation that records its own mark
   * (SnapshotMeta.coveredThrough, written by `snapshot import`): that mark, or the newest
   * trimmed record's time when later (a trim drops only what every generation holds). Lower
   * than before too: kept, a newer import's mark refused a backfill of what this older state
   * lacks (361 of 510 counted).
   */
  markRestored(coveredThrough: number): Promise<void> {
    const through = Math.max(coveredThrough, this.journalTrimsThrough());
    if (through === this.trimmedThrough()) return Promise.resolve();
    return this.checked(this.root.transaction(() => this.setTrimmedThrough(through)) as Promise<unknown>).then(
      () => undefined,
    );
  }

  private setTrimmedThrough(through: number): void {
    if (through === Number.NEGATIVE_INFINITY) void this.trimmed?.remove('through');
    else void this.trimmed?.put('through', through);
  }

  /** Approximate bytes used by the journal's databases. */
  journalBytes(): number {
    return [this.journal, this.ids, this.times].reduce((sum, db) => sum + pagesBytes(db.getStats()), 0);
  }

  snapshotBytes(): number {
    return pagesBytes(this.snapshots.getStats());
  }

  // ── file check and salvage (run in a child process: a damaged page kills by signal) ──

  /**
   * Touches every page of every database once (a damaged one faults here), reading each
   * snapshot entry and journal record; counts per database. `skipEntriesOf` leaves one slot's
   * entries out (another reader walks them).
   */
  walk(options: { skipEntriesOf?: number } = {}): Record<string, number> {
    const counts: Record<string, number> = { names: 0 };
    for (const _ of this.root.getKeys()) counts['names'] = (counts['names'] ?? 0) + 1;
    const skip = options.skipEntriesOf === undefined ? null : slotEntries(options.skipEntriesOf);
    // The shared-buffer handles: each value is still read in full (a damaged page faults
    // here, in the checker), into LMDB's one reused buffer instead of a copy of its own.
    const walks = [
      ['snapshot', this.snapshotsShared, skip ? [{ end: skip.start }, { start: skip.end }] : [{}]],
      ['journal', this.journalShared, [{}]],
    ] as unknown as [string, Database<unknown, Key>, RangeOptions[]][];
    for (const [name, db, ranges] of walks) {
      let n = 0;
      for (const range of ranges) for (const { value } of db.getRange(range)) if (value !== undefined) n++;
      counts[name] = n;
      if (skip === null || name !== 'snapshot') walkedAll(name, n, db);
      // The skipped slot is streamed by other children: the parent adds theirs and compares.
      else counts['snapshot-recorded'] = recordedEntries(db) ?? n;
    }
    // The indexes' values (a seq, nothing) sit in their leaf pages, never on overflow pages of
    // their own: LMDB's native count steps through every leaf and branch page, so it touches
    // every page a read of each record would, without handing each record to JS.
    counts['journal-ids'] = walkedAll('journal-ids', this.ids.getKeysCount({}), this.ids);
    counts['journal-time'] = walkedAll('journal-time', this.times.getKeysCount({}), this.times);
    return counts;
  }

  /** Raw records of one slot (snapshot) or of the journal from a seq on, in key order. */
  *salvageRange(what: { slot: number } | { journalAfter: number }): Generator<{ key: unknown; value: Uint8Array }> {
    if ('slot' in what) {
      for (const { key, value } of this.snapshots.getRange({
        start: [what.slot] as unknown as SnapshotKey,
        end: [what.slot + 1] as unknown as SnapshotKey,
      }))
        yield { key, value };
    } else {
      for (const { key, value } of this.journal.getRange({ start: what.journalAfter + 1 })) yield { key, value };
    }
  }

  /** Writes salvaged records synchronously (committed before returning, so a later crash keeps them). */
  putSalvaged(into: 'snapshot' | 'journal', records: readonly { key: unknown; value: Uint8Array }[]): void {
    const db = (into === 'snapshot' ? this.snapshots : this.journal) as unknown as Database<Uint8Array, Key>;
    this.root.transactionSync(() => {
      for (const r of records) db.putSync(r.key as Key, r.value);
    });
  }

  /** Rebuilds the id and time indexes from the journal records (after a salvage copied only those). */
  reindexJournal(indexOf: (value: Uint8Array) => { id: string; timestamp: number } | null): Promise<number> {
    return this.checked(
      this.root.transaction(() => {
        let n = 0;
        for (const { key, value } of this.journal.getRange({})) {
          const idx = indexOf(value);
          if (!idx) continue;
          void this.ids.put(idx.id, key);
          void this.times.put([idx.timestamp, key], EMPTY);
          n++;
        }
        return n;
      }) as Promise<number>,
    );
  }

  get flushed(): Promise<boolean> {
    return this.root.flushed;
  }

  async close(): Promise<void> {
    this.appends.stop();
    if (this.writeFailed) {
      // After a failed commit lmdb-js settles neither `flushed` nor close() (both still pending
      // 2 s later, measured): nothing more can reach the disk, and waiting would hang the stop.
      void this.root.close().catch(() => undefined);
      return;
    }
    await this.root.flushed;
    await this.root.close();
  }

  /** `write`, rejecting with a WriteFailedError that names LMDB's cause when its commit fails. */
  private checked<T>(write: Promise<T>): Promise<T> {
    return write.then(
      (value) => {
        this.writeFailed = false;
        return value;
      },
      async (err: unknown) => {
        this.writeFailed = true;
        throw await writeFailure(err);
      },
    );
  }
}

function pagesBytes(stats: unknown): number {
  const s = stats as {
    treeBranchPageCount?: number;
    treeLeafPageCount?: number;
    overflowPages?: number;
    pageSize?: number;
  };
  return ((s.treeBranchPageCount ?? 0) + (s.treeLeafPageCount ?? 0) + (s.overflowPages ?? 0)) * (s.pageSize ?? 4096);
}

/** One entry of a slot into its plugin's count: value bytes plus the UTF-8 bytes of its key's parts. */
function tallyEntry(out: Record<string, { entries: number; bytes: number }>, key: Key, value: Uint8Array): void {
  const [, , ident, store] = key as [number, 'e', string, string, string];
  const k = entryKeyOf(key as unknown[]);
  const s = (out[ident] ??= { entries: 0, bytes: 0 });
  s.entries++;
  s.bytes += value.byteLength + Buffer.byteLength(ident) + Buffer.byteLength(store) + Buffer.byteLength(String(k));
}
