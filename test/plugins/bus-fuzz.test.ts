/**
 * Seeded structural fuzz of bus messages through every built-in plugin (the generator:
 * test/helpers/bus-mutations.ts; the cases: bus-fuzz-cases.ts): each mutated frame alone
 * through the decoder, the bus thread's door and a real PluginHost, so a failure names the
 * message; every view is plain JSON; batch splits do not change the state. The same messages
 * through an in-process Service: bus-fuzz-service.test.ts. BUS_FUZZ_SEED=<n> replays another seed.
 */
import { describe, expect, it } from 'vitest';
import type { Row } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { decodeFreshRecord, encodeJournalRecord, messageId } from '../../snapshots/journal-record.js';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { decodeFrames } from '../../src/decode-frames.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { decodeHead } from '../../src/prepared-head.js';
import { createRouter } from '../../src/router.js';
import { rng } from '../helpers/bus-mutations.js';
import {
  COUNT,
  config,
  describeMessage,
  digests,
  dropped,
  frames,
  limits,
  messages,
  NOW,
  SEED,
} from './bus-fuzz-cases.js';
import { paramCases, rowsOf } from './harness.js';

/** A value as JSON serves it: no undefined, NaN or Infinity anywhere (they would become null or vanish). */
function notPlain(v: unknown, where: string): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${where} is ${v}`;
  if (typeof v !== 'object') return `${where} is ${typeof v}`;
  for (const [k, x] of Object.entries(v as object)) {
    const bad = notPlain(x, `${where}.${k}`);
    if (bad) return bad;
  }
  return null;
}

/** Every view of every plugin, with every parameter case: rows that are not plain JSON, described. */
function viewProblems(host: PluginHost): { problems: string[]; rows: number } {
  const problems: string[] = [];
  let rows = 0;
  for (const rt of host.runtimes) {
    let all: Row[];
    try {
      all = rowsOf(rt);
      for (const params of paramCases(rt.plugin, all))
        for (const order of ['asc', 'desc'] as const) {
          const page = rowsOf(rt, params, order);
          rows += page.length;
          const bad = notPlain(page, `${rt.ident}?${JSON.stringify(params)}`);
          if (bad) problems.push(bad);
          else if (JSON.stringify(JSON.parse(JSON.stringify(page))) !== JSON.stringify(page))
            problems.push(`${rt.ident}: rows change through JSON`);
        }
    } catch (err) {
      problems.push(`${rt.ident}: view threw ${String(err)}`);
    }
  }
  return { problems, rows };
}

describe(`bus fuzz: ${COUNT} mutated fixture messages (seed ${SEED})`, () => {
  it('each one alone is refused with a reason or applied by every plugin without an error; both doors agree', () => {
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    const threadDoor = unclocked(threadLimits(config));
    const failures: string[] = [];
    const reasons: Record<string, number> = {};
    let applied = 0;
    let filled = 0;
    messages.forEach((m, i) => {
      try {
        const decoded = decodeFrames(frames(m), limits);
        // The bus thread's door: the same verdict (its clock bound is judged later, on the main
        // thread), reading the same clock when it fills in a missing timestamp.
        const prepared = prepareFrames(frames(m), threadDoor, () => NOW);
        if (!decoded.ok) {
          reasons[decoded.reason] = (reasons[decoded.reason] ?? 0) + 1;
          if (prepared.kind === 'ready' && decoded.reason !== 'future_timestamp')
            failures.push(
              `bus thread accepted what the main thread refused (${decoded.reason}): ${describeMessage(i, m)}`,
            );
          if (prepared.kind === 'rejected' && prepared.reason !== decoded.reason)
            failures.push(`doors disagree ${prepared.reason} ≠ ${decoded.reason}: ${describeMessage(i, m)}`);
          return;
        }
        if (prepared.kind === 'rejected')
          failures.push(`bus thread refused (${prepared.reason}) what the main thread took: ${describeMessage(i, m)}`);
        if (prepared.kind === 'ready') {
          const head = decodeHead(prepared.head);
          const record = decodeFreshRecord(prepared.record);
          if (head.fields.topic !== decoded.envelope.topic || head.fields.timestamp !== decoded.envelope.timestamp)
            failures.push(`bus thread's head differs from the envelope: ${describeMessage(i, m)}`);
          if (JSON.stringify(record.envelope.msg) !== JSON.stringify(decoded.envelope.msg))
            failures.push(`bus thread's record body differs: ${describeMessage(i, m)}`);
          if (prepared.filled !== decoded.filledTimestamp)
            failures.push(`doors disagree on filling the timestamp: ${describeMessage(i, m)}`);
          if (prepared.filled) {
            filled++;
            const id = messageId(decoded.envelope);
            if (!Buffer.from(prepared.record).equals(Buffer.from(encodeJournalRecord(id, decoded.envelope))))
              failures.push(`bus thread's record of a filled timestamp differs: ${describeMessage(i, m)}`);
          }
        } else if (prepared.kind === 'clock')
          failures.push(`bus thread left it to the clock: ${describeMessage(i, m)}`);
        const before = host.runtimes.map(dropped);
        const message = createPluginMessage(decoded.envelope, deriveMeta);
        host.queue(message, route(decoded.envelope.topic));
        host.applyQueued();
        applied++;
        host.runtimes.forEach((rt, k) => {
          if (dropped(rt) !== before[k]) failures.push(`${rt.ident} dropped it: ${describeMessage(i, m)}`);
        });
      } catch (err) {
        failures.push(`threw ${String(err)}: ${describeMessage(i, m)}`);
      }
    });
    expect(failures.slice(0, 5)).toEqual([]);
    // The fuzz reached both outcomes and several refusals, so the checks above are not vacuous.
    expect(applied).toBeGreaterThan(COUNT / 3);
    expect(filled).toBeGreaterThan(0);
    for (const reason of [
      'invalid_json',
      'not_object',
      'bad_topic',
      'bad_timestamp',
      'future_timestamp',
      'too_deep',
      'too_many_keys',
      'oversized',
    ])
      expect(reasons[reason] ?? 0, `${reason} in ${JSON.stringify(reasons)}`).toBeGreaterThan(0);
    const views = viewProblems(host);
    expect(views.problems.slice(0, 5)).toEqual([]);
    expect(views.rows).toBeGreaterThan(0);

    // Another host fed the same messages in uneven batches holds the same state.
    const other = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const r = rng(SEED ^ 0x5eed);
    let pending = 0;
    for (const m of messages) {
      const decoded = decodeFrames(frames(m), limits);
      if (!decoded.ok) continue;
      other.queue(createPluginMessage(decoded.envelope, deriveMeta), route(decoded.envelope.topic));
      if (++pending >= 1 + r.int(200)) {
        other.applyQueued();
        pending = 0;
      }
    }
    other.applyQueued();
    expect(digests(other)).toEqual(digests(host));
    host.stop();
    other.stop();
  });
});
