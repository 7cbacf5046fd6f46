import { describe, expect, it } from 'vitest';
import { exitCodeOf, StatscacheError } from '../../actors/errors.js';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { errorText } from '../../src/logger.js';
import { createPluginMessage } from '../../src/message.js';
import { withBodyFrom } from '../../src/prepared-head.js';
import { encodeJournalRecord } from '../../snapshots/journal-record.js';
import { deriveMeta } from '../../src/meta/index.js';
import { type TopicRow, topicCounter } from '../helpers/topic-counter.js';
import { eventually } from '../helpers/service-process.js';

/**
 * Operator-supplied plugins that are wrong in ways a type checker does not catch (plain JS
 * modules): each is refused at registration with a coded error naming the value, or costs its
 * own plugin the message and nothing else.
 */

const base = {
  name: 'Probe',
  summary: 's',
  description: 'd',
  columns: ['n'],
  key: ['timestamp'],
  update: () => {},
};

function refusal(def: Record<string, unknown>): string {
  try {
    registerPlugins([def]);
  } catch (err) {
    expect(err).toBeInstanceOf(StatscacheError);
    return (err as Error).message;
  }
  return 'accepted';
}

const msg = (topic: string, timestamp: number) => createPluginMessage({ topic, timestamp, msg: {} }, deriveMeta);

type Row = TopicRow;
const counter = topicCounter;

describe('plugin hooks must be plain synchronous functions', () => {
  it('refuses async, generator and async generator functions and classes for update, view and migrate', () => {
    const kinds: [string, unknown][] = [
      ['an async function', async () => {}],
      ['a generator function', function* () {}],
      ['an async generator function', async function* () {}],
      ['a class', class {}],
      // A bound function keeps its target's kind.
      ['an async function', (async () => {}).bind(null)],
    ];
    for (const field of ['update', 'view', 'migrate']) {
      for (const [kind, fn] of kinds) {
        // A view returns any iterable of rows: a generator is one.
        if (field === 'view' && kind === 'a generator function') {
          expect(refusal({ ...base, view: fn })).toBe('accepted');
          continue;
        }
        const message = refusal({ ...base, [field]: fn });
        expect(message, `${field}: ${kind}`).toMatch(/^SC_PLUGIN_FIELD_INVALID/);
        expect(message, `${field}: ${kind}`).toContain(`"${field}" must be a plain synchronous function, got ${kind}`);
      }
    }
    expect(refusal({ ...base, update: () => {}, view: () => [], migrate: (s: unknown) => s })).toBe('accepted');
  });

  it('an update that returns a promise loses that message (rolled back, update_error) and its rejection goes nowhere', async () => {
    const writes: string[] = [];
    const sneaky = definePlugin({
      name: 'Sneaky',
      summary: 's',
      description: 'd',
      rows: rowsOf<Row>(),
      columns: ['topic', 'n'],
      key: ['topic'],
      // A plain function wrapping async work: registration cannot tell it from a synchronous one.
      update(m, { rows }) {
        rows.put({ timestamp: m.timestamp, topic: m.topic, n: 1 });
        if (!m.topic.endsWith('.boom')) return;
        return Promise.reject(new Error('async boom')).finally(() => writes.push(m.topic)) as never;
      },
    });
    const errors: string[] = [];
    const host = new PluginHost(registerPlugins([sneaky]), (_ident, err) => errors.push(errorText(err)));
    const rt = host.get('sneaky');
    if (!rt) throw new Error('not registered');
    rt.apply([msg('a.b.c.ok', 10), msg('a.b.c.boom', 20), msg('a.b.c.other', 30)]);
    // The promise is refused at once (errors); its async work settles later: once it has, an
    // unhandled rejection would fail the test run.
    await eventually(() => (writes.length > 0 ? true : undefined), 5_000, 'the async work settled', 1);
    expect(writes).toEqual(['a.b.c.boom']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/update returned a promise/);
    expect(rt.inspect().counters).toMatchObject({ received: 3, applied: 2, dropped: { update_error: 1 } });
    expect([...(rt.inspect().rows.values() as Iterable<Row>)].map((r) => r.topic).sort()).toEqual([
      'a.b.c.ok',
      'a.b.c.other',
    ]);
    host.stop();
  });
});

describe('a plugin that throws something odd', () => {
  it('loses only that message, even when the thrown value cannot be printed and the error handler throws', () => {
    const odd = counter('Odd', (t) => (t.endsWith('.odd') ? Object.create(null) : undefined));
    const calm = counter('Calm', () => undefined);
    const seen: string[] = [];
    // A handler that fails as a naive String(err) does on a null-prototype object.
    const host = new PluginHost(registerPlugins([odd, calm]), (_ident, err) => {
      seen.push(errorText(err));
      throw new TypeError(String(err));
    });
    const topics = ['a.b.c.one', 'a.b.c.odd', 'a.b.c.three', 'a.b.c.four'];
    host.queue(msg(topics[0] as string, 10), [0, 1]);
    host.queue(msg(topics[1] as string, 11), [0, 1]);
    host.queue(msg(topics[2] as string, 12), [0, 1]);
    host.queue(msg(topics[3] as string, 13), [0, 1]);
    host.applyQueued();
    expect(seen).toEqual(['[object Object]']);
    const oddRt = host.get('odd');
    expect(oddRt?.inspect().counters).toMatchObject({ received: 4, applied: 3, dropped: { update_error: 1 } });
    expect(host.get('calm')?.inspect().counters).toMatchObject({ received: 4, applied: 4 });
    host.stop();
  });

  it('still counts towards quarantine when the error handler throws', () => {
    const always = counter('Always', () => Object.create(null));
    const host = new PluginHost(
      registerPlugins([always]),
      () => {
        throw new Error('handler broke');
      },
      { quarantineAfter: 3 },
    );
    const rt = host.get('always');
    rt?.apply([msg('a.b.c.x', 1), msg('a.b.c.x', 2), msg('a.b.c.x', 3), msg('a.b.c.x', 4)]);
    expect(rt?.lifecycleState).toBe('quarantined');
    expect(rt?.inspect().counters.dropped).toMatchObject({ update_error: 3, quarantined: 1 });
    host.stop();
  });

  it('errorText prints anything', () => {
    expect(errorText(Object.create(null))).toBe('[object Object]');
    expect(
      errorText({
        toString() {
          throw new Error('no');
        },
      }),
    ).toBe('[object Object]');
    expect(errorText(new Error('plain'))).toMatch(/^Error: plain/);
    expect(errorText(undefined)).toBe('undefined');
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    expect(errorText(revocable.proxy)).toBe('(unprintable thrown value)');
  });
});

describe('definitions checked at registration rather than met per request', () => {
  it('bounds interval and retention at 36500d and names the field', () => {
    expect(refusal({ ...base, interval: '200000000d' })).toMatch(
      /^SC_PLUGIN_INTERVAL_INVALID: plugin "Probe": interval "200000000d" is longer than 3153600000 s/,
    );
    expect(refusal({ ...base, interval: 1e15 })).toMatch(
      /^SC_PLUGIN_INTERVAL_INVALID.*interval 1000000000000000 is longer/,
    );
    expect(refusal({ ...base, retention: '99999999d' })).toMatch(/^SC_PLUGIN_INTERVAL_INVALID.*retention "99999999d"/);
    expect(refusal({ ...base, retention: '5x' })).toMatch(
      /^SC_PLUGIN_INTERVAL_INVALID: plugin "Probe": retention "5x"/,
    );
    expect(refusal({ ...base, interval: '36500d', retention: '36500d' })).toBe('accepted');
  });

  it('refuses parameters no value could pass, and malformed enums and lengths', () => {
    const param = (spec: Record<string, unknown>) =>
      refusal({ ...base, params: { level: { description: 'x', ...spec } } });
    expect(param({ type: 'integer', min: 5, max: 1 })).toMatch(/parameter "level": "min" 5 is above "max" 1/);
    expect(param({ type: 'number', min: Number.NaN })).toMatch(/"min" must be a finite number/);
    expect(param({ type: 'number', max: '3' })).toMatch(/"max" must be a finite number, got "3"/);
    expect(param({ type: 'string', enum: 'ab' })).toMatch(/"enum" must be a non-empty array of strings, got "ab"/);
    expect(param({ type: 'string', enum: [] })).toMatch(/"enum" must be a non-empty array/);
    expect(param({ type: 'string', maxLength: 0 })).toMatch(/"maxLength" must be a whole number >= 1/);
    expect(param({ type: 'integer', min: 1, max: 1 })).toBe('accepted');
    expect(param({ type: 'string', enum: ['a', 'b'], maxLength: 4 })).toBe('accepted');
  });

  it('refuses repeated or prototype-named columns and keys, and a layout JSON cannot hold', () => {
    expect(refusal({ ...base, columns: ['n', 'n'] })).toMatch(/"columns" lists "n" twice/);
    expect(refusal({ ...base, columns: ['n', '__proto__'] })).toMatch(/"columns" lists "__proto__"/);
    expect(refusal({ ...base, key: ['timestamp', 'timestamp'] })).toMatch(/"key" lists "timestamp" twice/);
    expect(refusal({ ...base, layout: { big: 1n } })).toMatch(
      /^SC_PLUGIN_FIELD_INVALID.*"layout" cannot be written as JSON/,
    );
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(refusal({ ...base, layout: cycle })).toMatch(/"layout" cannot be written as JSON/);
    expect(refusal({ ...base, layout: { rows: [1, 2] } })).toBe('accepted');
  });

  it('names both plugins and where each came from when two share an ident', () => {
    expect(() => registerPlugins([base, { ...base }], ['built-in', 'module "./mine.js"'])).toThrow(
      'SC_PLUGIN_IDENT_DUPLICATE: plugins "Probe" (built-in) and "Probe" (module "./mine.js") both have the ident "probe"',
    );
  });

  it('exits 2 for every plugin definition or load error: restarting cannot fix them', () => {
    for (const code of [
      'SC_PLUGIN_INVALID',
      'SC_PLUGIN_NAME_INVALID',
      'SC_PLUGIN_IDENT_DUPLICATE',
      'SC_PLUGIN_INTERVAL_INVALID',
      'SC_PLUGIN_EXPIRY_INVALID',
      'SC_PLUGIN_FIELD_MISSING',
      'SC_PLUGIN_FIELD_INVALID',
      'SC_PLUGIN_LOAD_FAILED',
    ] as const)
      expect(exitCodeOf(new StatscacheError(code, 'x')), code).toBe(2);
    expect(exitCodeOf(new StatscacheError('SC_DATA_DAMAGED', 'x'))).toBe(1);
  });
});

describe('a plugin that changes the message it is handed', () => {
  it('loses that message; the plugins after it see the message as it came, and meta is derived from it', () => {
    // Every plugin is handed the same message: a change reached the plugins after it, and meta
    // derived later named the changed owner where a replay of the journal named the real one.
    const meddler = definePlugin({
      ...base,
      name: 'Meddler',
      update(m) {
        const how = m.topic.split('.').at(-1) ?? '';
        const body = m.body as { owner: string; extra?: unknown; tags: string[] };
        if (how === 'body') body.owner = 'mallory';
        if (how === 'nested') body.tags.push('evil');
        if (how === 'add') body.extra = 1;
        if (how === 'envelope') (m.envelope as { topic: string }).topic = 'org.fedoraproject.prod.fas.x';
        if (how === 'meta') (m.meta.usernames as string[]).push('mallory');
      },
    });
    const seen: string[] = [];
    const reader = definePlugin({
      ...base,
      name: 'Reader',
      update(m) {
        const body = m.body as { owner: string; tags: string[]; extra?: unknown };
        seen.push(
          `${body.owner} ${body.tags.join(',')} ${String(body.extra)} ${m.envelope.topic} ${m.meta.usernames.join(',')}`,
        );
      },
    });
    const errors: string[] = [];
    const host = new PluginHost(registerPlugins([meddler, reader]), (_ident, err) => errors.push(errorText(err)));
    const ways = ['body', 'nested', 'add', 'envelope', 'meta'];
    ways.forEach((how, i) => {
      const envelope = {
        topic: `org.fedoraproject.prod.buildsys.build.${how}`,
        timestamp: 10 + i,
        msg: { owner: 'ralph', tags: ['a'] },
      };
      // Odd messages as the live path hands them: the body read from the journal record on first use.
      const { msg: _body, ...fields } = envelope;
      const given = i % 2 === 1 ? withBodyFrom(fields, encodeJournalRecord(`id-${i}`, envelope)) : envelope;
      host.queue(createPluginMessage(given, deriveMeta), [0, 1]);
    });
    host.applyQueued();
    expect(errors).toHaveLength(ways.length);
    for (const e of errors) expect(e).toMatch(/read.only|not extensible|Cannot (assign|add)/);
    expect(host.get('meddler')?.inspect().counters).toMatchObject({
      received: 5,
      applied: 0,
      dropped: { update_error: 5 },
    });
    expect(host.get('reader')?.inspect().counters).toMatchObject({ received: 5, applied: 5 });
    expect(seen).toEqual(ways.map((how) => `ralph a undefined org.fedoraproject.prod.buildsys.build.${how} ralph`));
    host.stop();
  });
});
