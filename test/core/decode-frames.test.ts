import { describe, expect, it } from 'vitest';
import { decodeFrames } from '../../src/decode-frames.js';
import { createRouter } from '../../src/router.js';

const b = (s: string) => Buffer.from(s);
const decode = (frames: Buffer[], max = 1000) => decodeFrames(frames, max, () => 42);

describe('bus frame decoding', () => {
  it('accepts a fedmsg envelope and keeps its fields', () => {
    const r = decode([b('t'), b('{"topic":"org.fedoraproject.prod.git.receive","timestamp":5,"msg_id":"2026-x","msg":{"a":1}}')]);
    expect(r).toMatchObject({ ok: true, filledTimestamp: false, envelope: { topic: 'org.fedoraproject.prod.git.receive', timestamp: 5, msg_id: '2026-x', msg: { a: 1 } } });
  });

  it('classifies every kind of bad frame', () => {
    expect(decode([b('t')])).toMatchObject({ ok: false, reason: 'frame_count' });
    expect(decode([b('t'), b('{}'), b('x')])).toMatchObject({ ok: false, reason: 'frame_count' });
    expect(decode([b('t'), b(`{"x":"${'a'.repeat(2000)}"}`)])).toMatchObject({ ok: false, reason: 'oversized' });
    expect(decode([b('t'), b('{nope')])).toMatchObject({ ok: false, reason: 'invalid_json' });
    expect(decode([b('t'), Buffer.from([0xff, 0xfe])])).toMatchObject({ ok: false, reason: 'invalid_json' });
    for (const body of ['[1]', '"s"', '3', 'null']) expect(decode([b('t'), b(body)])).toMatchObject({ ok: false, reason: 'not_object' });
    expect(decode([b(''), b('{"msg":{}}')])).toMatchObject({ ok: false, reason: 'bad_topic' });
    expect(decode([b('t'), b('{"timestamp":"yesterday"}')])).toMatchObject({ ok: false, reason: 'bad_timestamp' });
    expect(decode([b('t'), b('{"timestamp":-1}')])).toMatchObject({ ok: false, reason: 'bad_timestamp' });
  });

  it('takes the frame topic and the receive time when the envelope lacks them', () => {
    const r = decode([b('org.x.prod.wiki.edit'), b('{"msg_id":7}')]);
    expect(r).toMatchObject({ ok: true, filledTimestamp: true, envelope: { topic: 'org.x.prod.wiki.edit', timestamp: 42 } });
    expect(r.ok && 'msg_id' in r.envelope).toBe(false);
  });
});

describe('router', () => {
  it('sends each topic only to the plugins whose prefixes match', () => {
    const route = createRouter([{ topics: [''] }, { topics: ['io.pagure.prod'] }, { topics: ['org.fedoraproject.prod.bodhi', 'io.pagure'] }, { topics: ['org.fedoraproject.prod.buildsys'] }]);
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
    const at = (i: number, ts: number) => ({ topic: 'org.fedoraproject.prod.bodhi.x', username: 'apache', i, timestamp: ts, msg: {} });
    expect(g.observe(at(1, 10))).toBeNull();
    expect(g.observe(at(2, 11))).toBeNull();
    expect(g.observe(at(5, 20))).toEqual({ start: 11, end: 20, missing: 2, basis: 'i', source: '' });
    expect(g.observe(at(1, 30))).toBeNull(); // restarted publisher
    expect(g.table()).toEqual({ 'apache|bodhi': { i: 1, ts: 30 } });
  });

  it('remembers a bounded number of publishers, forgetting the one heard from longest ago', async () => {
    const { GapDetector } = await import('../../src/gap-detector.js');
    const g = new GapDetector();
    for (let n = 0; n < 10_050; n++) g.observe({ topic: 'org.x.prod.wiki.y', username: `u${n}`, i: 1, timestamp: n, msg: {} });
    const table = g.table();
    expect(Object.keys(table)).toHaveLength(10_000);
    expect(table['u0|wiki']).toBeUndefined();
    expect(table['u10049|wiki']).toEqual({ i: 1, ts: 10_049 });
  });
});
