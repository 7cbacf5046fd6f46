/** OpenAPI paths of the datagrepper-compatible history: `/raw` and `/id`. */
import { type Json, jsonContent } from './openapi-shared.js';

const q = (name: string, description: string, schema: Json = { type: 'string' }, explode = false): Json => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: explode ? { type: 'array', items: schema } : schema,
  ...(explode ? { style: 'form', explode: true } : {}),
});
const filters = ['user', 'package', 'category', 'topic', 'agent'].flatMap((f) => [
  q(f, `only messages with this ${f} (repeatable: any of them)`, { type: 'string' }, true),
  q(`not_${f}`, `no messages with this ${f} (repeatable)`, { type: 'string' }, true),
]);

export function historyPaths(): Json {
  return {
    '/raw': {
      get: {
        operationId: 'raw',
        tags: ['history'],
        summary: 'Bus history from the journal (datagrepper-compatible)',
        description:
          "datagrepper's `/raw`: the time window (`start`, `end`, `delta`; epoch seconds or ISO-8601 UTC), filters (OR within a kind, AND across kinds), paging and order, answered from this instance's journal (as far back as its retention), so another statscache can use it as `--datagrepper`.",
        parameters: [
          q('start', 'window start', { type: ['number', 'string'] }),
          q('end', 'window end', { type: ['number', 'string'] }),
          q('delta', 'window length in seconds', { type: 'number' }),
          ...filters,
          q('contains', 'substring of the message JSON (repeatable)', { type: 'string' }, true),
          q('page', '1-based page', { type: 'integer', minimum: 1 }),
          q('rows_per_page', 'page size (default 25, at most 100)', { type: 'integer', minimum: 1, maximum: 100 }),
          q('order', '`asc` or `desc` by timestamp (default desc)', { enum: ['asc', 'desc'] }),
          q(
            'meta',
            'add a meta object: title, subtitle, icon, secondary_icon, link, usernames, packages, objects, date (repeatable)',
            { type: 'string' },
            true,
          ),
          q('callback', 'JSON-P function name'),
          q('grouped', 'accepted for compatibility, ignored'),
        ],
        responses: {
          '200': {
            description: '`{raw_messages, total, pages, count, arguments}`',
            content: {
              'application/json': jsonContent({
                type: 'object',
                required: ['raw_messages', 'total', 'pages', 'count', 'arguments'],
              }),
            },
          },
          '400': {
            description: 'a bad parameter: `{error: "bad_parameter", detail, parameter, arguments}`',
            content: { 'application/json': jsonContent({ type: 'object' }) },
          },
        },
      },
    },
    '/id': {
      get: {
        operationId: 'rawById',
        tags: ['history'],
        summary: 'One message by msg_id',
        parameters: [
          { ...q('id', 'the msg_id'), required: true },
          q('meta', 'as for /raw', { type: 'string' }, true),
          q('callback', 'JSON-P function name'),
        ],
        responses: {
          '200': { description: 'the envelope', content: { 'application/json': jsonContent({ type: 'object' }) } },
          '400': { description: 'no id' },
          '404': { description: 'not in the journal' },
        },
      },
    },
  };
}
