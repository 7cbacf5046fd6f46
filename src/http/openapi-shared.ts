/** Building blocks every part of the OpenAPI document uses: references, media types, parameters. */
import type { ParamDoc } from './param-docs.js';

export type Json = Record<string, unknown>;

export const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
export const jsonContent = (schema: unknown) => ({ schema });

/** The same media types and bodies for JSON, JSON-P and (where offered) CSV. */
export function formats(schema: Json, csv: boolean): Json {
  const out: Json = {
    'application/json': jsonContent(schema),
    'text/json': jsonContent(schema),
    'application/javascript': {
      schema: { type: 'string', description: 'JSON-P: `<callback>(<json>)` when `callback` is given' },
    },
    'text/javascript': { schema: { type: 'string' } },
  };
  if (csv) {
    out['text/csv'] = {
      schema: {
        type: 'string',
        description: 'header `timestamp,<other columns sorted>`, then one quoted line per row',
      },
    };
    out['application/csv'] = { schema: { type: 'string' } };
  }
  return out;
}

export const queryParam = (p: ParamDoc): Json => ({
  name: p.name,
  in: 'query',
  required: false,
  description: p.description,
  schema: p.schema,
});

/** A GET route with no parameters. */
export const simple = (
  operationId: string,
  tag: string,
  summary: string,
  description: string,
  responses: Json,
): Json => ({
  get: { operationId, tags: [tag], summary, description, responses },
});
