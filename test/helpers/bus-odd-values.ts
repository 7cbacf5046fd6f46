/**
 * The odd values the bus fuzz (bus-mutations.ts) puts into real envelopes: numbers JSON can
 * spell but a double cannot hold (1e400 parses to Infinity, -0, 2^53+1), timestamps in every
 * unit and type, strings with NUL, lone surrogates, RTL marks and paths, topics with odd
 * segments, prototype-named keys, nesting and width near the bounds. All drawn from a seeded
 * generator, so a seed gives the same values every run.
 */
import { mulberry32 } from './seeded-random.js';

/** A number as literal JSON text (what JSON.stringify cannot write: -0, 1e400). */
export class Lit {
  constructor(readonly text: string) {}
}

export type Tree = unknown;

export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'length',
  'valueOf',
  'toJSON',
];

/** A seeded generator (mulberry32) with the draws the fuzz makes. */
export function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
export type Rng = ReturnType<typeof rng>;

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

export function setMember(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, writable: true, enumerable: true, configurable: true });
}

export const NUMBERS = [
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

export function text(r: Rng, maxLong: number): string {
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

export function anyValue(r: Rng, maxLong: number): Tree {
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

export function timestamp(r: Rng, now: number): Tree {
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

export function topic(r: Rng, base: string): Tree {
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

export function nested(r: Rng, levels: number, leaf: Tree): Tree {
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

export function wide(r: Rng): Tree {
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
