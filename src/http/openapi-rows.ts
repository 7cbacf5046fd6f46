/** OpenAPI paths of the rows API: `/api/`, each plugin's `/api/<ident>` and its layout. */
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { parametersOf } from './discovery.js';
import { type Json, formats, queryParam, ref } from './openapi-shared.js';
import { commonParams } from './param-docs.js';
import { MAX_ROWS_PER_PAGE } from './query-params.js';

function rowSchema(runtime: PluginRuntime): Json {
  const columns = runtime.plugin.definition.columns as readonly string[];
  return {
    type: 'object',
    required: ['timestamp', ...columns],
    properties: {
      timestamp: { type: 'number', description: 'epoch seconds, UTC; the END of the bucket for bucketed plugins' },
      ...Object.fromEntries(columns.map((c) => [c, {}])),
    },
  };
}

function rowsPath(runtime: PluginRuntime): Json {
  const def = runtime.plugin.definition;
  const own = parametersOf(runtime).filter((p) => p.scope === 'plugin');
  return {
    get: {
      operationId: `rows:${runtime.ident}`,
      tags: ['rows'],
      summary: def.summary,
      description: `${def.description}\n\nOne page of rows, newest first by default. Paging headers are GitHub-style; \`stop\` defaults to now plus the plugin's interval because rows are stamped with the end of their bucket.`,
      parameters: [
        ...commonParams().map((p) => ref('parameters', p.name)),
        ...own.map(queryParam),
        ref('parameters', 'If-None-Match'),
      ],
      responses: {
        '200': {
          description: 'one page of rows',
          headers: {
            Link: ref('headers', 'Link'),
            'X-Link-Number': ref('headers', 'X-Link-Number'),
            'X-Link-Count': ref('headers', 'X-Link-Count'),
            ETag: ref('headers', 'ETag'),
          },
          content: formats({ type: 'array', maxItems: MAX_ROWS_PER_PAGE, items: rowSchema(runtime) }, true),
        },
        '304': ref('responses', 'NotModified'),
        '400': ref('responses', 'BadParameter'),
        '406': ref('responses', 'NotAcceptable'),
        ...(def.view !== undefined ? { '500': ref('responses', 'ViewHung') } : {}),
      },
    },
  };
}

function layoutPath(runtime: PluginRuntime): Json {
  return {
    get: {
      operationId: `layout:${runtime.ident}`,
      tags: ['rows'],
      summary: `Dashboard layout of ${runtime.plugin.definition.name}`,
      parameters: [ref('parameters', 'callback'), ref('parameters', 'If-None-Match')],
      responses: {
        '200': {
          description: 'the layout object',
          headers: { ETag: ref('headers', 'ETag') },
          content: formats({ type: 'object' }, false),
        },
        '304': ref('responses', 'NotModified'),
        '400': ref('responses', 'BadParameter'),
        '406': ref('responses', 'NotAcceptable'),
      },
    },
  };
}

function identsPath(idents: readonly string[]): Json {
  return {
    get: {
      operationId: 'idents',
      tags: ['rows'],
      summary: 'Every plugin ident',
      description:
        'A bare JSON array of idents (old clients depend on it); CSV answers one ident per line. `GET /plugins` describes each plugin.',
      parameters: [ref('parameters', 'callback'), ref('parameters', 'If-None-Match')],
      responses: {
        '200': {
          description: 'the idents',
          headers: { ETag: ref('headers', 'ETag') },
          content: formats({ type: 'array', items: { type: 'string', enum: idents } }, true),
        },
        '304': ref('responses', 'NotModified'),
        '400': ref('responses', 'BadParameter'),
        '406': ref('responses', 'NotAcceptable'),
      },
    },
  };
}

/** `/api/`, then each plugin's rows and (when it has one) layout, in load order. */
export function rowsPaths(host: PluginHost): Json {
  const paths: Json = { '/api/': identsPath(host.idents) };
  for (const runtime of host.runtimes) {
    paths[`/api/${runtime.ident}`] = rowsPath(runtime);
    if (runtime.plugin.definition.layout !== undefined) paths[`/api/${runtime.ident}/layout`] = layoutPath(runtime);
  }
  return paths;
}
