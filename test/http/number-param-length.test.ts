import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { isDecimal, MAX_NUMBER_CHARS } from '../../src/http/query-params.js';
import { serve, type Served } from './harness.js';
import { probePlugin } from './probe-plugin.js';

/**
 * Number and time parameters have a length bound (MAX_NUMBER_CHARS), over the real server.
 * Unbounded, a value as long as the URL was checked in full, and the decimal pattern then
 * backtracked quadratically: `/raw?delta=` of 60,000 digits and a letter held the event loop
 * ~5 s (and /healthz with it).
 */
describe('number and time parameters: at most MAX_NUMBER_CHARS characters', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve([...builtinPlugins(), probePlugin()]);
  });
  afterAll(async () => s?.close());

  // Valid decimals of an exact length: 1446631260 then a fraction of zeros.
  const decimal = (length: number) => `1446631260.${'0'.repeat(length - 11)}`;
  const cases: [path: string, param: string][] = [
    ['/api/volume-1m', 'start'],
    ['/api/volume-1m', 'stop'],
    ['/api/layout-probe', 'min_length'],
    ['/raw', 'start'],
    ['/raw', 'end'],
    ['/raw', 'delta'],
  ];

  it('a value one past the bound is a 400 naming the parameter; one at the bound is read', async () => {
    expect(decimal(MAX_NUMBER_CHARS)).toHaveLength(MAX_NUMBER_CHARS);
    for (const [path, param] of cases) {
      // min_length is an integer: its longest form is digits (leading zeros).
      const at = param === 'min_length' ? `${'0'.repeat(MAX_NUMBER_CHARS - 1)}1` : decimal(MAX_NUMBER_CHARS);
      const past = `0${at}`;
      const ok = await fetch(`${s.base}${path}?${param}=${at}`);
      expect({ path, param, status: ok.status }).toEqual({ path, param, status: 200 });
      await ok.arrayBuffer();
      const res = await fetch(`${s.base}${path}?${param}=${past}`);
      const body = (await res.json()) as { error: string; detail: string };
      expect({ path, param, status: res.status, error: body.error }).toEqual({
        path,
        param,
        status: 400,
        error: 'bad_parameter',
      });
      expect(body.detail).toContain(`"${param}"`);
      expect(body.detail).toContain(`at most ${MAX_NUMBER_CHARS}`);
    }
  });

  it('the hostile shape (40,000 digits and a letter) is refused the same way', async () => {
    const hostile = `${'1'.repeat(40_000)}x`;
    for (const [path, param] of [
      ['/raw', 'delta'],
      ['/api/volume-1m', 'start'],
    ] as const) {
      const res = await fetch(`${s.base}${path}?${param}=${hostile}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toContain(`at most ${MAX_NUMBER_CHARS}`);
    }
  });

  it('the decimal pattern reads the same numbers as before its rewrite', () => {
    for (const yes of ['1', '1.', '1.5', '.5', '+1', '-0', '1e3', '1.5E-3', '.5e+2', '007'])
      expect(isDecimal(yes), yes).toBe(true);
    for (const no of ['', '.', '1..2', '1.2.3', 'e5', '1e', '0x10', '0b11', '1_000', ' 1', 'Infinity', '--1', '1.e'])
      expect(isDecimal(no), no).toBe(false);
  });
});
