/** The OpenAPI document's shared components: body schemas, parameters, headers and responses the paths refer to. */
import { discoverySchemas } from './discovery.js';
import { type Json, jsonContent, queryParam, ref } from './openapi-shared.js';
import { commonParams, jsonSchemaOf } from './param-docs.js';
import { errorBodySchema } from './responses.js';

const error = (description: string) => ({
  description,
  content: { 'application/json': jsonContent(ref('schemas', 'Error')) },
});

export function components(): Json {
  const parameters: Json = Object.fromEntries(commonParams().map((p) => [p.name, queryParam(p)]));
  parameters['If-None-Match'] = {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'an ETag from an earlier answer (weak or strong, a list, or `*`): 304 when it still matches',
    schema: { type: 'string' },
  };
  return {
    schemas: {
      Error: jsonSchemaOf(errorBodySchema),
      PluginInfo: jsonSchemaOf(discoverySchemas().pluginInfo),
      Discovery: jsonSchemaOf(discoverySchemas().discovery),
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
      BadParameter: error(
        '`bad_parameter`: a parameter is invalid (named in `parameter`, and with its value in `detail`), or the page is past the last one (`parameter` is `page`)',
      ),
      NotAcceptable: error('no offered format matches Accept'),
      NotFound: error('unknown ident or route'),
      ViewHung: error(
        "`view_failed`: the plugin's view (or its viewIsRows) failed for these parameters at this state (`detail` names the view and what it threw; counted in statscache_plugin_view_failures_total). `view_hung`: the plugin's view hung on these parameters in an earlier run (past --plugin-hang-timeout, which ended the process), or that run died while it computed with them (out of memory), and is not called with them again until the view changes or the record is a week old",
      ),
    },
  };
}
