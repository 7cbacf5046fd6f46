import { describe, expect, it } from 'vitest';
import { encodeChecked, encodeCheckedAt } from '../../snapshots/codec.js';
import { prepareFrameParts, prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { decodeHead, unpackPrepared } from '../../src/prepared-head.js';
import { PairBatch } from '../../src/transfer-buffer.js';
import { recentSamples } from '../helpers/fixtures.js';
import { sortedDeep } from '../helpers/sorted-deep.js';

/**
 * The bus thread writes each record and head straight into its batch (PairBatch.addMessage); the
 * main thread must read back the bytes prepareFrames makes of the same frames, whichever way
 * each got there: packed in place, packed elsewhere and copied in (too little room, a value
 * past the buffer), moved back after a msgpack head, or a batch copied out or sent as it is.
 */
const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));

function wires(): Uint8Array[][] {
  const samples = recentSamples(Math.floor(Date.now() / 1000));
  const out = samples.flatMap((e) => [
    [Buffer.from(e.topic), Buffer.from(JSON.stringify(sortedDeep(e)))],
    [Buffer.from(e.topic), Buffer.from(JSON.stringify(e))],
  ]);
  const first = samples[0] as (typeof samples)[number];
  // A head JSON cannot carry (an overflowing number parses to Infinity): it goes as msgpack.
  const overflow = JSON.stringify({ ...first, headers: { size: 1 } }).replace('"size":1', '"size":1e999');
  // A record larger than the batch's first buffer (64 KiB): msgpackr packs it into a buffer of its own.
  const big = JSON.stringify({ ...first, msg: { text: 'x'.repeat(200_000) } });
  for (const body of [overflow, big, overflow, overflow, big])
    out.splice((7 * out.length) >> 3, 0, [Buffer.from(first.topic), Buffer.from(body)]);
  return out;
}

/** Every message of `frames` through addMessage, taken every `per` messages; checked against prepareFrames. */
function roundTrip(frames: Uint8Array[][], per: number): { batches: number; oversized: number } {
  const pairs = new PairBatch();
  let sent: { end: number; headEnd: number; record: Uint8Array; head: Uint8Array }[] = [];
  let batches = 0;
  let oversized = 0;
  const check = () => {
    const buffer = pairs.take();
    batches++;
    const last = sent.at(-1)?.headEnd ?? 0;
    expect(buffer.byteLength).toBeGreaterThanOrEqual(last);
    // At most an eighth of a batch's buffer and 4 KiB go unused.
    expect(buffer.byteLength - last).toBeLessThanOrEqual((buffer.byteLength >>> 3) + 4096);
    if (buffer.byteLength > last) oversized++;
    let start = 0;
    for (const s of sent) {
      const got = unpackPrepared(buffer, start, s.end, s.headEnd);
      expect(Buffer.from(got.record).equals(Buffer.from(s.record))).toBe(true);
      expect(s.headEnd - s.end).toBeGreaterThanOrEqual(s.head.byteLength);
      const headBytes = new Uint8Array(buffer, s.end, s.headEnd - s.end);
      expect(decodeHead(headBytes)).toEqual(decodeHead(s.head));
      // Nothing but the padding JSON.parse reads past follows the head's own bytes.
      expect(Buffer.from(headBytes.subarray(0, s.head.byteLength)).equals(Buffer.from(s.head))).toBe(true);
      expect([...headBytes.subarray(s.head.byteLength)].every((b) => b === 0x20)).toBe(true);
      start = s.headEnd;
    }
    sent = [];
  };
  for (const f of frames) {
    const p = prepareFrameParts(f, limits);
    const bytes = prepareFrames(f, limits);
    if (p.kind !== 'ready' || bytes.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
    const end = pairs.addMessage(p.id, p.envelope, p.head);
    sent.push({ end, headEnd: pairs.size, record: bytes.record, head: bytes.head });
    if (sent.length === per) check();
  }
  if (sent.length > 0) check();
  return { batches, oversized };
}

describe('a batch written in place', () => {
  it("holds prepareFrames' records and heads, in flood-sized batches and one message at a time", () => {
    const frames = wires();
    expect(frames.length).toBe(1025);
    const flood = roundTrip(frames, 512);
    expect(flood.batches).toBe(3);
    const trickle = roundTrip(frames.slice(0, 40), 1);
    expect(trickle.batches).toBe(40);
    // A buffer with room to spare goes only in a batch of many; one message at a time is copied out.
    expect(trickle.oversized).toBe(0);
  });

  it('sends a full buffer as it is, and its next one sized from it', () => {
    const some = wires().slice(0, 100);
    // The second and third batches land in buffers sized from the one before: the same size.
    expect(roundTrip([...some, ...some, ...some], 100)).toEqual({ batches: 3, oversized: 2 });
  });
});

describe('encodeCheckedAt', () => {
  it("writes encodeChecked's bytes where there is room, and says where they went when there is not", () => {
    const value = { id: 'a#1', envelope: { topic: 't', timestamp: 1.5, msg: { s: 'é'.repeat(100), n: [1, -2, 3e9] } } };
    const want = Buffer.from(encodeChecked(value));
    const target = Buffer.alloc(8192);
    const placed = encodeCheckedAt(value, target, 16);
    expect(placed.buffer).toBe(target.buffer);
    expect(placed.byteOffset).toBe(16);
    expect(placed.equals(want)).toBe(true);
    // Under 2 KiB of room: msgpackr packs into a buffer of its own.
    const elsewhere = encodeCheckedAt(value, target, 7000);
    expect(elsewhere.buffer).not.toBe(target.buffer);
    expect(elsewhere.equals(want)).toBe(true);
    // Not a multiple of 8: placed on the next one.
    expect(encodeCheckedAt(value, target, 20).byteOffset).toBe(24);
    // A later encode does not write into `target`.
    const before = Buffer.from(target);
    encodeChecked({ other: 'x'.repeat(500) });
    expect(target.equals(before)).toBe(true);
  });
});
