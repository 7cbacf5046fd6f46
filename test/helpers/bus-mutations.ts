/**
 * Seeded structural mutations of real fedmsg envelopes, as JSON text for a bus frame: fields
 * retyped or removed, prototype-named keys, numbers JSON can spell but a double cannot hold
 * (1e400 parses to Infinity, -0, 2^53+1), odd timestamps, strings and topics, fan-out and
 * nesting near the bounds. The same seed gives the same messages, so a failure that names its
 * seed and message index replays exactly.
 */
import {
  anyValue,
  HOSTILE_KEYS,
  Lit,
  NUMBERS,
  nested,
  type Rng,
  rng,
  setMember,
  text,
  timestamp,
  toJson,
  type Tree,
  topic,
  wide,
} from './bus-odd-values.js';
import type { RawEnvelope } from './fixtures.js';

export { rng } from './bus-odd-values.js';

export interface Mutated {
  /** The first frame (the topic the publisher sends it under). */
  readonly topic: string;
  /** The second frame. */
  readonly text: string;
  /** The mutations applied, for the failure message. */
  readonly ops: readonly string[];
}

/** Field names the meta rules and plugins read people, packages and ids from. */
const PEOPLE = /user|owner|agent|name|package|nick|login|author|committer|submitter|attendees|chairs|id$|^i$/i;

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
