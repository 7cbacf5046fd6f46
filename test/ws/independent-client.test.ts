import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categoryOfTopic } from '../helpers/fixtures.js';
import { eventually, keyOf, samplesBatch, startLive, type Live } from './harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./raw_ws_client.py', import.meta.url));

describe.runIf(existsSync(PYTHON))('an independent WebSocket client (Python stdlib, hand-written RFC 6455)', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live?.close());

  it('sees the snapshot, then every change in order while real messages are published', async () => {
    const sub = JSON.stringify({ op: 'subscribe', ident: 'volume-by-category-1d', id: 'py' });
    const child = spawn(PYTHON, [SCRIPT, '127.0.0.1', String(live.port), sub, '60'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const frames: Record<string, unknown>[] = [];
    let err = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) frames.push(JSON.parse(l) as Record<string, unknown>);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await eventually(() => frames.find((f) => f['type'] === 'snapshot'), 10_000, `python snapshot ${err}`);
      const batch = samplesBatch();
      await live.publish(batch);
      const want = new Map<string, number>();
      for (const e of batch) want.set(categoryOfTopic(e.topic), (want.get(categoryOfTopic(e.topic)) ?? 0) + 1);
      const held = await eventually(
        () => {
          const rows = new Map<string, Record<string, unknown>>();
          let seq: number | null = null;
          for (const f of frames) {
            if (f['type'] === 'snapshot') {
              seq = f['seq'] as number;
              for (const r of f['rows'] as Record<string, unknown>[]) rows.set(keyOf(['timestamp', 'category'], r), r);
            } else if (f['type'] === 'update') {
              if (f['seq'] !== (seq as number) + 1) throw new Error(`seq ${String(f['seq'])} after ${seq}`);
              seq = f['seq'] as number;
              for (const r of f['rows'] as Record<string, unknown>[]) rows.set(keyOf(['timestamp', 'category'], r), r);
            }
          }
          const total = [...rows.values()].reduce((a, r) => a + (r['volume'] as number), 0);
          return total === batch.length ? rows : undefined;
        },
        15_000,
        'python client totals to match the batch',
      );
      const byCat = new Map<string, number>();
      for (const r of held.values())
        byCat.set(r['category'] as string, (byCat.get(r['category'] as string) ?? 0) + (r['volume'] as number));
      expect(byCat).toEqual(want);
      expect(frames[0]).toMatchObject({ type: 'hello', epoch: live.service.hub.epoch });
    } finally {
      child.stdin.end();
      child.kill();
    }
  });
});
