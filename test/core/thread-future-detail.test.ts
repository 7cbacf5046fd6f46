import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/service-process.js';
import { skippedFramesService } from '../helpers/skipped-frames-service.js';

/**
 * A timestamp read as milliseconds or microseconds and then refused as ahead of the clock is
 * logged with the value the publisher sent, whichever thread decoded it. On the bus thread the
 * main thread judged the already converted seconds and logged those as the received value: a
 * nanosecond timestamp 1.8e18 was reported as "timestamp 1800000000000 (read as microseconds)",
 * a value no microsecond rule would apply to.
 */
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each([true, false])('a refused future timestamp with the bus thread %s', (busThread) => {
  it('names the value as sent', async () => {
    const { pub, details } = await skippedFramesService('future_timestamp', busThread, cleanups);
    const send = pub.sendFrames;
    const ahead = Math.floor(Date.now() / 1000) + 10 * 86_400;
    const topic = 'org.fedoraproject.prod.wiki.article.edit';
    // Ten days ahead, in microseconds and in milliseconds.
    await send([topic, `{"topic":"${topic}","timestamp":${ahead}000000,"msg_id":"2026-us","msg":{}}`]);
    await send([topic, `{"topic":"${topic}","timestamp":${ahead}000,"msg_id":"2026-ms","msg":{}}`]);
    await eventually(() => (details.length === 2 ? true : undefined), 10_000, 'both refusals logged');
    expect(details[0]).toMatch(new RegExp(`^timestamp ${ahead}000000 \\(read as microseconds\\) is \\d+ s ahead`));
    expect(details[1]).toMatch(new RegExp(`^timestamp ${ahead}000 \\(read as milliseconds\\) is \\d+ s ahead`));
  }, 30_000);
});
