import { describe, expect, it } from 'vitest';
import { type ChangeCursor, ChangeLog } from '../../actors/change-log.js';
import { mulberry32 } from '../helpers/seeded-random.js';

const SEP = '\u001f';

/**
 * The log as it was kept before chunks (one array of entries, dropped from the front), with the
 * same trimming rule, and nothing kept while no reader can read it (no reader's cursor in the
 * log, no pin): what the chunked log must answer at every step.
 */
class ModelLog {
  base = 0;
  entries: [number, string][] = [];
  resetAt = 0;
  readers = new Set<{ position: number }>();
  pinnedAt = Number.POSITIVE_INFINITY;
  constructor(readonly capacity: () => number) {}
  get position(): number {
    return this.base + this.entries.length;
  }
  /** Some reader's cursor is in the log, or a pin holds it. */
  readable(): boolean {
    if (this.pinnedAt !== Number.POSITIVE_INFINITY) return true;
    for (const r of this.readers) if (this.covers(r.position)) return true;
    return false;
  }
  /** After a reader went, a pin, a reset or a trim past readers: nothing kept if no one can read it. */
  settle(): void {
    if (!this.readable()) this.drop(this.entries.length);
  }
  add(container: number, key: string): void {
    if (!this.readable()) {
      this.base++;
      return;
    }
    this.entries.push([container, key]);
    const n = this.entries.length;
    if (n >= 16_384 && (n & 0xfff) === 0) this.trim();
  }
  covers(from: number): boolean {
    return from >= this.base && from >= this.resetAt && from <= this.position;
  }
  trim(): void {
    let min = this.position;
    for (const r of this.readers) if (r.position < min) min = r.position;
    let drop = Math.max(0, min - this.base);
    const capacity = Math.max(16_384, this.capacity());
    const over = this.entries.length - drop - capacity;
    if (over > 0) drop += over + (capacity >>> 1);
    drop = Math.min(drop, this.pinnedAt - this.base);
    if (drop > 0 && (drop >= this.entries.length / 2 || over > 0)) this.drop(drop);
    if (over > 0) this.settle();
  }
  drop(n: number): void {
    if (n <= 0) return;
    this.entries.splice(0, n);
    this.base += n;
  }
}

describe('ChangeLog', () => {
  it('answers as one array of entries would, across chunk edges, trims, pins, resets and readers', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = mulberry32(seed);
      let size = 1000;
      const log = new ChangeLog(() => size);
      const model = new ModelLog(() => size);
      const cursors: [ChangeCursor, { position: number }][] = [];
      const check = () => {
        expect(log.position).toBe(model.position);
        expect(log.length).toBe(model.entries.length);
        for (const from of [model.base - 1, model.base, model.resetAt, model.position, model.position - 1]) {
          expect(log.covers(from)).toBe(model.covers(from));
        }
        const seen: string[] = [];
        // From a random position the log covers (the whole log would be read at every step).
        const from = Math.max(model.base, model.resetAt, model.position - Math.floor(rnd() * 5_000));
        expect(log.forEach(from, model.position, (c, k) => seen.push(`${c}:${k}`))).toBe(model.covers(from));
        if (model.covers(from)) {
          expect(seen).toEqual(model.entries.slice(from - model.base).map(([c, k]) => `${c}:${k}`));
        }
        for (let t = 0; t < 5; t++) {
          const p = model.base - 2 + Math.floor(rnd() * (model.entries.length + 4));
          const inLog = p >= model.base && p < model.position;
          expect(log.containerAt(p)).toBe(inLog ? model.entries[p - model.base]?.[0] : undefined);
          expect(log.keyAt(p)).toBe(inLog ? model.entries[p - model.base]?.[1] : undefined);
        }
      };
      for (let step = 0; step < 150; step++) {
        const r = rnd();
        if (r < 0.75) {
          // A run of writes, of the three kinds, sometimes long enough to trim and cross several chunks.
          const n = Math.floor(rnd() * (rnd() < 0.15 ? 30_000 : 3_000));
          for (let i = 0; i < n; i++) {
            const c = Math.floor(rnd() * 3);
            const kind = rnd();
            const ts = 1_700_000_000 + Math.floor(rnd() * 100) + (rnd() < 0.1 ? 0.5 : 0);
            if (kind < 0.4) {
              const rest = `u${Math.floor(rnd() * 50)}`;
              log.recordSplit(c, ts, rest);
              model.add(c, String(ts) + SEP + rest);
            } else if (kind < 0.6) {
              log.recordNumber(c, ts);
              model.add(c, String(ts));
            } else {
              const key = `k${Math.floor(rnd() * 500)}`;
              log.record(c, key);
              model.add(c, key);
            }
          }
        } else if (r < 0.82) {
          cursors.push([log.open(), { position: model.position }]);
          model.readers.add((cursors[cursors.length - 1] as [ChangeCursor, { position: number }])[1]);
        } else if (r < 0.9 && cursors.length > 0) {
          const [cursor, m] = cursors[Math.floor(rnd() * cursors.length)] as [ChangeCursor, { position: number }];
          const to = m.position + Math.floor(rnd() * (model.position - m.position + 1));
          log.advance(cursor, to);
          m.position = to;
          if (model.entries.length >= 1024) model.trim();
        } else if (r < 0.94 && cursors.length > 0) {
          const i = Math.floor(rnd() * cursors.length);
          const [cursor, m] = cursors[i] as [ChangeCursor, { position: number }];
          cursors.splice(i, 1);
          log.close(cursor);
          model.readers.delete(m);
          model.trim();
          model.settle();
        } else if (r < 0.97) {
          if (model.pinnedAt === Number.POSITIVE_INFINITY) {
            const at = model.base + Math.floor(rnd() * (model.entries.length + 1));
            log.pin(at);
            model.pinnedAt = at;
          } else {
            log.unpin();
            model.pinnedAt = Number.POSITIVE_INFINITY;
            model.settle();
          }
        } else if (r < 0.985) {
          log.reset();
          model.drop(model.entries.length);
          model.base++;
          model.resetAt = model.base;
          model.settle();
        } else {
          size = Math.floor(rnd() * 60_000);
        }
        check();
      }
    }
  });

  it('gives back the keys of a log emptied at a chunk edge and filled again', () => {
    const log = new ChangeLog(() => 0);
    const cursor = log.open();
    for (let i = 0; i < 2048; i++) log.record(0, `a${i}`);
    // The reader passed every entry: they go, the first chunk whole.
    log.advance(cursor, log.position);
    expect(log.length).toBe(0);
    for (let i = 0; i < 16_384 - 2048; i++) log.record(1, `b${i}`);
    expect(log.length).toBe(16_384 - 2048);
    expect(log.keyAt(2048)).toBe('b0');
    expect(log.keyAt(2047)).toBeUndefined();
    log.advance(cursor, log.position);
    log.reset();
    expect(log.length).toBe(0);
    // The reset left the reader behind; a new one reads on.
    log.open();
    log.recordSplit(2, 10, 'x');
    log.recordNumber(1, 20);
    const seen: string[] = [];
    expect(log.forEach(log.position - 2, log.position, (c, k) => seen.push(`${c}:${k}`))).toBe(true);
    expect(seen).toEqual([`2:10${SEP}x`, '1:20']);
  });

  it('keeps nothing while no reader can read it, and what follows once one can', () => {
    const log = new ChangeLog(() => 0);
    for (let i = 0; i < 5000; i++) log.record(0, `a${i}`);
    // No reader: the position moved, nothing is held, and no position before the end is covered.
    expect(log.position).toBe(5000);
    expect(log.length).toBe(0);
    expect(log.covers(0)).toBe(false);
    expect(log.forEach(4999, 5000, () => undefined)).toBe(false);
    const cursor = log.open();
    log.record(1, 'b');
    log.recordSplit(2, 10, 'x');
    log.recordNumber(0, 20);
    const seen: string[] = [];
    expect(log.forEach(cursor.position, log.position, (c, k) => seen.push(`${c}:${k}`))).toBe(true);
    expect(seen).toEqual(['1:b', `2:10${SEP}x`, '0:20']);
    // Its only reader fell off the log (dropped past the capacity): what it held goes, and so does what follows.
    for (let i = 0; i < 40_000; i++) log.record(0, `c${i}`);
    expect(log.covers(cursor.position)).toBe(false);
    expect(log.length).toBe(0);
    // A pin holds the log from where it is, as a snapshot's cut does for a reader it read from.
    const at = log.position;
    log.pin(at);
    log.record(1, 'd');
    expect(log.keyAt(at)).toBe('d');
    log.unpin();
    expect(log.length).toBe(0);
    // Moved back into the log (a snapshot slot after a whole write), a reader makes it keep again.
    log.advance(cursor, log.position);
    log.record(2, 'e');
    expect(log.keyAt(log.position - 1)).toBe('e');
  });
});
