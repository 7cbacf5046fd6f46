/**
 * Seeded structural mutations of real fedmsg envelopes, as JSON text for a bus frame: fields
 * retyped or removed, prototype-named keys, numbers JSON can spell but a double cannot hold
 * (1e400 parses to Infinity, -0, 2^53+1), odd timestamps, strings and topics, fan-out and
 * nesting near the bounds. The same seed gives the same messages, so a failure that names its
 * seed and message index replays exactly.
 */
import { mulberry32 } from './seeded-random.js';
import type { RawEnvelope } from './fixtures.js';

/** A number as literal JSON text (what JSON.stringify cannot write: -0, 1e400). */
class Lit {
  constructor(readonly text: string) {}
}

export interface Mutated {
  /** The first frame (the topic the publisher sends it under). */
  readonly topic: string;
  /** The second frame. */
  readonly text: string;
  /** The mutations applied, for the failure message. */
  readonly ops: readonly string[];
}

type Tree = unknown;

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'length', 'valueOf'];
/** Field names the meta rules and plugins read people, packages and ids from. */
const PEOPLE = /user|owner|agent|name|package|nick|login|author|committer|submitter|attendees|chairs|id$|^i$/i;

export function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

/** JSON text of a tree, own members only (so an own `__proto__` member is written) and Lit as is. */
export function toJson(v: Tree): string {
  if (v instanceof Lit) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${toJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

function setMember(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, writable: true, enumerable: true, configurable: true });
}

/** Every container in the tree with the member names (or indexes) under it, depth-first. */
function slots(root: Tree): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: Tree, depth: number) => {
    if (depth > 20 || typeof v !== 'object' || v === null || v instanceof Lit) return;
    if (Array.isArray(v))
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x, depth + 1);
      });
    else
      for (const k of Object.keys(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
  };
  walk(root, 0);
  return out;
}

const NUMBERS = [
  () => new Lit('-0'),
  () => 1e308,
  () => new Lit('1e400'),
  () => new Lit('-1e400'),
  () => new Lit('1e-400'),
  () => 2 ** 53 + 1,
  () => -(2 ** 53) - 3,
  () => -1,
  () => -12345,
  () => 0.5,
  () => 3.75,
  () => 0,
];

function text(r: Rng, maxLong: number): string {
  return r.pick([
    () => '',
    () => ' ',
    () => '\u0000',
    () => 'nul\u0000inside',
    () => '\ud800',
    () => 'x\udc00y',
    () => '\u202eevil\u202c',
    () => 'עברית',
    () => '../../etc/passwd',
    () => '..',
    () => 'a.b.c',
    () => '🙂',
    () => '\u2028\u2029',
    () => '\u001f\\',
    () => '__proto__',
    () => 'constructor',
    // Log-uniform lengths: most a few hundred units, now and then near the cap.
    () => 'x'.repeat(Math.ceil(maxLong ** r.next())),
  ])();
}

function anyValue(r: Rng, maxLong: number): Tree {
  switch (r.int(8)) {
    case 0:
      return r.pick(NUMBERS)();
    case 1:
      return text(r, maxLong);
    case 2:
      return r.pick([true, false]);
    case 3:
      return null;
    case 4:
      return [text(r, 20), r.pick(NUMBERS)(), null];
    case 5: {
      const o: Record<string, unknown> = {};
      setMember(o, r.pick(HOSTILE_KEYS), text(r, 20));
      setMember(o, 'name', r.pick(NUMBERS)());
      return o;
    }
    case 6:
      return {};
    default:
      return [];
  }
}

function timestamp(r: Rng, now: number): Tree {
  return r.pick([
    () => 0,
    () => 1,
    () => new Lit('-0'),
    () => -5,
    () => now - 86_400 * 365 * 40,
    () => now + 10 * 86_400,
    () => now * 1000,
    () => (now - 30) * 1000,
    () => (now - 30) * 1e6,
    () => now * 1e9,
    () => now - 0.123456,
    () => String(now - 40),
    () => ` ${now - 40} `,
    () => '0x10',
    () => 'yesterday',
    () => '',
    () => new Lit('1e400'),
    () => 2 ** 53 + 1,
    () => 1e308,
    () => [now],
    () => ({ seconds: now }),
    () => true,
    () => null,
  ])();
}

function topic(r: Rng, base: string): Tree {
  return r.pick([
    () => '',
    () => '.',
    () => '....',
    () => 'org.fedoraproject.prod.',
    () => 'org.fedoraproject.prod..x',
    () => `${base}.`,
    () => 'a'.repeat(255),
    () => 'org.fedoraproject.prod.'.padEnd(256, 'z'),
    () => 'org.fedoraproject.prod.ビルド.状態',
    () => 'org.fedoraproject.prod.buildsys\u0000.x',
    () => 'org.fedoraproject.prod.\ud800.x',
    () => 'org.fedoraproject.prod.__proto__.x',
    () => 'org.fedoraproject.prod.constructor',
    () => 'org.fedoraproject.prod.toString.hasOwnProperty',
    () => '__proto__',
    () => 'org.fedoraproject.prod.\u202ebodhi.x',
    () => 'org.fedoraproject.prod.../..',
    () => 42,
    () => ({ topic: base }),
    () => null,
  ])();
}

function nested(r: Rng, levels: number, leaf: Tree): Tree {
  let v = leaf;
  for (let i = 0; i < levels; i++) {
    if (r.next() < 0.5) v = [v];
    else {
      const o: Record<string, unknown> = {};
      setMember(o, r.pick(['a', 'user', 'owner', 'msg', ...HOSTILE_KEYS]), v);
      v = o;
    }
  }
  return v;
}

function wide(r: Rng): Tree {
  const n = 1000 + r.int(4000);
  switch (r.int(3)) {
    case 0:
      return Array.from({ length: n }, (_, i) => `pkg${i}`);
    case 1:
      return Object.fromEntries(Array.from({ length: n }, (_, i) => [`person${i}`, 1]));
    default:
      return Array.from({ length: n }, (_, i) => (i % 3 === 0 ? { name: `n${i}` } : i % 3 === 1 ? i : null));
  }
}

/**
 * One mutated message from `base` (a fixture envelope, copied): 1-4 mutations, biased to the
 * fields meta and plugins read. `now`: seconds, for timestamps near the clock.
 */
export function mutate(r: Rng, base: RawEnvelope, now: number, maxLong: number): Mutated {
  const env = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  const ops: string[] = [];
  let frameTopic = base.topic;
  const count = 1 + r.int(4);
  for (let n = 0; n < count; n++) {
    const all = slots(env);
    const people = all.filter((s) => typeof s.key === 'string' && PEOPLE.test(s.key));
    const slot = r.pick(people.length > 0 && r.next() < 0.5 ? people : all);
    const put = (value: Tree) => {
      if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
      else setMember(slot.parent, slot.key as string, value);
    };
    const where = String(slot.key);
    switch (r.int(12)) {
      case 0:
        put(anyValue(r, maxLong));
        ops.push(`retype ${where}`);
        break;
      case 1:
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete slot.parent[slot.key as string];
        ops.push(`remove ${where}`);
        break;
      case 2: {
        const containers = [env, ...all.map((s) => s.parent)];
        const c = r.pick(containers);
        const key = r.pick(HOSTILE_KEYS);
        if (Array.isArray(c)) c.push(anyValue(r, 50));
        else setMember(c, key, anyValue(r, 50));
        ops.push(`add ${key}`);
        break;
      }
      case 3:
        put(r.pick(NUMBERS)());
        ops.push(`number ${where}`);
        break;
      case 4:
        put(text(r, maxLong));
        ops.push(`string ${where}`);
        break;
      case 5:
        env['timestamp'] = timestamp(r, now);
        ops.push('timestamp');
        break;
      case 6: {
        const t = topic(r, base.topic);
        env['topic'] = t;
        if (typeof t === 'string' && r.next() < 0.7) frameTopic = t;
        ops.push('topic');
        break;
      }
      case 7:
        put(wide(r));
        ops.push(`wide ${where}`);
        break;
      case 8: {
        // The envelope is depth 1 and msg depth 2: 58-66 more levels straddle the 64 bound.
        env['msg'] = nested(r, 58 + r.int(9), env['msg'] ?? {});
        ops.push('deep msg');
        break;
      }
      case 9:
        env['msg_id'] = r.pick([
          () => undefined,
          () => 12345,
          () => 'x'.repeat(201),
          () => 'id\u0000nul',
          () => '',
          () => ({ id: 1 }),
          () => 'shared-fuzz-id',
        ])();
        ops.push('msg_id');
        break;
      case 10:
        setMember(
          env,
          r.pick(['i', 'seq_id', 'username', 'headers', 'certificate', 'signature', 'crypto']),
          anyValue(r, 50),
        );
        ops.push('envelope field');
        break;
      default:
        env['msg'] = anyValue(r, maxLong);
        ops.push('msg retyped');
    }
  }
  return { topic: frameTopic, text: toJson(env), ops };
}

/**
 * `count` messages from seed: mutated fixture envelopes, and now and then a frame that is not an
 * envelope at all (an array, a bare value, cut-off JSON).
 */
export function mutatedMessages(
  seed: number,
  count: number,
  samples: readonly RawEnvelope[],
  now: number,
  maxLong = 900_000,
  frameCap = 1024 * 1024,
): Mutated[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const base = r.pick(samples);
    if (i % 400 === 200) {
      // Just under or just over the bound on members (--max-message-keys, 100,000 by default).
      const env = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      const over = (i / 400) % 2 >= 1;
      env['msg'] = new Array(over ? 100_001 : 99_000).fill(0);
      return { topic: base.topic, text: toJson(env), ops: [over ? 'over the member bound' : 'near the member bound'] };
    }
    if (r.next() < 0.005) {
      // Just under or just over the frame cap (--max-frame-bytes, topic frame included).
      const env = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      const over = r.next() < 0.5;
      const fill = frameCap - Buffer.byteLength(base.topic) - Buffer.byteLength(toJson({ ...env, pad: '' }));
      env['pad'] = 'p'.repeat(fill + (over ? 1 : 0));
      return { topic: base.topic, text: toJson(env), ops: [over ? 'one byte over the frame cap' : 'at the frame cap'] };
    }
    if (r.next() < 0.03) {
      const text = r.pick([
        () => '[]',
        () => 'null',
        () => '"topic"',
        () => '1e400',
        () => JSON.stringify(base).slice(0, 40),
        () => '{"__proto__":{"topic":"org.fedoraproject.prod.x.y"},"timestamp":1}',
      ])();
      return { topic: base.topic, text, ops: ['not an envelope'] };
    }
    return mutate(r, base, now, maxLong);
  });
}
