import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { discoverySchema, parametersOf, pluginInfoSchema } from './discovery.js';
import { COMMON_PARAMS, jsonSchemaOf, type ParamDoc } from './param-docs.js';
import { MAX_ROWS_PER_PAGE } from './query-params.js';
import { errorBodySchema } from './responses.js';

type Json = Record<string, unknown>;

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
const jsonContent = (schema: unknown) => ({ schema });

/** The same media types and bodies for JSON, JSON-P and (where offered) CSV. */
function formats(schema: Json, csv: boolean): Json {
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

const queryParam = (p: ParamDoc): Json => ({
  name: p.name,
  in: 'query',
  required: false,
  description: p.description,
  schema: p.schema,
});

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
        ...COMMON_PARAMS.map((p) => ref('parameters', p.name)),
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

const simple = (operationId: string, tag: string, summary: string, description: string, responses: Json): Json => ({
  get: { operationId, tags: [tag], summary, description, responses },
});

/** OpenAPI 3.1 of every route; parameter and body schemas come from the zod schemas that validate them. */
export function buildOpenApi(host: PluginHost): Json {
  const idents = host.idents;
  const paths: Json = {
    '/api/': {
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
    },
  };
  for (const runtime of host.runtimes) {
    paths[`/api/${runtime.ident}`] = rowsPath(runtime);
    if (runtime.plugin.definition.layout !== undefined) paths[`/api/${runtime.ident}/layout`] = layoutPath(runtime);
  }
  paths['/api/{ident}/stream'] = {
    get: {
      operationId: 'stream',
      tags: ['live'],
      summary: 'Row updates as Server-Sent Events',
      description:
        "An `text/event-stream` of the plugin's row changes: the current newest rows first, then coalesced updates carrying the changed rows and a sequence number, like the WebSocket frames. " +
        "It takes the view parameters of `/api/<ident>`, the plugin's own ones included (see that path), validated the same way; `callback` and `_` mean nothing here.",
      parameters: [
        { name: 'ident', in: 'path', required: true, schema: { type: 'string', enum: idents } },
        // The stream validates these as the rows route does (ws-view-spec.ts); they were undocumented here.
        ...COMMON_PARAMS.filter((p) => p.name !== 'callback' && p.name !== '_').map((p) => ref('parameters', p.name)),
        {
          name: 'Last-Event-ID',
          in: 'header',
          required: false,
          description:
            'the `id:` of the last event received (`<epoch>:<seq>`): the stream resumes after it when the server still holds what followed, else starts with a snapshot',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        '400': ref('responses', 'BadParameter'),
        '404': ref('responses', 'NotFound'),
      },
    },
  };
  paths['/ws'] = simple(
    'websocket',
    'live',
    'WebSocket of live row updates',
    'Upgrade to a WebSocket. The server sends `{"type":"hello","epoch","tickMs","limits"}`. Send `{"op":"subscribe","ident":"<ident>","params":{…}}` ' +
      '(params: the view parameters of `/api/<ident>`, optional): the server answers a `snapshot` frame (`{"type":"snapshot","ident","view","seq","key","rows",…}`, newest rows first), ' +
      'then `update` frames (`{"type":"update","ident","view","seq","rows","removed"}` with the rows that changed and the keys of removed rows; `seq` grows by one per update). ' +
      '`{"op":"unsubscribe","ident"}` stops them; `{"op":"ping"}` gets a `pong`. An optional `id` is echoed back. Errors come as `{"type":"error","error","detail"}`.',
    { '101': { description: 'switching protocols to WebSocket' }, '404': ref('responses', 'NotFound') },
  );
  paths['/plugins'] = simple(
    'plugins',
    'discovery',
    'Every plugin described',
    'Ident, name, summary, description, interval, columns, key, query parameters with their JSON Schemas, formats, layout, row count, last update and links.',
    {
      '200': {
        description: 'the plugins',
        headers: { ETag: ref('headers', 'ETag') },
        content: { 'application/json': jsonContent(ref('schemas', 'Discovery')) },
      },
      '304': ref('responses', 'NotModified'),
      '406': ref('responses', 'NotAcceptable'),
    },
  );
  paths['/openapi.json'] = simple(
    'openapi',
    'discovery',
    'This document',
    'OpenAPI 3.1, generated at start-up from the schemas that validate the parameters.',
    {
      '200': { description: 'the OpenAPI document', content: { 'application/json': jsonContent({ type: 'object' }) } },
    },
  );
  paths['/healthz'] = simple(
    'healthz',
    'operations',
    'Liveness',
    '200 while the process serves HTTP and consumes the bus, with the lifecycle phase and whether uWebSockets.js runs natively (phase `starting` while `serve` loads plugins, checks the data file and restores, before this document is served); 503 once a bus receive loop has ended or the bus thread is stuck (the process then exits 1).',
    {
      '200': {
        description: 'alive',
        content: {
          'application/json': jsonContent({
            type: 'object',
            required: ['status'],
            properties: {
              status: { const: 'ok' },
              phase: { type: 'string' },
              uws_native: { type: ['boolean', 'null'] },
            },
          }),
        },
      },
      '503': {
        description: 'intake has stopped',
        content: {
          'application/json': jsonContent({
            type: 'object',
            required: ['status', 'reason'],
            properties: { status: { const: 'failing' }, reason: { type: 'string' }, phase: { type: 'string' } },
          }),
        },
      },
    },
  );
  const endpoints = {
    type: 'array',
    description: 'each --connect endpoint of the bus',
    items: {
      type: 'object',
      required: ['endpoint', 'state', 'lastError'],
      properties: {
        endpoint: { type: 'string' },
        state: { enum: ['connecting', 'connected', 'retrying', 'unresolved', 'disconnected'] },
        lastError: { type: ['string', 'null'] },
        since: { type: 'string', format: 'date-time' },
        retries: { type: 'integer' },
      },
    },
  };
  // With --amqp: each input's state; a down input degrades, it does not unready (README).
  const amqp: Json = {
    type: 'array',
    description: 'each --amqp input',
    items: {
      type: 'object',
      properties: {
        input: { type: 'string', description: 'the broker URL without credentials' },
        state: { enum: ['connecting', 'consuming', 'blocked', 'closed'] },
        reason: { type: ['string', 'null'] },
        since: { type: 'string', format: 'date-time' },
        queue: { type: ['string', 'null'] },
        durable_queue: { type: 'boolean' },
        deliveries: { type: 'integer' },
        acked: { type: 'integer' },
      },
    },
  };
  paths['/readyz'] = simple(
    'readyz',
    'operations',
    'Readiness',
    '200 once state is restored and the bus is consumed (at most --ready-timeout seconds of waiting for the history), with a `degraded` reason when ready but not fully trustworthy; 503 with the reason otherwise.',
    {
      '200': {
        description: 'ready',
        content: {
          'application/json': jsonContent({
            type: 'object',
            properties: {
              status: { const: 'ready' },
              degraded: {
                type: 'string',
                description:
                  'why the answers may be incomplete: history slow or down, a gap being backfilled, a bus endpoint not connected, an AMQP input not consuming',
              },
              endpoints,
              amqp,
            },
          }),
        },
      },
      '503': {
        description: 'not ready',
        content: {
          'application/json': jsonContent({
            type: 'object',
            required: ['status', 'reason'],
            properties: { status: { const: 'not_ready' }, reason: { type: 'string' }, endpoints, amqp },
          }),
        },
      },
    },
  );
  paths['/metrics'] = simple(
    'metrics',
    'operations',
    'Prometheus metrics',
    'Messages received/applied/dropped per plugin, bus decode errors, snapshot duration and size, HTTP requests by route and status, WebSocket clients, event-loop lag.',
    {
      '200': {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  );
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
  paths['/raw'] = {
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
          description: 'a bad parameter, named in `error`/`detail`',
          content: { 'application/json': jsonContent({ type: 'object' }) },
        },
      },
    },
  };
  paths['/id'] = {
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
  };
  paths['/admin/snapshot'] = {
    post: {
      operationId: 'takeSnapshot',
      tags: ['operations'],
      summary: 'Take a snapshot now',
      description:
        'Needs `Authorization: Bearer <adminToken>` (config `adminToken`); answers 404 when no token is configured. `statscache snapshot take` calls it.',
      responses: {
        '200': {
          description:
            'the snapshot report (generation, slot, journalSeq; written, removed and bytes: what this snapshot wrote; generationEntries and generationBytes: the whole generation as `snapshot list` sizes it…)',
          content: { 'application/json': jsonContent({ type: 'object' }) },
        },
        '401': { description: 'missing or wrong token' },
        '404': { description: 'admin routes disabled' },
      },
    },
  };
  paths['/admin/export'] = {
    get: {
      operationId: 'exportSnapshot',
      tags: ['operations'],
      summary: 'The newest snapshot generation as an export file',
      description:
        'The file `statscache snapshot export` writes (header with the SHA-256 of the payload, then the state and the journal tail); `--bootstrap <peer url>` pulls it. Needs `Authorization: Bearer <adminToken>`; answers 404 when no token is configured.',
      responses: {
        '200': {
          description: 'the export file',
          content: { 'application/vnd.statscache.snapshot': { schema: { type: 'string', format: 'binary' } } },
        },
        '401': { description: 'missing or wrong token' },
        '404': { description: 'admin routes disabled' },
        '503': { description: 'no snapshot generation yet (POST /admin/snapshot takes one)' },
      },
    },
  };
  paths['/'] = simple(
    'docs',
    'pages',
    'Documentation page',
    'What statscache is, its plugins, routes and parameters with working examples.',
    { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  );
  paths['/dashboard'] = simple(
    'dashboard',
    'pages',
    'Live dashboard',
    'The newest rows of every plugin, updated over the WebSocket.',
    { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  );

  const parameters: Json = Object.fromEntries(COMMON_PARAMS.map((p) => [p.name, queryParam(p)]));
  parameters['If-None-Match'] = {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'an ETag from an earlier answer (weak or strong, a list, or `*`): 304 when it still matches',
    schema: { type: 'string' },
  };
  const error = (description: string) => ({
    description,
    content: { 'application/json': jsonContent(ref('schemas', 'Error')) },
  });

  return {
    openapi: '3.1.0',
    info: {
      title: 'statscache',
      version: '0.1.0',
      description:
        'Live statistics from the Fedora fedmsg bus. Each plugin folds bus messages into rows (`timestamp` plus its columns); `/api/<ident>` pages them. ' +
        'Answers carry CORS headers, an ETag (If-None-Match gives 304) and are gzip-compressed when the client accepts it; they vary by Accept and Accept-Encoding.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'rows', description: 'The statscache API (compatible with the original)' },
      { name: 'live', description: 'Pushed updates' },
      { name: 'discovery', description: 'What the service offers' },
      { name: 'operations', description: 'Health and metrics' },
      { name: 'pages', description: 'HTML for people' },
    ],
    paths,
    components: {
      schemas: {
        Error: jsonSchemaOf(errorBodySchema),
        PluginInfo: jsonSchemaOf(pluginInfoSchema),
        Discovery: jsonSchemaOf(discoverySchema),
      },
      parameters,
      headers: {
        Link: {
          description:
            'GitHub-style: `<url>; rel="previous", <url>; rel="next"` (only those that exist); the URLs keep every query parameter',
          schema: { type: 'string' },
        },
        'X-Link-Number': { description: 'this page', schema: { type: 'integer', minimum: 1 } },
        'X-Link-Count': { description: 'number of pages', schema: { type: 'integer', minimum: 1 } },
        ETag: { description: 'validator for If-None-Match', schema: { type: 'string' } },
      },
      responses: {
        NotModified: { description: 'the ETag in If-None-Match still matches' },
        BadParameter: error('a parameter is invalid (named in `detail`), or the page is past the last one'),
        NotAcceptable: error('no offered format matches Accept'),
        NotFound: error('unknown ident or route'),
        ViewHung: error(
          "`view_hung`: the plugin's view hung on these parameters in an earlier run (past --plugin-hang-timeout, which ended the process), or that run died while it computed with them (out of memory), and is not called with them again until the view changes or the record is a week old",
        ),
      },
    },
  };
}
