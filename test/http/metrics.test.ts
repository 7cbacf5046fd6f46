import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../helpers/service-process.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { fedWithSamples, serve, type Served } from './harness.js';

/** Samples of a Prometheus text exposition: `name{labels} value` lines, labels parsed. */
function samplesOf(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

describe('GET /metrics', () => {
  let s: Served;
  let sent = 0;
  let envelopes: RawEnvelope[] = [];
  beforeAll(async () => {
    s = await serve();
    envelopes = await fedWithSamples(s);
    sent = envelopes.length;
  });
  afterAll(async () => s?.close());

  const scrape = async () => {
    const res = await fetch(`${s.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return samplesOf(await res.text());
  };
  const value = (all: ReturnType<typeof samplesOf>, name: string, labels: Record<string, string> = {}) =>
    all.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

  it('counts messages per plugin, bus frames and decode errors by reason, from the runtime counters', async () => {
    // The harness's join probes are malformed frames: they must show up as decode errors.
    const all = await eventually(
      async () => {
        const m = await scrape();
        return value(m, 'statscache_plugin_messages_applied_total', { plugin: 'volume-1m' }) === sent ? m : undefined;
      },
      10_000,
      'metrics to show every applied message',
    );
    for (const r of s.service.host.runtimes) {
      // A plugin receives the messages its topic prefixes select.
      const mine = envelopes.filter((e) => r.plugin.topics.some((t) => e.topic.startsWith(t))).length;
      expect(value(all, 'statscache_plugin_messages_received_total', { plugin: r.ident }), r.ident).toBe(mine);
      expect(value(all, 'statscache_plugin_messages_applied_total', { plugin: r.ident })).toBe(mine);
      expect(value(all, 'statscache_plugin_messages_dropped_total', { plugin: r.ident, reason: 'update_error' })).toBe(
        0,
      );
      expect(value(all, 'statscache_plugin_rows', { plugin: r.ident })).toBe(r.inspect().rows.size);
      // One lifecycle gauge per plugin and state: 1 for live (replay done), 0 for the rest.
      expect(value(all, 'statscache_plugin_lifecycle', { plugin: r.ident, state: 'live' }), r.ident).toBe(1);
      for (const state of ['restoring', 'replaying', 'quarantined', 'stopped'])
        expect(value(all, 'statscache_plugin_lifecycle', { plugin: r.ident, state })).toBe(0);
    }
    const discovery = (await (await fetch(`${s.base}/plugins`)).json()) as {
      plugins: { ident: string; lifecycle: string; counters: { dropped: Record<string, number> } }[];
    };
    expect(discovery.plugins.length).toBe(s.service.host.runtimes.length);
    for (const p of discovery.plugins) {
      expect(p.lifecycle, p.ident).toBe('live');
      expect(p.counters.dropped['quarantined'], p.ident).toBe(0);
    }
    const invalid = value(all, 'statscache_bus_decode_errors_total', { reason: 'invalid_json' }) ?? 0;
    expect(invalid).toBeGreaterThanOrEqual(1);
    expect(value(all, 'statscache_bus_frames_total')).toBe(sent + invalid);
    expect(value(all, 'statscache_bus_accepted_total')).toBe(sent);
    // Every accepted message was applied after its batch's commit, and the bus thread's linger
    // gathered the samples, published back to back, into fewer batches than messages.
    expect(value(all, 'statscache_apply_delay_seconds_count')).toBe(sent);
    const batches = value(all, 'statscache_journal_batches_total') ?? 0;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThan(sent);
    // Every accepted message was journaled and applied: no lag once the batches are in.
    expect(value(all, 'statscache_journal_last_seq')).toBe(sent);
    expect(value(all, 'statscache_journal_applied_seq')).toBe(sent);
    // De-duplication settled each new id once: by the id filter (built once live, from the
    // empty journal) or, for any that came before it was, by reading the id index.
    const skips = value(all, 'statscache_dedupe_filter_skips_total') ?? 0;
    expect(skips + (value(all, 'statscache_dedupe_index_reads_total') ?? 0)).toBe(sent);
    expect(skips).toBeGreaterThan(0);
    expect(value(all, 'statscache_dedupe_filter_builds_total')).toBe(1);
    expect(value(all, 'statscache_dedupe_filter_build_failures_total')).toBe(0);
    expect(value(all, 'statscache_dedupe_filter_bytes')).toBe(128 * 1024);
  });

  it('counts HTTP requests by route pattern and status, never by raw path', async () => {
    await fetch(`${s.base}/api/volume-1m?rows_per_page=0`);
    await fetch(`${s.base}/api/volume-by-category-1d`);
    await fetch(`${s.base}/no/such/thing`);
    await fetch(`${s.base}/api/volume-1m`, { method: 'DELETE' });
    const all = await eventually(
      async () => {
        const m = await scrape();
        return (value(m, 'statscache_http_requests_total', { route: '/api/:ident', status: '405' }) ?? 0) >= 1
          ? m
          : undefined;
      },
      10_000,
      'the 405 to be counted',
    );
    const routes = new Set(
      all.filter((x) => x.name === 'statscache_http_requests_total').map((x) => x.labels['route']),
    );
    expect(routes).toContain('/api/:ident');
    expect(routes).toContain('unmatched');
    for (const r of routes) expect(r, 'route label').not.toMatch(/volume|such/);
    expect(
      value(all, 'statscache_http_requests_total', { route: '/api/:ident', method: 'GET', status: '400' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(all, 'statscache_http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('a request to /admin itself is counted as an admin route, not as /raw', async () => {
    // No adminToken here: the admin routes answer 404, and /raw is asked nowhere in this file.
    expect((await fetch(`${s.base}/admin`)).status).toBe(404);
    expect((await fetch(`${s.base}/admin/snapshot`, { method: 'POST' })).status).toBe(404);
    const all = await eventually(
      async () => {
        const m = await scrape();
        const admin404 = ['GET', 'POST'].map(
          (method) =>
            value(m, 'statscache_http_requests_total', { route: '/admin/snapshot', method, status: '404' }) ?? 0,
        );
        return admin404.every((n) => n >= 1) ? m : undefined;
      },
      10_000,
      'both admin 404s to be counted',
    );
    const routes = all.filter((x) => x.name === 'statscache_http_requests_total').map((x) => x.labels['route']);
    expect(routes).not.toContain('/raw');
  });

  it('reports WebSocket clients, snapshot duration and size, event-loop lag and uws_native', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    await s.service.snapshot();
    const all = await eventually(
      async () => {
        const m = await scrape();
        return value(m, 'statscache_ws_clients') === 1 && value(m, 'statscache_snapshot_bytes') !== undefined
          ? m
          : undefined;
      },
      10_000,
      'ws client and snapshot metrics',
    );
    expect(value(all, 'statscache_snapshot_bytes')).toBeGreaterThan(0);
    expect(value(all, 'statscache_snapshot_duration_seconds')).toBeGreaterThanOrEqual(0);
    expect(all.some((x) => x.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect([0, 1]).toContain(value(all, 'statscache_uws_native'));
    ws.close();
    await eventually(
      async () => (value(await scrape(), 'statscache_ws_clients') === 0 ? true : undefined),
      10_000,
      'ws client gone',
    );
  });
});
