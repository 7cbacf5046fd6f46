import * as z from 'zod';
import { viewParamsSchema } from './query-params.js';

/** One query parameter as discovery, OpenAPI and the docs page show it. */
export interface ParamDoc {
  readonly name: string;
  /** `common` for the API's own parameters, `plugin` for the plugin's. */
  readonly scope: 'common' | 'plugin';
  readonly description: string;
  /** JSON Schema (draft 2020-12) of the parsed value. */
  readonly schema: Record<string, unknown>;
}

/**
 * The JSON Schema of one parameter's parsed value, generated from the zod schema that
 * validates it, so documentation cannot drift from validation.
 */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      // A value written several ways (epoch seconds or ISO) lists them in anyOf; the parsed type would contradict it.
      if (Array.isArray(jsonSchema.anyOf) && jsonSchema.type !== undefined) delete jsonSchema.type;
    },
  }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}

/** Parameter documents for every key of a zod object schema, in declaration order. */
export function paramDocs(schema: z.ZodObject, scope: ParamDoc['scope']): ParamDoc[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const json = jsonSchemaOf(field as z.ZodType);
    const description = typeof json['description'] === 'string' ? json['description'] : '';
    delete json['description'];
    return { name, scope, description, schema: json };
  });
}

let common: readonly ParamDoc[] | undefined;
/**
 * The API's own view parameters, computed on first use and kept: at module load, their JSON
 * Schemas cost ~10-20 ms of every start for the documents and pages that show them.
 */
export const commonParams = (): readonly ParamDoc[] => (common ??= paramDocs(viewParamsSchema, 'common'));

/** A short type label for tables: `integer ≥ 1`, `number | date-time`, `asc|desc`… */
export function typeLabel(schema: Readonly<Record<string, unknown>>): string {
  if (Array.isArray(schema['enum'])) return (schema['enum'] as unknown[]).map(String).join(' | ');
  if (Array.isArray(schema['anyOf'])) {
    return (schema['anyOf'] as Record<string, unknown>[])
      .map((s) => (typeof s['format'] === 'string' ? s['format'] : String(s['type'])))
      .join(' | ');
  }
  const type = String(schema['type'] ?? 'any');
  const min = schema['minimum'];
  return typeof min === 'number' ? `${type} ≥ ${min}` : type;
}
