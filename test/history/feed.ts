import type { RawEnvelope } from '../helpers/fixtures.js';
import { journaledAndApplied, joinedPublisher } from '../helpers/probes.js';
import { eventually, getJson, type RunningService } from '../helpers/service-process.js';

export type Sample = RawEnvelope & { timestamp: number; msg_id?: string };

/**
 * What a service keeps of a stream: one message per (msg_id, topic, body) — the captured
 * samples reuse some msg_ids for different messages, which are not duplicates — and every
 * message without a msg_id (the restamped samples differ in timestamp, so none collapse).
 * Written here, apart from the service's de-duplication code, as the expectation.
 */
export function acceptedOnce(envelopes: readonly Sample[]): Sample[] {
  const seen = new Set<string>();
  return envelopes.filter((e) => {
    if (typeof e.msg_id !== 'string' || e.msg_id === '') return true;
    const key = JSON.stringify([e.msg_id, e.topic, e.msg]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Publishes every envelope on a real ZeroMQ socket and waits until the journal serves them all
 * and the plugins have applied them: /raw reads what LMDB has committed, and a batch is
 * applied just after its commit, so the journal can be a batch ahead of the views for a moment.
 */
export async function feed(svc: RunningService, envelopes: readonly Sample[]): Promise<number> {
  const want = acceptedOnce(envelopes).length;
  const pub = await joinedPublisher(svc);
  try {
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    for (const e of envelopes) await pub.send(e.topic, JSON.stringify(e));
    await eventually(
      async () => ((await journaledAndApplied(svc.base, want)) ? true : undefined),
      20_000,
      `${want} messages journaled and applied`,
    );
  } finally {
    pub.close();
  }
  return want;
}
