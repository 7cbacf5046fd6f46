import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../actors/plugin-api.js';
import { jsonpBody } from '../../src/http/render.js';
import { eventually } from '../helpers/service-process.js';
import { type Served, serve } from './harness.js';

/**
 * JSON allows U+2028 and U+2029 raw inside strings; JavaScript before ES2019 does not, so a
 * JSON-P answer carrying one (a commit message pasted from a word processor) stopped the
 * release dashboard's script on the browsers JSON-P is kept for. Every JSON-P answer escapes
 * them, and the callback still receives the same strings.
 */
const NOTE = 'first line\u2028second\u2029third';
const SEPARATORS = /[\u2028\u2029]/;

const noteKeeper = definePlugin<{ timestamp: number; topic: string; note: string }>({
  name: 'Note keeper',
  summary: 'Newest note per topic',
  description: 'Test plugin: keeps the newest msg.note seen per topic.',
  columns: ['topic', 'note'],
  key: ['topic'],
  update(message, { rows }) {
    const note = (message.body as { note?: unknown } | null)?.note;
    if (typeof note === 'string') rows.set(message.topic, { timestamp: message.timestamp, topic: message.topic, note });
  },
});

/** Runs a JSON-P answer as a script and returns what it hands its callback. */
function run(text: string, callback: string): unknown {
  let got: unknown;
  new Function(callback, text)((value: unknown) => (got = value));
  return got;
}

describe('JSON-P answers escape U+2028 and U+2029', () => {
  let s: Served;
  const topic = 'org.fedoraproject.prod.git.receive';
  beforeAll(async () => {
    s = await serve([noteKeeper]);
    const now = Math.floor(Date.now() / 1000) - 5;
    await s.publish([
      { topic, timestamp: now, msg_id: `2026-jsonp-ls-${process.pid}`, i: 1, msg: { note: NOTE } } as never,
    ]);
    await eventually(
      async () => ((await (await fetch(`${s.base}/api/note-keeper`)).json()) as unknown[]).length === 1 || undefined,
      20_000,
      'the message applied',
    );
  });
  afterAll(async () => s?.close());

  it('/api/<ident>?callback=', async () => {
    const text = await (await fetch(`${s.base}/api/note-keeper?callback=cb`, { headers: { accept: '*/*' } })).text();
    expect(text).not.toMatch(SEPARATORS);
    expect(run(text, 'cb')).toMatchObject([{ topic, note: NOTE }]);
  });

  it('/raw?callback=', async () => {
    const text = await (await fetch(`${s.base}/raw?callback=cb&rows_per_page=1`)).text();
    expect(text).not.toMatch(SEPARATORS);
    const page = run(text, 'cb') as { raw_messages: { msg: { note: string } }[] };
    expect(page.raw_messages[0]?.msg.note).toBe(NOTE);
  });

  it('jsonpBody, which every JSON-P answer goes through, reads back the same value', () => {
    const value = { a: NOTE, b: ['\u2029'] };
    const text = jsonpBody('cb', JSON.stringify(value));
    expect(text).not.toMatch(SEPARATORS);
    expect(run(text, 'cb')).toEqual(value);
  });
});
