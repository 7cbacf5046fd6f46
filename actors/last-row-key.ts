/** The last row key GroupedRows parsed or made, split into timestamp and rest: apart from the groups it indexes, as a cache of one key read per write. */
import { SEP } from './row-key.js';

/** A plugin's get(key) then set(key, row) of one key parse it once; keyFor() fills it without parsing. */
export class LastRowKey {
  /** The last key parsed: a plugin's get(key) then set(key, row) parse it once. */
  protected lastKey: string | null = null;
  protected lastOk = false;
  protected lastTs = 0;
  protected lastHead = 0;
  /** Whether the last key's head is plain digits without a leading zero: then it is String(lastTs). */
  protected lastCanonical = false;
  protected lastRest = '';
  /**
   * Whether lastRest is the row's own string as the write's caller read it (keyFor's `own`), so
   * set() need not read the row's rest column again to keep that string rather than a copy.
   */
  protected lastRestOwn = false;

  /**
   * Whether `key` is the key last parsed or made by keyFor() and reads as `String(lastTs)`
   * U+001F `lastRest` exactly (its head plain digits as String() writes them): the write of it
   * that set() or delete() just made can be logged in those two parts (ChangeLog.recordSplit).
   */
  isLastSplit(key: string): boolean {
    return key === this.lastKey && this.lastOk && this.lastCanonical;
  }

  /** The last key's timestamp and rest (see isLastSplit). */
  get lastSplitTs(): number {
    return this.lastTs;
  }

  get lastSplitRest(): string {
    return this.lastRest;
  }

  /** Whether the last parsed key (`key`) starts with String(ts) and its separator; lastTs === ts already. */
  protected headIs(key: string, ts: number): boolean {
    if (this.lastCanonical) return true;
    const head = String(ts);
    return head.length === this.lastHead && key.startsWith(head);
  }

  /** Splits `key` at its first separator into a number and the rest; false when it has no numeric head. */
  protected parse(key: string): boolean {
    if (key === this.lastKey) return this.lastOk;
    this.lastKey = key;
    const at = key.indexOf(SEP);
    this.lastOk = false;
    if (at <= 0) return false;
    let ts = 0;
    let digits = at < 16;
    // Plain digits (every bucket end) parse without a substring; anything else through Number.
    for (let i = 0; digits && i < at; i++) {
      const d = key.charCodeAt(i) - 48;
      if (d < 0 || d > 9) digits = false;
      else ts = ts * 10 + d;
    }
    // Up to 15 digits without a leading zero are exactly how String() writes that number.
    this.lastCanonical = digits && (at === 1 || key.charCodeAt(0) !== 48);
    if (!digits) ts = Number(key.slice(0, at));
    this.lastTs = ts === 0 ? 0 : ts;
    this.lastHead = at;
    this.lastRest = key.slice(at + 1);
    this.lastRestOwn = false;
    this.lastOk = true;
    return true;
  }
}
