import { describe, expect, it } from 'vitest';
import { decodeFrames } from '../../src/decode-frames.js';
import { createRouter } from '../../src/router.js';

const b = (s: string) => Buffer.from(s);
const NOW = 1_700_000_000;
const limits = { maxFrameBytes: 1000, maxDepth: 64, maxKeys: 100_000, maxClockSkew: 300, nowSeconds: () => NOW };
const decode = (frames: Buffer[], max = 1000) => decodeFrames(frames, { ...limits, maxFrameBytes: max });

describe('bus frame decoding', () => {
  it('accepts a fedmsg envelope and keeps its fields', () => {
    const r = decode([
      b('t'),
      b('{"topic":"org.fedoraproject.prod.git.receive","timestamp":5,"msg_id":"2026-x","msg":{"a":1}}'),
    ]);
    expect(r).toMatchObject({
      ok: true,
      filledTimestamp: false,
      correctedTimestamp: null,
      envelope: { topic: 'org.fedoraproject.prod.git.receive', timestamp: 5, msg_id: '2026-x', msg: { a: 1 } },
    });
  });

  it('classifies every kind of bad frame', () => {
    expect(decode([b('t')])).toMatchObject({ ok: false, reason: 'frame_count' });
    expect(decode([b('t'), b('{}'), b('x')])).toMatchObject({ ok: false, reason: 'frame_count' });
    expect(decode([b('t'), b(`{"x":"${'a'.repeat(2000)}"}`)])).toMatchObject({ ok: false, reason: 'oversized' });
    expect(decode([b('t'), b('{nope')])).toMatchObject({ ok: false, reason: 'invalid_json' });
    expect(decode([b('t'), Buffer.from([0xff, 0xfe])])).toMatchObject({ ok: false, reason: 'invalid_json' });
    for (const body of ['[1]', '"s"', '3', 'null'])
      expect(decode([b('t'), b(body)])).toMatchObject({ ok: false, reason: 'not_object' });
    expect(decode([b(''), b('{"msg":{}}')])).toMatchObject({ ok: false, reason: 'bad_topic' });
    expect(decode([b('t'), b(`{"topic":"${'a.'.repeat(127)}b","timestamp":1}`)])).toMatchObject({ ok: true });
    expect(decode([b('t'), b(`{"topic":"${'a.'.repeat(128)}","timestamp":1}`)])).toMatchObject({
      ok: false,
      reason: 'bad_topic',
    });
    expect(decode([b('x'.repeat(300)), b('{"timestamp":1}')])).toMatchObject({ ok: false, reason: 'bad_topic' });
    expect(decode([b('t'), b('{"timestamp":"yesterday"}')])).toMatchObject({ ok: false, reason: 'bad_timestamp' });
    expect(decode([b('t'), b('{"timestamp":-1}')])).toMatchObject({ ok: false, reason: 'bad_timestamp' });
  });

  it('takes the frame topic and the receive time when the envelope lacks them', () => {
    const r = decode([b('org.x.prod.wiki.edit'), b('{"msg_id":7}')]);
    expect(r).toMatchObject({
      ok: true,
      filledTimestamp: true,
      envelope: { topic: 'org.x.prod.wiki.edit', timestamp: NOW },
    });
    expect(r.ok && 'msg_id' in r.envelope).toBe(false);
  });
});

describe('bounds on one envelope', () => {
  const nested = (depth: number, open: string, close: string, middle = '') =>
    `{"topic":"org.x.prod.wiki.edit","timestamp":${NOW},"msg":${open.repeat(depth)}${middle}${close.repeat(depth)}}`;

  it('refuses nesting past the depth limit without recursing (a few thousand levels in 12 KB)', () => {
    // The envelope is depth 1 and msg's outer array depth 2: 63 arrays reach 64 exactly.
    expect(decode([b('t'), b(nested(63, '[', ']'))], 1e6)).toMatchObject({ ok: true });
    expect(decode([b('t'), b(nested(64, '[', ']'))], 1e6)).toMatchObject({ ok: false, reason: 'too_deep' });
    expect(decode([b('t'), b(nested(6000, '[', ']'))], 1e6)).toMatchObject({ ok: false, reason: 'too_deep' });
    expect(decode([b('t'), b(nested(6000, '{"a":', '}', '0'))], 1e6)).toMatchObject({ ok: false, reason: 'too_deep' });
  });

  it('refuses more members than the key limit, counting arrays and objects alike', () => {
    const small = { ...limits, maxFrameBytes: 1e7, maxKeys: 1000 };
    const members = (n: number) =>
      `{"topic":"t.x.p.c","timestamp":${NOW},"msg":{"attendees":{${Array.from({ length: n }, (_, i) => `"u${i}":1`).join(',')}}}}`;
    // The envelope holds topic, timestamp and msg, msg holds attendees: 4 members besides the attendees.
    expect(decodeFrames([b('t'), b(members(996))], small)).toMatchObject({ ok: true });
    expect(decodeFrames([b('t'), b(members(997))], small)).toMatchObject({ ok: false, reason: 'too_many_keys' });
    const elements = `{"topic":"t.x.p.c","timestamp":${NOW},"msg":[${Array.from({ length: 2000 }, () => '[]').join(',')}]}`;
    expect(decodeFrames([b('t'), b(elements)], small)).toMatchObject({ ok: false, reason: 'too_many_keys' });
  });

  it('reads milliseconds and microseconds as seconds by the documented rule, and refuses the future', () => {
    const at = (ts: number | string) => decode([b('t'), b(`{"topic":"t.x.p.c","timestamp":${JSON.stringify(ts)}}`)]);
    expect(at(NOW * 1000)).toMatchObject({
      ok: true,
      correctedTimestamp: 'milliseconds',
      envelope: { timestamp: NOW },
    });
    expect(at(NOW * 1e6)).toMatchObject({ ok: true, correctedTimestamp: 'microseconds', envelope: { timestamp: NOW } });
    expect(at(String(NOW * 1000))).toMatchObject({ ok: true, envelope: { timestamp: NOW } });
    expect(at(`${NOW}.25`)).toMatchObject({ ok: true, envelope: { timestamp: NOW + 0.25 } });
    // Only decimal strings: Number() reads these as 16, 5 and 7 seconds (1970) or pads them.
    for (const odd of ['0x10', '0b101', '0o7', ` ${NOW}`, `${NOW} `, '+5', '1_000', `${NOW}.`, '.5'])
      expect(at(odd), odd).toMatchObject({ ok: false, reason: 'bad_timestamp' });
    expect(at(NOW + 300)).toMatchObject({ ok: true, correctedTimestamp: null, envelope: { timestamp: NOW + 300 } });
    expect(at(NOW + 301)).toMatchObject({ ok: false, reason: 'future_timestamp' });
    expect(at(NOW + 2 * 86_400)).toMatchObject({ ok: false, reason: 'future_timestamp' });
    expect(at((NOW + 2 * 86_400) * 1000)).toMatchObject({ ok: false, reason: 'future_timestamp' });
    // Old messages are history, not an attack: 1970 is still epoch seconds.
    expect(at(0)).toMatchObject({ ok: true, envelope: { timestamp: 0 } });
    expect(at(99_999_999_999)).toMatchObject({ ok: false, reason: 'future_timestamp' });
  });
});

describe('router', () => {
  it('sends each topic only to the plugins whose prefixes match', () => {
    const route = createRouter([
      { topics: [''] },
      { topics: ['io.pagure.prod'] },
      { topics: ['org.fedoraproject.prod.bodhi', 'io.pagure'] },
      { topics: ['org.fedoraproject.prod.buildsys'] },
    ]);
    expect(route('io.pagure.prod.pagure.issue.new')).toEqual([0, 1, 2]);
    expect(route('org.fedoraproject.prod.bodhi.update.comment')).toEqual([0, 2]);
    expect(route('org.fedoraproject.prod.buildsys.tag')).toEqual([0, 3]);
    expect(route('org.centos.prod.ci.x')).toEqual([0]);
    expect(route('org.centos.prod.ci.x')).toBe(route('org.centos.prod.ci.x'));
  });
});

describe('gap detector', () => {
  it('reports a publisher sequence jump as a time window, not a restart or a duplicate', async () => {
    const { GapDetector } = await import('../../src/gap-detector.js');
    const g = new GapDetector();
    const at = (i: number, ts: number) => ({
      topic: 'org.fedoraproject.prod.bodhi.x',
      username: 'apache',
      i,
      timestamp: ts,
      msg: {},
    });
    expect(g.observe(at(1, 10))).toBeNull();
    expect(g.observe(at(2, 11))).toBeNull();
    expect(g.observe(at(5, 20))).toEqual({ start: 11, end: 20, missing: 2, basis: 'i', source: '' });
    expect(g.observe(at(1, 30))).toBeNull(); // restarted publisher
    expect(g.table()).toEqual({ 'apache|bodhi': { i: 1, ts: 30 } });
  });

  it('remembers a bounded number of publishers, forgetting the one heard from longest ago', async () => {
    const { GapDetector } = await import('../../src/gap-detector.js');
    const g = new GapDetector();
    for (let n = 0; n < 10_050; n++)
      g.observe({ topic: 'org.x.prod.wiki.y', username: `u${n}`, i: 1, timestamp: n, msg: {} });
    const table = g.table();
    expect(Object.keys(table)).toHaveLength(10_000);
    expect(table['u0|wiki']).toBeUndefined();
    expect(table['u10049|wiki']).toEqual({ i: 1, ts: 10_049 });
  });
});
