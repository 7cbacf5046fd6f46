import { compileErrors, validate } from '@readme/openapi-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { fedWithSamples, serve, type Served } from './harness.js';
import { probePlugin } from './probe-plugin.js';

type Info = {
  ident: string;
  name: string;
  summary: string;
  description: string;
  interval: { seconds: number; spelled: string } | null;
  columns: string[];
  key: string[];
  parameters: { name: string; scope: string; description: string; schema: Record<string, unknown> }[];
  formats: string[];
  has_layout: boolean;
  rows: number;
  last_update: number | null;
  links: { rows: string; layout: string | null; stream: string; websocket: string };
};

const COMMON = ['order', 'limit', 'start', 'stop', 'page', 'rows_per_page', 'callback'];

describe('GET /plugins and GET /openapi.json', () => {
  let s: Served;
  let envelopes: RawEnvelope[] = [];
  const defs = [...builtinPlugins(), probePlugin()];
  beforeAll(async () => {
    s = await serve(defs);
    envelopes = await fedWithSamples(s);
  });
  afterAll(async () => s?.close());

  it('describes every plugin: definition, parameters, formats, live row count, last update and working links', async () => {
    const res = await fetch(`${s.base}/plugins`);
    expect(res.status).toBe(200);
    const { plugins } = (await res.json()) as { plugins: Info[] };
    expect(plugins.map((p) => p.ident)).toEqual((await (await fetch(`${s.base}/api/`)).json()) as string[]);
    for (const [i, p] of plugins.entries()) {
      const def = defs[i] as unknown as {
        name: string;
        summary: string;
        description: string;
        columns: string[];
        key: string[];
        topics?: string[];
        layout?: unknown;
        params?: Record<string, { description: string }>;
      };
      expect([p.name, p.summary, p.description, p.columns, p.key]).toEqual([
        def.name,
        def.summary,
        def.description,
        def.columns,
        def.key,
      ]);
      if (p.interval !== null) expect(p.ident.endsWith(`-${p.interval.spelled}`)).toBe(true);
      expect(p.has_layout).toBe(def.layout !== undefined);
      expect(p.parameters.filter((q) => q.scope === 'common').map((q) => q.name)).toEqual(
        expect.arrayContaining(COMMON),
      );
      expect(p.parameters.filter((q) => q.scope === 'plugin').map((q) => [q.name, q.description])).toEqual(
        Object.entries(def.params ?? {}).map(([n, spec]) => [n, spec.description]),
      );
      expect(p.formats).toEqual(expect.arrayContaining(['application/json', 'application/javascript', 'text/csv']));
      // The newest message among those the plugin's topic prefixes select.
      const prefixes = def.topics ?? [''];
      const mine = envelopes
        .filter((e) => prefixes.some((t) => e.topic.startsWith(t)))
        .map((e) => e.timestamp as number);
      expect(p.last_update, p.ident).toBe(mine.length === 0 ? null : Math.max(...mine));
      // The row count is what paging the view reports.
      const view = await fetch(`${s.base}${p.links.rows}?rows_per_page=100`);
      expect(view.status).toBe(200);
      const pages = Number(view.headers.get('x-link-count'));
      const last = await fetch(`${s.base}${p.links.rows}?rows_per_page=100&page=${pages}`);
      expect(p.rows, p.ident).toBe((pages - 1) * 100 + ((await last.json()) as unknown[]).length);
      if (p.links.layout !== null) expect((await fetch(`${s.base}${p.links.layout}`)).status).toBe(200);
    }
    const rpp = plugins[0]?.parameters.find((q) => q.name === 'rows_per_page');
    expect(rpp?.schema).toMatchObject({ type: 'integer', minimum: 1, default: 100 });
    const minLength = plugins.at(-1)?.parameters.find((q) => q.name === 'min_length');
    expect(minLength?.schema).toMatchObject({ type: 'integer', minimum: 1 });
  });

  it('is a valid OpenAPI 3.1 document describing every route and every plugin', async () => {
    const res = await fetch(`${s.base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as OpenAPIV3_1.Document;
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    const paths = Object.keys(doc.paths ?? {});
    for (const route of [
      '/api/',
      '/plugins',
      '/openapi.json',
      '/healthz',
      '/readyz',
      '/metrics',
      '/ws',
      '/api/{ident}/stream',
      '/',
      '/dashboard',
    ])
      expect(paths).toContain(route);
    for (const ident of s.service.host.idents) expect(paths).toContain(`/api/${ident}`);
    expect(paths).toContain('/api/layout-probe/layout');
    expect(paths).not.toContain('/api/volume-1m/layout');

    // Parameters come from the validating schemas: the documented bounds hold on the server.
    const op = doc.paths?.['/api/layout-probe']?.get as OpenAPIV3_1.OperationObject;
    const names = (op.parameters ?? []).map((p) => ('$ref' in p ? p.$ref.split('/').pop() : p.name));
    expect(names).toEqual(expect.arrayContaining([...COMMON, 'category', 'min_length']));
    const rows = doc.components?.parameters?.['rows_per_page'] as OpenAPIV3_1.ParameterObject;
    expect(rows.schema).toMatchObject({ type: 'integer', minimum: 1 });
    expect(
      (await fetch(`${s.base}/api/volume-1m?rows_per_page=${(rows.schema as { minimum: number }).minimum - 1}`)).status,
    ).toBe(400);
    const stop = doc.components?.parameters?.['stop'] as OpenAPIV3_1.ParameterObject;
    expect(stop.description).toContain('END of their bucket');
    const callback = doc.components?.parameters?.['callback'] as OpenAPIV3_1.ParameterObject;
    const pattern = new RegExp((callback.schema as { pattern: string }).pattern);
    expect(pattern.test('jQuery123_456')).toBe(true);
    expect(pattern.test('alert(1)//')).toBe(false);
  });
});
