import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { ECHO_MAX_CHARS } from '../../src/http/responses.js';
import { serve, type Served } from './harness.js';
import { probePlugin } from './probe-plugin.js';

/**
 * An error body names the parameter and the value at fault ({error, detail}). /api echoed the
 * value whole: a client sending a 60 KB parameter got 60 KB back in the 400 (reflection, an
 * amplifier for whoever forges the link, and the log lines that carry the detail), while other
 * routes cut at 100 or 200 characters, each its own way. Every route now quotes a client's
 * value through one bound (responses.ts quoted): its first ECHO_MAX_CHARS characters, then how
 * long it was. The error codes and the parameter named are unchanged. Over the real server.
 */
describe('error bodies echo at most ECHO_MAX_CHARS characters of a bad value', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve([...builtinPlugins(), probePlugin()]);
  });
  afterAll(async () => s?.close());

  const LENGTH = 60_000;
  // Refused by each parameter's rule (not a number, not an order, not an identifier path).
  const long = 'z'.repeat(LENGTH);
  const echoed = `"${'z'.repeat(ECHO_MAX_CHARS)}"… (${LENGTH} characters)`;

  const refused = async (path: string) => {
    const res = await fetch(`${s.base}${path}`);
    const text = await res.text();
    return { status: res.status, bytes: text.length, body: JSON.parse(text) as { error: string; detail: string } };
  };

  it('/api: a plugin parameter, a common one and the callback, each named, the value cut', async () => {
    for (const param of ['start', 'page', 'rows_per_page', 'min_length', 'callback']) {
      const r = await refused(`/api/layout-probe?${param}=${long}`);
      expect({ param, status: r.status, error: r.body.error }).toEqual({ param, status: 400, error: 'bad_parameter' });
      expect(r.body.detail).toContain(`parameter "${param}" ${echoed}`);
      expect(r.bytes).toBeLessThan(1000);
    }
  });

  it('/api: an unknown ident is cut the same way', async () => {
    const r = await refused(`/api/${long}`);
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('unknown_ident');
    expect(r.body.detail).toBe(`no plugin with ident ${echoed}; GET /api/ lists them`);
  });

  it('/raw and /id: the value cut the same way', async () => {
    for (const param of ['order', 'delta', 'rows_per_page']) {
      const r = await refused(`/raw?${param}=${long}`);
      expect({ param, status: r.status, error: r.body.error }).toEqual({ param, status: 400, error: 'bad_parameter' });
      expect(r.body.detail).toContain(`parameter "${param}" ${echoed}`);
      expect(r.bytes).toBeLessThan(1000);
    }
    const id = await refused(`/id?id=${long}`);
    expect(id.status).toBe(404);
    expect(id.body.detail).toBe(`no message with id ${echoed} in the journal`);
  });

  it('a value at the bound is echoed whole, and one a character past it is cut', async () => {
    const at = 'z'.repeat(ECHO_MAX_CHARS);
    expect((await refused(`/api/volume-1m?page=${at}`)).body.detail).toContain(`parameter "page" "${at}": `);
    expect((await refused(`/api/volume-1m?page=${at}z`)).body.detail).toContain(
      `parameter "page" "${at}"… (${ECHO_MAX_CHARS + 1} characters): `,
    );
  });
});
