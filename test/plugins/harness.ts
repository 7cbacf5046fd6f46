/**
 * Drives plugins in-process the way the service does (router → createPluginMessage with the
 * real meta deriver → one XState actor per plugin), and reads them through queryView.
 */
import { PluginHost } from '../../actors/plugin-host.js';
import type { AnyPluginDefinition, PluginMessage, Row } from '../../actors/plugin-api.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { registerPlugins, type RegisteredPlugin } from '../../actors/registry.js';
import { queryView } from '../../actors/view-query.js';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { createRouter } from '../../src/router.js';
import { samples, type RawEnvelope } from '../helpers/fixtures.js';

export interface Harness {
  readonly host: PluginHost;
  readonly errors: { ident: string; error: unknown }[];
  /** Routes and applies envelopes, in order. */
  feed(envelopes: readonly RawEnvelope[]): void;
  /** Sends an already-built message to every plugin its topic routes to. */
  send(message: PluginMessage): void;
  rt(ident: string): PluginRuntime;
  stop(): void;
}

export function harness(definitions: readonly unknown[]): Harness {
  const errors: { ident: string; error: unknown }[] = [];
  const plugins = registerPlugins(definitions);
  const host = new PluginHost(plugins, (ident, error) => errors.push({ ident, error }));
  const route = createRouter(plugins);
  return {
    host,
    errors,
    feed(envelopes) {
      for (const e of envelopes) {
        const targets = route(e.topic);
        if (targets.length > 0) host.dispatch(createPluginMessage(e as unknown as Envelope, deriveMeta), targets);
      }
    },
    send(message) {
      host.dispatch(message, route(message.topic));
    },
    rt(ident) {
      const r = host.get(ident);
      if (!r) throw new Error(`no plugin ${ident}; have ${host.idents.join(', ')}`);
      return r;
    },
    stop: () => host.stop(),
  };
}

/** Every row of a view (all pages), newest first unless told otherwise. */
export function rowsOf(rt: PluginRuntime, params: Record<string, unknown> = {}, order: 'asc' | 'desc' = 'desc'): Row[] {
  const out: Row[] = [];
  for (let page = 1; ; page++) {
    const p = queryView(rt, { order, page, rowsPerPage: 100, params });
    out.push(...p.rows);
    if (page >= p.pages) return out;
  }
}

/** Sample lines by 1-based line number, as `sed -n Np` shows them. */
export function lines(...numbers: number[]): RawEnvelope[] {
  const all = samples();
  return numbers.map((n) => {
    const e = all[n - 1];
    if (!e) throw new Error(`samples.jsonl has no line ${n}`);
    return e;
  });
}

/** The samples whose topic matches. */
export function samplesWhere(test: (e: RawEnvelope) => boolean): RawEnvelope[] {
  return samples().filter(test);
}

/**
 * Query cases for a plugin: no parameters, then each declared parameter alone with values
 * that select something (taken from the rows when the parameter names a column).
 */
export function paramCases(plugin: RegisteredPlugin, rows: readonly Row[]): Record<string, unknown>[] {
  const cases: Record<string, unknown>[] = [{}];
  for (const [name, spec] of Object.entries(plugin.params)) {
    if (spec.type === 'string') {
      if (spec.enum) for (const v of spec.enum) cases.push({ [name]: v });
      else {
        const seen = rows
          .map((r) => (r as unknown as Record<string, unknown>)[name])
          .find((v) => typeof v === 'string');
        cases.push({ [name]: typeof seen === 'string' ? seen : 'nobody-has-this' });
        if (name === 'prefix') cases.push({ [name]: 'org.fedoraproject.prod.' });
      }
    } else if (spec.type === 'boolean') {
      cases.push({ [name]: true }, { [name]: false });
    } else {
      const lo = spec.min ?? 0;
      cases.push({ [name]: lo }, { [name]: Math.min(spec.max ?? lo + 3, lo + 3) });
    }
  }
  // All parameters at once (e.g. a calendar's user with days).
  if (cases.length > 2) cases.push(Object.assign({}, ...cases.slice(1).reverse()) as Record<string, unknown>);
  return cases;
}

export type { AnyPluginDefinition };
