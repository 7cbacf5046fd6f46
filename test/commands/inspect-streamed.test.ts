/**
 * `snapshot inspect` printed a generation as one string: past V8's longest string (~512 MiB of
 * UTF-16 units), JSON.stringify threw an uncoded RangeError "Invalid string length", so a
 * generation of many keys could not be inspected at all, and the error named neither it nor a way
 * out. Now the JSON is written in pieces (src/commands/json-stream.ts), text unchanged, each piece
 * bounded; one value whose JSON alone is over the bound is a CommandError naming it. The bounds
 * are the code's own parameters here (a 512 MiB generation is not made for a test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError } from '../../src/commands/common.js';
import { writeJson } from '../../src/commands/json-stream.js';
import { runSnapshotInspect } from '../../src/commands/snapshot-inspect.js';
import { loadConfig } from '../../src/config.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

describe('writeJson', () => {
  const values: unknown[] = [
    { a: 1, b: [], c: {}, d: [1, [2, { e: 'f\ng' }], undefined, () => 1], u: undefined, s: Symbol('x') },
    { 10: 'ten', 2: 'two', z: { toJSON: (key: string) => `as ${key}` }, nested: { deep: { deeper: [{ x: null }] } } },
    [{ é: '\u2028"quoted"' }, [], [[[]]], null, true, 1.5e300, -0],
    'a string',
    7,
    null,
  ];

  it('writes the text JSON.stringify(value, null, 2) makes, at every depth, in bounded pieces', () => {
    for (const value of values)
      for (const depth of [0, 1, 2, 3, 8])
        for (const flushChars of [1, 16, 1 << 20]) {
          const pieces: string[] = [];
          writeJson(value, (t) => pieces.push(t), depth, { flushChars });
          expect(pieces.join('')).toBe(JSON.stringify(value, null, 2));
        }
  });
});

describe('snapshot inspect of a generation', () => {
  const data = tempDir();
  afterAll(() => data.remove());
  const config = loadConfig({
    env: {},
    flags: { dataDir: data.path, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'] },
  });
  // A generation of every built-in plugin, as a service's stop writes it.
  beforeAll(() => dataDirSession(config, recentSamples(Math.floor(Date.now() / 1000) - 5).slice(0, 300)), 60_000);
  const inspect = (limits: { maxChars?: number; flushChars?: number }) => {
    const out: string[] = [];
    const err: string[] = [];
    let code: number | undefined;
    let thrown: unknown;
    try {
      code = runSnapshotInspect(
        'latest',
        { dataDir: data.path },
        { out: (t) => out.push(t), err: (t) => err.push(t) },
        limits,
      );
    } catch (e) {
      thrown = e;
    }
    return { out, err: err.join(''), code, thrown };
  };

  it('is written in pieces of bounded size, the same JSON as one string', () => {
    const { out, code, thrown } = inspect({ flushChars: 4096 });
    expect(thrown).toBeUndefined();
    expect(code).toBe(0);
    const text = out.join('');
    const parsed = JSON.parse(text) as { meta: { generation: number }; plugins: Record<string, unknown> };
    expect(`${JSON.stringify(parsed, null, 2)}\n`).toBe(text);
    expect(Object.keys(parsed.plugins).length).toBeGreaterThan(3);
    // Before: one piece of the whole text (here ~10x the bound).
    expect(text.length).toBeGreaterThan(8 * 4096);
    const longest = Math.max(...out.map((t) => t.length));
    expect(longest).toBeLessThan(2 * 4096);
  });

  it('refuses a value longer than one piece can be with an error naming the generation, the value and what to do', () => {
    const { thrown, out } = inspect({ maxChars: 20, flushChars: 64 });
    expect(thrown).toBeInstanceOf(CommandError);
    expect((thrown as CommandError).exitCode).toBe(1);
    expect((thrown as Error).message).toMatch(
      /^generation 1: (meta|plugins)[.[]\S+ is over 20 characters of JSON, more than one string holds, so it cannot be printed .*`snapshot export` copies the generation whole, and --plugin inspects the other plugins$/,
    );
    // What came before it was written, as the message says.
    expect(out.join('')).toMatch(/^\{\n {2}"slot": /);
  });
});
