/**
 * When each accepted message waiting for its journal commit was accepted, by journal seq: what
 * the commit-delay metric (statscache_apply_delay_seconds) is measured from. The journal hands
 * every accepted entry on exactly once and in seq order (journal-commit.ts: failed writes too,
 * once held), so a FIFO of (seq, time) pairs answers what a Map keyed by seq did, without
 * hashing, inserting and deleting a key per message on the main thread.
 */
export class AcceptTimes {
  private seqs = new Float64Array(1024);
  private times = new Float64Array(1024);
  /** Index of the oldest pair; `size` pairs follow it, wrapping around. */
  private head = 0;
  private size = 0;

  /** Pairs waiting for their commit. */
  get waiting(): number {
    return this.size;
  }

  /** Records that `seq` (higher than any pushed before) was accepted at `at`. */
  push(seq: number, at: number): void {
    if (this.size === this.seqs.length) this.grow();
    const i = (this.head + this.size) & (this.seqs.length - 1);
    this.seqs[i] = seq;
    this.times[i] = at;
    this.size++;
  }

  /**
   * When `seq` was accepted, or undefined when it was not pushed (a replayed entry). Pairs of
   * lower seqs are dropped on the way: entries are handed on in seq order, so theirs has passed.
   */
  take(seq: number): number | undefined {
    const mask = this.seqs.length - 1;
    while (this.size > 0) {
      const s = this.seqs[this.head] as number;
      if (s > seq) return undefined;
      const at = this.times[this.head] as number;
      this.head = (this.head + 1) & mask;
      this.size--;
      if (s === seq) return at;
    }
    return undefined;
  }

  private grow(): void {
    const n = this.seqs.length;
    const seqs = new Float64Array(2 * n);
    const times = new Float64Array(2 * n);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & (n - 1);
      seqs[k] = this.seqs[i] as number;
      times[k] = this.times[i] as number;
    }
    this.seqs = seqs;
    this.times = times;
    this.head = 0;
  }
}
