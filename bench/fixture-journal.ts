/**
 * What the replay and apply benches share: the fixture messages, a journal of N of them written
 * by a real service (as bench/ingest.ts builds it), and a plugin that takes every topic and reads
 * nothing of the message (a bench's own cost, the built-ins' left out).
 */
import { readFileSync } from 'node:fs';
import { definePlugin, store } from '../actors/plugin-api.js';
import { loadConfig } from '../src/config.js';
import { decodeFrames, frameLimits } from '../src/decode-frames.js';
import type { Logger } from '../src/logger.js';
import { Service } from '../src/service.js';

export const countingPlugin = definePlugin({
  name: 'Counter',
  summary: 's',
  description: 'd',
  columns: ['n'],
  key: ['timestamp'],
  stores: { total: store<number>() },
  update(_m, { stores }) {
    stores.total.set('all', (stores.total.get('all') ?? 0) + 1);
  },
});

export type Sample = Record<string, unknown> & { topic: string };

/** The 510 fixture messages (test/fixtures/fedmsg/samples.jsonl). */
export function fixtureSamples(): Sample[] {
  return readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample);
}

/**
 * N fixture messages, the i-th dated start + i with its own msg_id, taken in by a service on
 * `dir` through the bus's decode; closed without a snapshot, so every recover() applies them all.
 */
export async function writeFixtureJournal(
  dir: string,
  n: number,
  start: number,
  now: () => number,
  logger: Logger,
): Promise<void> {
  const samples = fixtureSamples();
  const writer = await Service.build({ config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } }), logger });
  const limits = frameLimits(writer.config, now);
  for (let i = 0; i < n; i++) {
    const s = samples[i % samples.length] as Sample;
    const f = [
      Buffer.from(s.topic),
      Buffer.from(JSON.stringify({ ...s, timestamp: start + i, msg_id: `2026-bench-${i}` })),
    ];
    const r = decodeFrames(f, limits);
    if (r.ok) writer.accept(r.envelope);
  }
  await writer.settled();
  await writer.close();
}
