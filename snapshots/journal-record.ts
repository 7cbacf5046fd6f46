/**
 * What a journal record is: the id a message is de-duplicated and looked up by, and the
 * stored form of an accepted message. Apart from the Journal class because the bus thread
 * makes both (bus-prepare.ts) and needs none of the journal's state.
 */
import { hash } from 'node:crypto';
import { type Envelope, usableMsgId } from '../src/envelope.js';
import { CHECKED_BODY_START, decodeUnchecked, encodeChecked, encodeCheckedAt } from './codec.js';
import type { DataStore } from './lmdb-store.js';
import { readPlain } from './msgpack-read.js';
import { stableJson } from './stable-json.js';

const digest = (value: unknown) => hash('sha1', stableJson(value) ?? '', 'hex');

/** Hex digits of the topic-and-payload digest after `<msg_id>#` in an id. */
const ID_DIGEST_HEX = 16;
const ID_DIGEST = /^[0-9a-f]{16}$/;

/**
 * The id a message is de-duplicated by. Real buses reuse a `msg_id` for different messages
 * (the captured samples do), so the id is the `msg_id` plus a digest of the topic and
 * payload: the same message seen twice (live, backfill, replica) matches, two messages
 * sharing a `msg_id` do not. Without a `msg_id` (old messages), a digest of the fields that
 * identify it; datagrepper's additions (`source_name`…) and float noise in the timestamp
 * are left out so an archived copy matches the live one.
 */
export function messageId(envelope: Envelope): string {
  return idOf(envelope, false);
}

/**
 * messageId() of an envelope whose caller proved every object in `msg` (JSON.parse's output)
 * has its keys in sorted order (decodeEnvelope's `keysSorted`): JSON.stringify then writes the
 * digest's text as it is (stable-json.ts), without walking the body a second time to prove it.
 * The same id; a function of its own so that no `map(messageId)` can pass an index for the flag.
 */
export function messageIdOfSorted(envelope: Envelope): string {
  return idOf(envelope, true);
}

function idOf(envelope: Envelope, keysSorted: boolean): string {
  const id = envelope.msg_id;
  if (usableMsgId(id)) {
    // Members in sorted order, as the digest's text has them: then nothing needs sorting (stable-json.ts).
    const parts = { msg: envelope.msg, topic: envelope.topic };
    const text = keysSorted ? JSON.stringify(parts) : stableJson(parts);
    return `${id}#${hash('sha1', text ?? '', 'hex').slice(0, ID_DIGEST_HEX)}`;
  }
  return `sha1:${digest({
    i: envelope.i,
    msg: envelope.msg,
    msg_id: id,
    timestamp: Math.round(envelope.timestamp * 1000) / 1000,
    topic: envelope.topic,
    username: envelope.username,
  })}`;
}

/** The stored form of an accepted message (what the journal appends and replays). */
export function encodeJournalRecord(id: string, envelope: Envelope): Uint8Array {
  return encodeChecked({ id, envelope });
}

/**
 * encodeJournalRecord's bytes packed into `target` at `at` where they fit (encodeCheckedAt): the
 * returned view says where they are.
 */
export function encodeJournalRecordAt(id: string, envelope: Envelope, target: Buffer, at: number): Buffer {
  return encodeCheckedAt({ id, envelope }, target, at);
}

/**
 * A record made by encodeJournalRecord in this process (the bus thread), read back without
 * verifying its checksum: it never left memory. LMDB reads go through decode() below. Read as
 * replay reads records (msgpack-read.ts: the same values, key order included, with far less
 * garbage than msgpackr with its native strings off), msgpackr only for what that leaves.
 */
export function decodeFreshRecord(value: Uint8Array): { id: string; envelope: Envelope } {
  return (readPlain(value, CHECKED_BODY_START, value.byteLength) ?? decodeUnchecked(value)) as {
    id: string;
    envelope: Envelope;
  };
}

/**
 * The lowest seq among the ids `<msgId>#<16 hex digits>`. Other messages' ids can start the
 * same way (a msg_id `<msgId>#0` is indexed as `<msgId>#0#<digest>`, and `#` sorts before every
 * hex digit), so the first key of the range was one of theirs whenever such a message existed,
 * and of two messages reusing a msg_id, the one whose digest sorted first answered.
 */
export function firstSeqOfMsgId(store: DataStore, msgId: string): number | undefined {
  const prefix = `${msgId}#`;
  let first: number | undefined;
  // Keys whose next character is a hex digit ('0' to 'f'); 'g' follows 'f'.
  for (const { id, seq } of store.idsBetween(`${prefix}0`, `${prefix}g`)) {
    if (id.length !== prefix.length + ID_DIGEST_HEX || !ID_DIGEST.test(id.slice(prefix.length))) continue;
    if (first === undefined || seq < first) first = seq;
  }
  return first;
}
