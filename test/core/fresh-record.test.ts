import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import '../../src/msgpack-strings.js';
import { decodeUnchecked, encodeChecked } from '../../snapshots/codec.js';
import { decodeFreshRecord, encodeJournalRecord } from '../../snapshots/journal-record.js';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { recentSamples } from '../helpers/fixtures.js';

/**
 * The main thread reads a bus-thread record's body with the reader replay uses (msgpack-read.ts),
 * msgpackr only for what that leaves: every value must come out as msgpackr (the decoder before)
 * gives it, key order included, since plugins see it as the message's `msg`.
 */
const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));

function sameAsMsgpackr(record: Uint8Array): void {
  const mine = decodeFreshRecord(record);
  const before = decodeUnchecked(record);
  expect(isDeepStrictEqual(mine, before)).toBe(true);
  expect(JSON.stringify(mine)).toBe(JSON.stringify(before));
}

describe('reading a record the bus thread made', () => {
  it('gives every fixture what msgpackr gave, signed ones and compact sorted JSON alike', () => {
    const now = Math.floor(Date.now() / 1000);
    let read = 0;
    for (const e of recentSamples(now)) {
      for (const text of [JSON.stringify(e), JSON.stringify(e, Object.keys(e).sort())]) {
        const prepared = prepareFrames([Buffer.from(e.topic), Buffer.from(text)], limits);
        if (prepared.kind !== 'ready') throw new Error(`expected a ready message, got ${prepared.kind}`);
        // Inside a larger buffer, as a batch holds it.
        const batch = Buffer.concat([Buffer.from([0xc1, 0xc1]), prepared.record, Buffer.from([0xc1])]);
        sameAsMsgpackr(new Uint8Array(batch.buffer, batch.byteOffset + 2, prepared.record.byteLength));
        read++;
      }
    }
    expect(read).toBe(2 * recentSamples(now).length);
  });

  it('leaves to msgpackr what the plain reader does not read exactly, with the same values', () => {
    const envelope = {
      topic: 'org.fedoraproject.prod.bodhi.update.comment',
      timestamp: 1.5,
      msg_id: 'x',
      // Beyond 32 bits, a -0 (stored as 0), a fraction and a non-ASCII string, beside a bin value below.
      msg: { big: 2 ** 53 - 1, neg: -(2 ** 40), zero: -0, half: 0.5, text: 'Grüße 🎉', list: [null, true, { a: 1 }] },
    };
    const record = encodeJournalRecord('x#0123456789abcdef', envelope as never);
    sameAsMsgpackr(record);
    expect(decodeFreshRecord(record).envelope.msg).toStrictEqual({ ...envelope.msg, zero: 0 });
    // A bin value: never in a record the bus thread makes, still read as before.
    sameAsMsgpackr(encodeChecked({ id: 'y', envelope: { ...envelope, msg: { raw: new Uint8Array([1, 2, 3]) } } }));
  });
});
