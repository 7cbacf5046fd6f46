import { afterEach, describe, expect, it } from 'vitest';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import { eventually } from '../helpers/service-process.js';
import { skippedFramesService } from '../helpers/skipped-frames-service.js';

/**
 * A timestamp that is no finite number is refused (bad_timestamp) in words a reader understands.
 * The JSON number 1e400 parses to Infinity, which JSON.stringify writes as null: the refusal said
 * "timestamp null is not epoch seconds", a value the publisher never sent.
 */
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const topic = 'org.fedoraproject.prod.wiki.article.edit';
const body = (timestamp: string, id: string) =>
  `{"topic":"${topic}","timestamp":${timestamp},"msg_id":"${id}","msg":{}}`;
const RANGE = 'beyond the range of a double, ±1.8e308';
/** Each timestamp as written in the JSON text, and the detail its refusal gives. */
const CASES: readonly (readonly [string, string])[] = [
  ['1e400', `timestamp is not a finite number (read as Infinity: ${RANGE})`],
  ['-1e400', `timestamp is not a finite number (read as -Infinity: ${RANGE})`],
  ['"1e400"', `timestamp "1e400" is not a finite number (read as Infinity: ${RANGE})`],
];

describe('a timestamp that is no finite number', () => {
  const config = loadConfig({ env: {}, flags: { port: 0 } });
  const now = 1_780_000_000;

  it('is refused naming what is wrong, by the main thread and by the bus thread alike', () => {
    for (const [timestamp, detail] of CASES) {
      const frames = [Buffer.from(topic), Buffer.from(body(timestamp, 'x'))];
      expect(
        decodeFrames(
          frames,
          frameLimits(config, () => now),
        ),
        timestamp,
      ).toEqual({
        ok: false,
        reason: 'bad_timestamp',
        detail,
      });
      expect(prepareFrames(frames, unclocked(threadLimits(config))), timestamp).toEqual({
        kind: 'rejected',
        reason: 'bad_timestamp',
        detail,
      });
    }
    // A finite value that is no epoch seconds still shows itself as sent.
    const negative = decodeFrames(
      [Buffer.from(topic), Buffer.from(body('-5', 'x'))],
      frameLimits(config, () => now),
    );
    expect(negative).toEqual({ ok: false, reason: 'bad_timestamp', detail: 'timestamp -5 is not epoch seconds' });
  });

  describe.each([true, false])('received over ZeroMQ with the bus thread %s', (busThread) => {
    it('is logged with that detail and counted under reason bad_timestamp', async () => {
      const { service: s, pub, details } = await skippedFramesService('bad_timestamp', busThread, cleanups);
      // Logging is limited per reason: one message per run of the service shows its detail.
      const [timestamp, detail] = CASES[0] as readonly [string, string];
      await pub.sendFrames([topic, body(timestamp, '2026-inf')]);
      await eventually(() => (details.length === 1 ? true : undefined), 10_000, 'the refusal logged');
      expect(details).toEqual([detail]);
      expect(s.counters.decodeErrors.bad_timestamp).toBe(1);
      const metrics = await (await fetch(`http://127.0.0.1:${s.server?.port}/metrics`)).text();
      expect(metrics).toMatch(/^statscache_bus_decode_errors_total\{reason="bad_timestamp"\} 1$/m);
    }, 30_000);
  });
});
