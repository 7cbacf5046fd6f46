import { describe, expect, it } from 'vitest';
import { afterMoves, inSeqRanges, SeqRangeCursor, seqRangesProblem } from '../../snapshots/replay-skip.js';

describe('replaySkip ranges', () => {
  it('a generation holds the moved records that were at or before its journalSeq, at their new seqs', () => {
    // Journal 1..10, a generation at 6; records 4, 7, 9 moved to 11, 12, 13 (their order kept).
    const moves = [
      { from: 4, to: 11 },
      { from: 7, to: 12 },
      { from: 9, to: 13 },
    ];
    expect(afterMoves(6, [], moves)).toEqual([[11, 11]]);
    expect(afterMoves(10, [], moves)).toEqual([[11, 13]]);
    expect(afterMoves(3, [], moves)).toEqual([]);
  });

  it('a second import keeps what was held and adds the held records it moves again', () => {
    // Held 11..13 after the first import; the second moves 5 (covered) and 12 (held) to 20, 21, and 8 (not held) to 22.
    const moves = [
      { from: 5, to: 20 },
      { from: 8, to: 21 },
      { from: 12, to: 22 },
    ];
    expect(afterMoves(6, [[11, 13]], moves)).toEqual([
      [11, 13],
      [20, 20],
      [22, 22],
    ]);
  });

  it('tail records appended that the generation holds (the journal had trimmed them) join the moved ones', () => {
    // Journal 1..10, a generation at 6; the tail appended at 11..13 (11 and 12 trimmed before), record 4 moved to 14.
    expect(afterMoves(6, [], [{ from: 4, to: 14 }], [11, 12])).toEqual([
      [11, 12],
      [14, 14],
    ]);
    expect(afterMoves(6, [], [{ from: 4, to: 14 }], [11, 12, 13])).toEqual([[11, 14]]);
    expect(afterMoves(3, [], [{ from: 4, to: 14 }], [12])).toEqual([[12, 12]]);
  });

  it('membership: binary search, and a cursor for ascending seqs', () => {
    const ranges = [
      [3, 5],
      [9, 9],
      [20, 30],
    ] as const;
    const cursor = new SeqRangeCursor(ranges);
    const held = Array.from({ length: 35 }, (_, i) => i + 1).filter((seq) => cursor.has(seq));
    expect(held).toEqual([3, 4, 5, 9, ...Array.from({ length: 11 }, (_, i) => 20 + i)]);
    expect(held.every((seq) => inSeqRanges(ranges, seq))).toBe(true);
    expect([1, 2, 6, 8, 10, 19, 31].some((seq) => inSeqRanges(ranges, seq))).toBe(false);
  });

  it('a value read from disk must be ascending, disjoint ranges after journalSeq', () => {
    expect(seqRangesProblem([[11, 13]], 10)).toBeNull();
    expect(seqRangesProblem([], 10)).toBeNull();
    expect(seqRangesProblem('x', 10)).toMatch(/not a list/);
    expect(seqRangesProblem([[10, 13]], 10)).toMatch(/after journalSeq/);
    expect(
      seqRangesProblem(
        [
          [11, 13],
          [13, 14],
        ],
        10,
      ),
    ).toMatch(/disjoint/);
    expect(seqRangesProblem([[12, 11]], 10)).toMatch(/ascending/);
    expect(seqRangesProblem([[11, 1.5]], 10)).toMatch(/non-integer/);
    expect(seqRangesProblem([[11]], 10)).toMatch(/\[first, last\]/);
  });
});
