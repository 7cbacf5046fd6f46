import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse as openStream, type SseEvent } from '../helpers/sse-stream.js';
import { eventually, httpRows, keyOf, samplesBatch, startLive, type Live, canon } from './harness.js';

/** Applies snapshot/resumed/update events by row key; checks ids and seqs follow one another. */
function held(
  events: readonly SseEvent[],
  start: Map<string, Record<string, unknown>> = new Map(),
  startSeq: number | null = null,
) {
  const rows = new Map(start);
  let seq = startSeq;
  let key: readonly string[] = ['timestamp', 'category'];
  for (const e of events) {
    const d = e.data;
    if (e.event === 'snapshot') {
      rows.clear();
      key = d['key'] as string[];
      for (const r of d['rows'] as Record<string, unknown>[]) rows.set(keyOf(key, r), r);
      seq = d['seq'] as number;
    } else if (e.event === 'resumed') {
      expect(d['seq']).toBe(seq);
    } else if (e.event === 'update') {
      expect(d['seq']).toBe((seq as number) + 1);
      seq = d['seq'] as number;
      for (const k of d['removed'] as unknown[][]) rows.delete(JSON.stringify(k));
      for (const r of d['rows'] as Record<string, unknown>[]) rows.set(keyOf(key, r), r);
    }
    expect(e.id).toBe(`${String(d['epoch'] ?? e.id?.split(':')[0])}:${seq}`);
  }
  return { rows, seq };
}

describe('Server-Sent Events at /api/<ident>/stream', () => {
  let live: Live;
  beforeAll(async () => {
    // Heartbeats every 0.5 s, not the default 5 (test/core/settings.test.ts holds that): the quiet-stream case waited it out.
    live = await startLive({ sseHeartbeatSeconds: 0.5 });
  });
  afterAll(() => live?.close());

  it('streams a snapshot then updates (id = epoch:seq), resumes from Last-Event-ID without gap or duplicate', async () => {
    const url = `${live.base}/api/volume-by-category-1s/stream?rows_per_page=50`;
    const a = await openStream(url);
    expect(a.res.status).toBe(200);
    expect(a.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await eventually(() => a.events[0], 5_000, 'snapshot event');
    expect(a.events[0]).toMatchObject({
      event: 'snapshot',
      data: { type: 'snapshot', ident: 'volume-by-category-1s', epoch: live.service.hub.epoch },
    });
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) - 900));
    await eventually(
      async () =>
        canon(held(a.events).rows.values()) ===
        canon(await httpRows(live.base, 'volume-by-category-1s', 'rows_per_page=50'))
          ? true
          : undefined,
      10_000,
      'stream equals HTTP',
    );
    const before = held(a.events);
    const lastId = a.events.at(-1)?.id as string;
    a.close();
    await eventually(
      () => (live.service.hub.counts().sse === 0 ? true : undefined),
      5_000,
      'stream closed server-side',
    );

    await live.publish(samplesBatch());
    const b = await openStream(url, { 'Last-Event-ID': lastId });
    await eventually(() => b.events[0], 5_000, 'first event after resume');
    expect(b.events[0]).toMatchObject({ event: 'resumed', id: lastId });
    expect(b.events[0]?.data['replayed']).toBeGreaterThan(0);
    await eventually(
      async () =>
        canon(held(b.events, before.rows, before.seq).rows.values()) ===
        canon(await httpRows(live.base, 'volume-by-category-1s', 'rows_per_page=50'))
          ? true
          : undefined,
      10_000,
      'resumed stream equals HTTP',
    );
    expect(b.events.some((e) => e.event === 'snapshot')).toBe(false);
    b.close();

    // An id from another server life (or garbage) gets a fresh snapshot, never a silent gap.
    const c = await openStream(url, { 'Last-Event-ID': `0123456789abcdef:${before.seq}` });
    await eventually(() => c.events[0], 5_000, 'snapshot for a foreign id');
    expect(c.events[0]).toMatchObject({ event: 'snapshot', data: { reason: 'resume_epoch' } });
    c.close();
  });

  it('validates parameters like the HTTP view (400 naming the parameter, 404 for an unknown ident)', async () => {
    const bad = await fetch(`${live.base}/api/volume-1m/stream?rows_per_page=zero`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: 'bad_parameter',
      detail: expect.stringContaining('rows_per_page'),
    });
    const missing = await fetch(`${live.base}/api/no-such-plugin/stream`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'unknown_ident' });
  });

  it('a trailing slash, tolerated on every route, streams as without it: GET agrees with HEAD', async () => {
    const url = `${live.base}/api/volume-1m/stream/?rows_per_page=3`;
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // It was a 404 "no event stream for "volume-1m" in this process", while the process had them.
    const s = await openStream(url);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await eventually(() => s.events[0], 5_000, 'snapshot event');
    expect(s.events[0]).toMatchObject({
      event: 'snapshot',
      data: { type: 'snapshot', ident: 'volume-1m', view: 'volume-1m?order=desc&page=1&rows_per_page=3' },
    });
    s.close();
    // Its parameters are checked as without the slash, and an unknown ident is still a 404 naming it.
    const bad = await fetch(`${live.base}/api/volume-1m/stream/?rows_per_page=zero`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_parameter', parameter: 'rows_per_page' });
    const missing = await fetch(`${live.base}/api/no-such-plugin/stream/`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'unknown_ident' });
  });

  it('a cross-origin client may resume: the preflight allows Last-Event-ID, and the stream carries CORS', async () => {
    // A fetch-based EventSource (one that sets headers itself) asks before sending Last-Event-ID,
    // which is not CORS-safelisted; the preflight allowed only Accept, Accept-Encoding,
    // If-None-Match and Content-Type, so its resume was blocked by the browser.
    const url = `${live.base}/api/volume-1m/stream?rows_per_page=2`;
    const pre = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://dashboard.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toContain('last-event-id');
    const s = await openStream(url, { Origin: 'http://dashboard.example', 'Last-Event-ID': '0123456789abcdef:1' });
    expect(s.res.headers.get('access-control-allow-origin')).toBe('*');
    await eventually(() => s.events[0], 5_000, 'snapshot event');
    expect(s.events[0]).toMatchObject({ event: 'snapshot', data: { reason: 'resume_epoch' } });
    s.close();
  });

  it('sends heartbeat comments on a quiet stream', async () => {
    const s = await openStream(`${live.base}/api/volume-5s/stream`);
    await eventually(() => (s.comments() > 0 ? true : undefined), 12_000, 'a heartbeat comment');
    expect(s.ended()).toBe(false);
    s.close();
  }, 20_000);

  it('works with curl, a non-Node client', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('curl', ['-sN', '--max-time', '2', `${live.base}/api/volume-1m/stream?order=asc`]);
      let text = '';
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        // The stream never ends: once its first event is whole (the blank line after its data),
        // curl has shown what it reads, and waiting out --max-time only cost 2 s.
        if (/\nevent: snapshot\ndata: [^\n]*\n\n/.test(text)) p.kill();
      });
      p.on('error', reject);
      p.on('close', () => resolve(text));
    });
    expect(out).toMatch(
      /^retry: 1000\n\nid: [0-9a-f]{16}:\d+\nevent: snapshot\ndata: \{"type":"snapshot","ident":"volume-1m"/,
    );
  });
});
