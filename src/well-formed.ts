/**
 * Unpaired UTF-16 surrogates, which JSON text can carry ("\ud800") but storage cannot, are
 * replaced with U+FFFD at intake (String.prototype.toWellFormed), before the message id, the
 * journal and any plugin see the message. msgpack (journal records, snapshot values) and LMDB
 * keys write strings as UTF-8, where such a unit has no encoding: a key or value holding one
 * came back as U+FFFD after a restart or a replay (state and digest moved under a replica that
 * restarted), and two snapshot keys differing only there became one key on disk, so the
 * snapshot read back an entry short and was refused as torn. UTF-8 bytes cannot decode to an
 * unpaired surrogate (a decoder substitutes U+FFFD), so only a \u escape makes one.
 *
 * A member named `__proto__` is renamed `__proto_` here too, as msgpackr renames it when it reads
 * a journal record back (it will not build an object with that own member): a meetbot attendee
 * of that name was counted under one name live and under the other after a replay, `/raw`
 * served the renamed body, and a replica backfilling from it derived another id for the same
 * message and counted it twice.
 */

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** An escaped character of `__proto__` (U+005F, U+006F, U+0070, U+0072, U+0074 lie in 0x50–0x7F). */
const PROTO_ESCAPE = /\\u00[5-7][0-9a-fA-F]/;
/** The member name msgpackr reads back for `__proto__`. */
const PROTO = '__proto__';
const PROTO_STORED = '__proto_';

/** Whether JSON text may decode to an unpaired surrogate: false proves it cannot (conservative otherwise). */
export function mayHoldLoneSurrogate(text: string): boolean {
  return text.includes('\\u') && SURROGATE_ESCAPE.test(text);
}

/**
 * Whether JSON text may decode to something wellFormed() changes (an unpaired surrogate, a
 * member named `__proto__`): false proves it cannot, so the walk is skipped.
 */
export function mayNeedWellFormed(text: string): boolean {
  if (text.includes(PROTO)) return true;
  return text.includes('\\u') && (SURROGATE_ESCAPE.test(text) || PROTO_ESCAPE.test(text));
}

/**
 * `value` with every string and object member name well-formed, and `__proto__` members named
 * as msgpack reads them back (`__proto_`). Nothing is modified in place:
 * the same value comes back when nothing needed it, else copies of the containers on the way to
 * each change. Recursive: call it on values whose depth is bounded already (checkShape).
 */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = wellFormed(v);
      if (w !== v && out === null) out = value.slice();
      if (out !== null) out[i] = w;
    }
    return out ?? value;
  }
  const o = value as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const v = o[k];
    const w = wellFormed(v);
    const name = k === PROTO ? PROTO_STORED : k.isWellFormed() ? k : k.toWellFormed();
    if (out === null && (w !== v || name !== k)) {
      out = {};
      // The members before this one are unchanged: copied as they are, in their order.
      for (const p in o) {
        if (p === k) break;
        if (Object.hasOwn(o, p)) member(out, p, o[p]);
      }
    }
    // Two names that differed only in an unpaired surrogate (or `__proto_` and `__proto__`) are one name now: the later wins, as in msgpack.
    if (out !== null) member(out, name, w);
  }
  return out ?? value;
}

/** An own data member, also for a member named `__proto__` (JSON.parse makes those; assignment would set the prototype). */
function member(o: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(o, name, { value, writable: true, enumerable: true, configurable: true });
}
