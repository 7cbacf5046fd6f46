import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's own copy of the real fixtures (origin and licence in test/fixtures/README.md). */
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export type RawEnvelope = Record<string, unknown> & { topic: string };

/** The 510 real fedmsg envelopes, in file order. */
export function samples(): RawEnvelope[] {
  return readFileSync(`${FIXTURES}fedmsg/samples.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RawEnvelope);
}

/**
 * The samples restamped to recent times (one second apart, ending `endSeconds`), as a live
 * publisher would send them; everything else in each envelope is left as captured.
 */
export function recentSamples(endSeconds: number): RawEnvelope[] {
  const all = samples();
  return all.map((e, i) => ({ ...e, timestamp: Math.floor(endSeconds) - (all.length - 1 - i) }));
}

/** The category rule of fedmsg.md, written independently of the service's own code. */
export function categoryOfTopic(topic: string): string {
  return topic.split('.')[3] ?? '';
}
