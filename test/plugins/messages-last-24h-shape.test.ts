/**
 * The messages-last-24h view stamps its rows with the newest message time, a fraction. Built as
 * a `{ timestamp, … }` literal of three members, such a row made V8 box `timestamp` as a double
 * in every three-member object whose first member it is, the bucketed plugins' rows included
 * (plugins/messages-last-24h.ts, viewRow). Its JSON must stay the literal's.
 */
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { harness, lines, rowsOf } from './harness.js';

// Whether V8 holds a number unboxed (a small integer): visible only through its own intrinsic.
setFlagsFromString('--allow-natives-syntax');
const isSmi = new Function('v', 'return %IsSmi(v)') as (v: unknown) => boolean;

const T = 1_700_000_100.25;
const at = (line: number, t: number): RawEnvelope => ({ ...lines(line)[0]!, timestamp: t });

describe('messages-last-24h view rows', () => {
  it("leave the bucketed plugins' row timestamps unboxed, and serialize as before", () => {
    const h = harness(builtinPlugins());
    const last24h = h.rt('messages-last-24h');
    const byTopic = h.rt('volume-by-topic-1m');
    h.feed([at(74, T), at(86, T + 30)]);
    const view = rowsOf(last24h);
    // As text: an object literal here would box `timestamp` itself.
    expect(JSON.stringify(view)).toBe(
      '[{"timestamp":1700000130.25,"category":"bodhi","volume":1},{"timestamp":1700000130.25,"category":"buildsys","volume":1}]',
    );
    h.feed([at(211, T + 90), at(87, T + 150)]);
    const stamps = [...byTopic.inspect().rows.values()].map((r) => (r as unknown as { timestamp: number }).timestamp);
    expect(stamps.length).toBeGreaterThan(2);
    expect(new Set(stamps)).toEqual(new Set([1_700_000_160, 1_700_000_220, 1_700_000_280]));
    expect(stamps.filter((s) => !isSmi(s))).toEqual([]);
    h.stop();
  });
});
