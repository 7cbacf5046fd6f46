import type { PluginHost } from '../../actors/plugin-host.js';
import { adminPaths } from './openapi-admin.js';
import { components } from './openapi-components.js';
import { healthPaths } from './openapi-health.js';
import { historyPaths } from './openapi-history.js';
import { livePaths } from './openapi-live.js';
import { rowsPaths } from './openapi-rows.js';
import { type Json, jsonContent, ref, simple } from './openapi-shared.js';

const htmlPage = (operationId: string, summary: string, description: string): Json =>
  simple(operationId, 'pages', summary, description, {
    '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
  });

/** OpenAPI 3.1 of every route; parameter and body schemas come from the zod schemas that validate them. */
export function buildOpenApi(host: PluginHost): Json {
  // Paths keep the order they have always been served in: rows, live, discovery, operations, history, pages.
  const paths: Json = {
    ...rowsPaths(host),
    ...livePaths(host.idents),
    '/plugins': simple(
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
    ),
    '/openapi.json': simple(
      'openapi',
      'discovery',
      'This document',
      'OpenAPI 3.1, generated at start-up from the schemas that validate the parameters.',
      {
        '200': {
          description: 'the OpenAPI document',
          content: { 'application/json': jsonContent({ type: 'object' }) },
        },
      },
    ),
    ...healthPaths(),
    ...historyPaths(),
    ...adminPaths(),
    '/': htmlPage(
      'docs',
      'Documentation page',
      'What statscache is, its plugins, routes and parameters with working examples.',
    ),
    '/dashboard': htmlPage(
      'dashboard',
      'Live dashboard',
      'The newest rows of every plugin, updated over the WebSocket.',
    ),
  };
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
    components: components(),
  };
}
