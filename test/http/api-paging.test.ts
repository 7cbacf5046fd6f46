import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categoryOfTopic, type RawEnvelope } from '../helpers/fixtures.js';
import { fedWithSamples, serve, type Served } from './harness.js';

type CategoryRow = { timestamp: number; category: string; volume: number };

/** volume-by-category-1s computed from the envelopes alone: bucket end = (floor(ts) + 1). */
function expected(envelopes: readonly RawEnvelope[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of envelopes) {
    const key = `${Math.floor(e.timestamp as number) + 1}|${categoryOfTopic(e.topic)}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

const keyOf = (r: CategoryRow) => `${r.timestamp}|${r.category}`;

/** The URLs of a Link header by relation. */
function links(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (header ?? '').matchAll(/<([^>]*)>;\s*rel="([^"]+)"/g)) out[m[2] as string] = m[1] as string;
  return out;
}

describe('/api/<ident> paging over the real server', () => {
  let s: Served;
  let want: Map<string, number>;
  let newestMessage = 0;
  const ident = 'volume-by-category-1s';
  const per = 7;

  beforeAll(async () => {
    s = await serve();
    const envelopes = await fedWithSamples(s);
    newestMessage = Math.max(...envelopes.map((e) => e.timestamp as number));
    want = expected(envelopes);
  });
  afterAll(async () => s?.close());

  const get = (q: string) => fetch(`${s.base}/api/${ident}?${q}`);

  it('page 1, a middle page and the last partial page are exactly the right slices', async () => {
    const total = want.size;
    const pages = Math.ceil(total / per);
    expect(total % per).not.toBe(0); // the last page really is partial
    // Newest first: the expected order is by timestamp descending.
    const all = (await (await get(`rows_per_page=100&limit=${total}`)).json()) as CategoryRow[];
    expect(all.length).toBeLessThanOrEqual(100);

    const first = await get(`rows_per_page=${per}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-link-number')).toBe('1');
    expect(first.headers.get('x-link-count')).toBe(String(pages));
    const firstRows = (await first.json()) as CategoryRow[];
    expect(firstRows).toHaveLength(per);
    expect(links(first.headers.get('link'))).toEqual({ next: `/api/${ident}?rows_per_page=${per}&page=2` });

    const middle = Math.floor(pages / 2);
    const mid = await get(`rows_per_page=${per}&page=${middle}`);
    expect(mid.headers.get('x-link-number')).toBe(String(middle));
    const midRows = (await mid.json()) as CategoryRow[];
    expect(midRows).toHaveLength(per);
    expect(links(mid.headers.get('link'))).toEqual({
      previous: `/api/${ident}?rows_per_page=${per}&page=${middle - 1}`,
      next: `/api/${ident}?rows_per_page=${per}&page=${middle + 1}`,
    });

    const last = await get(`rows_per_page=${per}&page=${pages}`);
    const lastRows = (await last.json()) as CategoryRow[];
    expect(lastRows).toHaveLength(total - per * (pages - 1));
    expect(links(last.headers.get('link'))).toEqual({
      previous: `/api/${ident}?rows_per_page=${per}&page=${pages - 1}`,
    });

    // Every row of those pages is a real row with the right count, newest first.
    for (const r of [...firstRows, ...midRows, ...lastRows]) expect(want.get(keyOf(r))).toBe(r.volume);
    const ts = [...firstRows, ...midRows, ...lastRows].map((r) => r.timestamp);
    expect(ts).toEqual([...ts].sort((a, b) => b - a));
  });

  it('a page past the end is a 400 naming "page"', async () => {
    const pages = Math.ceil(want.size / per);
    const res = await get(`rows_per_page=${per}&page=${pages + 1}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; detail: string };
    expect(body.error).toBe('bad_parameter');
    expect(body.detail).toContain('"page"');
    expect(body.detail).toContain(String(pages));
  });

  it('walking Link rel="next" from page 1 returns every row exactly once, keeping every parameter', async () => {
    let url: string | undefined = `/api/${ident}?order=asc&rows_per_page=${per}&foo=bar&_=789`;
    const seen: CategoryRow[] = [];
    let hops = 0;
    while (url !== undefined) {
      const res: Response = await fetch(`${s.base}${url}`);
      expect(res.status).toBe(200);
      seen.push(...((await res.json()) as CategoryRow[]));
      const next: string | undefined = links(res.headers.get('link'))['next'];
      if (next !== undefined) {
        const q = new URL(next, s.base).searchParams;
        expect([q.get('order'), q.get('rows_per_page'), q.get('foo'), q.get('_')]).toEqual([
          'asc',
          String(per),
          'bar',
          '789',
        ]);
      }
      url = next;
      hops++;
    }
    expect(hops).toBe(Math.ceil(want.size / per));
    const keys = seen.map(keyOf);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Map(seen.map((r) => [keyOf(r), r.volume]))).toEqual(want);
    const ts = seen.map((r) => r.timestamp);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
  });

  it('rows_per_page is clamped to 100 and defaults to 100', async () => {
    expect(want.size).toBeGreaterThan(100);
    const big = await get('rows_per_page=500');
    expect(((await big.json()) as unknown[]).length).toBe(100);
    expect(big.headers.get('x-link-count')).toBe(String(Math.ceil(want.size / 100)));
    const dflt = await get('');
    expect(((await dflt.json()) as unknown[]).length).toBe(100);
  });

  it('limit caps the rows considered before paging', async () => {
    const res = await get(`limit=10&rows_per_page=${per}`);
    expect(res.headers.get('x-link-count')).toBe('2');
    const p2 = (await (await get(`limit=10&rows_per_page=${per}&page=2`)).json()) as CategoryRow[];
    expect(p2).toHaveLength(3);
    expect((await get(`limit=10&rows_per_page=${per}&page=3`)).status).toBe(400);
  });

  it('order asc and desc are mirror images; anything else means desc', async () => {
    const asc = (await (await get('order=asc&rows_per_page=100')).json()) as CategoryRow[];
    const desc = (await (await get('order=desc&rows_per_page=100')).json()) as CategoryRow[];
    const other = (await (await get('order=sideways&rows_per_page=100')).json()) as CategoryRow[];
    expect(asc[0]?.timestamp).toBe(Math.min(...[...want.keys()].map((k) => Number(k.split('|')[0]))));
    expect(desc[0]?.timestamp).toBe(Math.max(...[...want.keys()].map((k) => Number(k.split('|')[0]))));
    expect(other).toEqual(desc);
  });

  it('start and stop take float epoch seconds and ISO-8601 (UTC without a zone), inclusive', async () => {
    const stamps = [...new Set([...want.keys()].map((k) => Number(k.split('|')[0])))].sort((a, b) => a - b);
    const lo = stamps[10] as number;
    const hi = stamps[30] as number;
    const inWindow = [...want.keys()].filter((k) => {
      const t = Number(k.split('|')[0]);
      return t >= lo && t <= hi;
    }).length;
    expect(inWindow).toBeLessThanOrEqual(100);
    const floats = (await (await get(`start=${lo - 0.5}&stop=${hi + 0.25}&rows_per_page=100`)).json()) as CategoryRow[];
    expect(floats).toHaveLength(inWindow);
    const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', '');
    const isoRows = (await (
      await get(`start=${iso(lo)}&stop=${encodeURIComponent(`${iso(hi)}+00:00`)}&rows_per_page=100`)
    ).json()) as CategoryRow[];
    expect(isoRows).toEqual(floats);
    // A zone other than UTC shifts the window: 01:00+01:00 is 00:00 UTC.
    const shifted = (await (
      await get(
        `start=${encodeURIComponent(`${new Date((lo + 3600) * 1000).toISOString().slice(0, 19)}+01:00`)}&stop=${hi}&rows_per_page=100`,
      )
    ).json()) as CategoryRow[];
    expect(shifted).toEqual(floats);
    // Day precision: a date alone is midnight UTC.
    const day = new Date(lo * 1000).toISOString().slice(0, 10);
    const dayRows = (await (
      await get(`start=${day}&stop=${Date.parse(`${day}T00:00:00Z`) / 1000 - 1}`)
    ).json()) as CategoryRow[];
    expect(dayRows).toEqual([]);
  });

  it('start and stop read a lowercase t and z (RFC 3339 5.6) as T and Z; an hour-only zone is a 400 naming the forms', async () => {
    const stamps = [...new Set([...want.keys()].map((k) => Number(k.split('|')[0])))].sort((a, b) => a - b);
    const lo = stamps[10] as number;
    const hi = stamps[30] as number;
    const floats = (await (await get(`start=${lo}&stop=${hi}&rows_per_page=100`)).json()) as CategoryRow[];
    expect(floats.length).toBeGreaterThan(0);
    const iso = (t: number) => new Date(t * 1000).toISOString();
    const lower = await get(`start=${iso(lo).toLowerCase()}&stop=${iso(hi).replace('Z', 'z')}&rows_per_page=100`);
    expect(lower.status).toBe(200);
    expect(await lower.json()).toEqual(floats);
    const hourOnly = await get(`start=${encodeURIComponent(`${iso(lo).slice(0, 19)}+01`)}`);
    expect(hourOnly.status).toBe(400);
    const body = (await hourOnly.json()) as { error: string; detail: string; parameter: string };
    expect(body).toMatchObject({ error: 'bad_parameter', parameter: 'start' });
    expect(body.detail).toMatch(/^parameter "start" ".*\+01": must be epoch seconds or an ISO-8601 date like /);
    expect(body.detail).toContain('2015-11-04T10:01:00Z, a zone written Z, +hh:mm or -hh:mm');
  });

  it("start and stop read a space for T, and a + left unescaped, as UTC and that zone whatever the server's time zone", async () => {
    const stamps = [...new Set([...want.keys()].map((k) => Number(k.split('|')[0])))].sort((a, b) => a - b);
    const lo = stamps[10] as number;
    const hi = stamps[30] as number;
    const floats = (await (await get(`start=${lo}&stop=${hi}&rows_per_page=100`)).json()) as CategoryRow[];
    expect(floats.length).toBeGreaterThan(0);
    const tz = process.env['TZ'];
    // Date.parse read '2015-11-04 10:01:00' in the server's zone: 5 hours off here.
    process.env['TZ'] = 'America/New_York';
    try {
      const spaced = new Date(lo * 1000).toISOString().slice(0, 19).replace('T', ' ');
      const shifted = new Date((hi + 3600) * 1000).toISOString().slice(0, 19);
      // `+01:00` unescaped in the URL arrives as ` 01:00`.
      const rows = (await (
        await get(`start=${encodeURIComponent(spaced)}&stop=${shifted}+01:00&rows_per_page=100`)
      ).json()) as CategoryRow[];
      expect(rows).toEqual(floats);
    } finally {
      if (tz === undefined) delete process.env['TZ'];
      else process.env['TZ'] = tz;
    }
  });

  it('the default stop includes the bucket in progress (now + interval)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const minute = await fetch(`${s.base}/api/volume-1m?rows_per_page=1`);
    const [newest] = (await minute.json()) as { timestamp: number }[];
    // The newest minute bucket (stamped with its end, usually still in the future) is served.
    expect(newest?.timestamp).toBe((Math.floor(newestMessage / 60) + 1) * 60);
    const explicit = (await (await fetch(`${s.base}/api/volume-1m?rows_per_page=1&stop=${now - 120}`)).json()) as {
      timestamp: number;
    }[];
    expect(explicit[0]?.timestamp).toBeLessThanOrEqual(now - 120);
  });
});
