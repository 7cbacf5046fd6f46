/**
 * Journal seqs after a generation's journalSeq whose messages that generation already holds
 * (SnapshotMeta.replaySkip): replay on top of it passes over them. Only `snapshot import` makes
 * them: it moves the data dir's own messages that the export lacks after the generation it
 * writes, and an older generation of the data dir holds some of those already; and it appends
 * the export's tail, whose messages the journal had trimmed are held by every older generation. Should the
 * imported generation be unreadable, restore falls back to the older one, whose replay would
 * otherwise apply them a second time (200 of 400 messages counted twice).
 *
 * Inclusive [first, last] ranges, ascending and disjoint. Moved records get consecutive seqs in
 * the order they had, so the records an older generation holds form one range per import (one
 * more per range it already had): a handful, not one per message.
 */
export type SeqRanges = readonly (readonly [number, number])[];

/** What is wrong with a replaySkip value read from disk for a generation covering `journalSeq`, or null. */
export function seqRangesProblem(value: unknown, journalSeq: number): string | null {
  if (!Array.isArray(value)) return '"replaySkip" is not a list';
  let after = journalSeq;
  for (const range of value as unknown[]) {
    if (!Array.isArray(range) || range.length !== 2) return '"replaySkip" holds something other than [first, last]';
    const [first, last] = range as unknown[];
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) return '"replaySkip" holds a non-integer seq';
    if ((first as number) <= after || (last as number) < (first as number))
      return '"replaySkip" ranges are not ascending, disjoint and after journalSeq';
    after = last as number;
  }
  return null;
}

/** True when `seq` is in one of `ranges` (binary search). */
export function inSeqRanges(ranges: SeqRanges, seq: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = ranges[mid] as readonly [number, number];
    if (seq < first) hi = mid - 1;
    else if (seq > last) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Membership for seqs asked in ascending order (replay): amortised O(1) per seq, nothing
 * allocated, so replay pays one comparison per entry.
 */
export class SeqRangeCursor {
  private at = 0;

  constructor(private readonly ranges: SeqRanges) {}

  has(seq: number): boolean {
    const ranges = this.ranges;
    while (this.at < ranges.length && (ranges[this.at] as readonly [number, number])[1] < seq) this.at++;
    const range = ranges[this.at];
    return range !== undefined && range[0] <= seq;
  }
}

/**
 * A generation's replaySkip once `moves` (journal records moved from seq `from` to seq `to`)
 * are done: the seqs it held stay (a vacated seq is never numbered again: new records go after
 * the journal's end), and each moved record it held (from <= journalSeq, or in `held`) is held
 * at its new seq. `heldAppends` are seqs of records appended after the journal's end that the
 * generation holds already (an imported tail's messages the journal had trimmed).
 */
export function afterMoves(
  journalSeq: number,
  held: SeqRanges,
  moves: readonly { readonly from: number; readonly to: number }[],
  heldAppends: readonly number[] = [],
): SeqRanges {
  const seqs: number[] = [...heldAppends];
  for (const m of moves) if (m.from <= journalSeq || inSeqRanges(held, m.from)) seqs.push(m.to);
  seqs.sort((a, b) => a - b);
  const ranges: [number, number][] = held.map(([first, last]) => [first, last]);
  for (const seq of seqs) {
    const open = ranges.at(-1);
    if (open !== undefined && open[1] + 1 === seq) open[1] = seq;
    else ranges.push([seq, seq]);
  }
  return merged(ranges);
}

/** Ranges sorted and joined where they touch or overlap. */
function merged(ranges: [number, number][]): SeqRanges {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [first, last] of ranges) {
    const open = out.at(-1);
    if (open !== undefined && first <= open[1] + 1) open[1] = Math.max(open[1], last);
    else out.push([first, last]);
  }
  return out;
}
