/**
 * The fixture samples and the form fedmsg puts them on the wire in, for the in-process benches
 * that feed the bus thread's code (bus-prepare-cost, unpack-cost, intake-take) exactly what the
 * ingest bench's Python publisher sends (bench/load/publisher.py).
 */
import { readFileSync } from 'node:fs';

export type Sample = Record<string, unknown> & { topic: string };

/** Python's json.dumps(sort_keys=True, separators=(",", ":")), ensure_ascii on. */
export function wire(value: unknown): string {
  return JSON.stringify(sorted(value)).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sorted((value as Record<string, unknown>)[k]);
  return out;
}

/**
 * The 510 fixture messages. `signed`: each carries the certificate and signature of the first
 * signed one, as production fedmsg signs nearly every message (the fixtures sign 2).
 */
export function fixtureSamples(signed = false): Sample[] {
  const samples = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample);
  if (!signed) return samples;
  const first = samples.find((s) => typeof s['certificate'] === 'string' && typeof s['signature'] === 'string');
  if (!first) return samples;
  return samples.map((s) => ({ ...s, certificate: first['certificate'], signature: first['signature'] }));
}
