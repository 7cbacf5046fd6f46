/**
 * The bucketed plugins' rows stamp a whole bucket, a small integer. As object literals they
 * shared V8's hidden classes with every object of as many members whose first is `timestamp`:
 * releng's rows and the envelope fields the main thread parses from the bus thread's heads carry
 * a message's own time, a fraction, and made the stored timestamps boxed doubles
 * (plugins/plain-row.ts). The rows must stay plain objects whose JSON is the literal's.
 */
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { Row } from '../../actors/plugin-api.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { Envelope, Meta } from '../../src/envelope.js';
import { decodeHead, encodeHead, headOf } from '../../src/prepared-head.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { harness, lines, rowsOf } from './harness.js';

// Whether V8 holds a number unboxed (a small integer): visible only through its own intrinsic.
setFlagsFromString('--allow-natives-syntax');
const isSmi = new Function('v', 'return %IsSmi(v)') as (v: unknown) => boolean;

const at = (line: number, t: number): RawEnvelope => ({ ...lines(line)[0]!, timestamp: t });
const META: Meta = { category: 'x', usernames: [], packages: [], agent: null, link: null, subtitle: null };

/** The fields of a head the bus thread hands over, parsed as the main thread parses them. */
function parsedFields(envelope: Record<string, unknown>): Readonly<Record<string, unknown>> {
  return decodeHead(encodeHead(headOf('id', META, envelope as unknown as Envelope))).fields as Readonly<
    Record<string, unknown>
  >;
}

const stored = (rows: Iterable<Row>): number[] => [...rows].map((r) => r.timestamp);
const boxed = (timestamps: readonly number[]): number[] => timestamps.filter((t) => !isSmi(t));

describe('bucketed plugin rows', () => {
  it("keep the calendar's whole-day timestamps unboxed beside releng's rows and parsed envelope fields", () => {
    const h = harness(builtinPlugins());
    const calendar = h.rt('contribution-calendar-1d');
    // 74: ralph and codeblock; 86: ralph (2012-08-07 and 08-08 as stamped here).
    h.feed([at(74, 1_344_344_053.25), at(86, 1_344_430_000)]);
    // 141: a compose event releng keeps, at its own time, a fraction.
    h.feed(lines(141));
    expect(rowsOf(h.rt('release-engineering-event-logs')).map((r) => r.timestamp)).toEqual([1_344_447_839.891876]);
    const fields = { timestamp: 1_344_447_840.5, msg_id: 'm', topic: 't', source_version: '1' };
    expect(parsedFields({ ...fields, msg: {} })).toEqual(fields);
    h.feed([at(74, 1_344_447_900.75), at(211, 1_344_500_000)]);
    expect(h.errors).toEqual([]);

    const rows = [...calendar.inspect().rows.values()];
    const stamps = stored(rows);
    expect(stamps).toEqual([1_344_384_000, 1_344_384_000, 1_344_470_400, 1_344_470_400, 1_344_556_800]);
    expect(boxed(stamps)).toEqual([]);
    // Plain objects, their members in the literal's order.
    for (const row of rows) expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(rows[0]).toStrictEqual({ timestamp: 1_344_384_000, user: 'codeblock', date: '2012-08-07', volume: 1 });
    expect(JSON.stringify(rowsOf(calendar, { user: 'ralph' }))).toBe(
      '[{"timestamp":1344470400,"user":"ralph","date":"2012-08-08","volume":2},' +
        '{"timestamp":1344384000,"user":"ralph","date":"2012-08-07","volume":1}]',
    );
    h.stop();
  });

  it('keep the three-member rows unboxed once the main thread parsed `{ timestamp, msg_id, topic }`', () => {
    const h = harness(builtinPlugins());
    const T = 1_700_000_000;
    // 74: bodhi, ralph and codeblock, package (meta) included; 274: a pagure pull request by sgallagh.
    h.feed([at(74, T + 0.25), at(274, T + 1.5)]);
    // A publisher that sends `timestamp` first: the head's fields, without `msg`, are three members.
    expect(parsedFields({ timestamp: T + 2.75, msg_id: 'm', topic: 't', msg: {} })).toEqual({
      timestamp: T + 2.75,
      msg_id: 'm',
      topic: 't',
    });
    h.feed([at(74, T + 3.25), at(274, T + 86_400.5), at(86, T + 4.5)]);
    expect(h.errors).toEqual([]);

    const idents = [
      'volume-by-topic-1m',
      'volume-by-user-1m',
      'volume-by-package-1m',
      'volume-by-category-1h',
      'number-of-contribution-per-project-to-pagure.io-1d',
      'number-of-contribution-per-user-to-pagure.io-1d',
    ];
    for (const ident of idents) {
      const rows = [...h.rt(ident).inspect().rows.values()];
      expect(rows.length, ident).toBeGreaterThan(0);
      expect(boxed(stored(rows)), ident).toEqual([]);
      for (const row of rows) expect(Object.getPrototypeOf(row), ident).toBe(Object.prototype);
    }
    const byTopic = [...h.rt('volume-by-topic-1m').inspect().rows.values()];
    expect(byTopic[0]).toStrictEqual({
      timestamp: T + 40,
      topic: 'org.fedoraproject.stg.bodhi.update.comment',
      volume: 2,
    });
    expect(JSON.stringify(rowsOf(h.rt('volume-by-category-1h'), {}, 'asc'))).toBe(
      '[{"timestamp":1700002800,"category":"bodhi","volume":2},{"timestamp":1700002800,"category":"buildsys","volume":1},' +
        '{"timestamp":1700002800,"category":"pagure","volume":1},{"timestamp":1700089200,"category":"pagure","volume":1}]',
    );
    h.stop();
  });
});
