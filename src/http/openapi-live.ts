/** OpenAPI paths of live push: the SSE stream and the WebSocket. */
import { type Json, jsonContent, ref, simple } from './openapi-shared.js';
import { commonParams } from './param-docs.js';

export function livePaths(idents: readonly string[]): Json {
  return {
    '/api/{ident}/stream': {
      get: {
        operationId: 'stream',
        tags: ['live'],
        summary: 'Row updates as Server-Sent Events',
        description:
          "An `text/event-stream` of the plugin's row changes: the current newest rows first, then coalesced updates carrying the changed rows and a sequence number, like the WebSocket frames. " +
          "It takes the view parameters of `/api/<ident>`, the plugin's own ones included (see that path), validated the same way; `callback` and `_` mean nothing here. " +
          "When the plugin's view fails after the stream opened, a `view_failed` event (the WebSocket `view_failed` frame's JSON, `seq` the last good rows') comes once per failure; the rows held stay those, and `update` events follow when it computes again.",
        parameters: [
          { name: 'ident', in: 'path', required: true, schema: { type: 'string', enum: idents } },
          // The stream validates these as the rows route does (ws-view-spec.ts); they were undocumented here.
          ...commonParams()
            .filter((p) => p.name !== 'callback' && p.name !== '_')
            .map((p) => ref('parameters', p.name)),
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
    },
    '/ws': simple(
      'websocket',
      'live',
      'WebSocket of live row updates',
      'Upgrade to a WebSocket. The server sends `{"type":"hello","epoch","tickMs","limits"}`. Send `{"op":"subscribe","ident":"<ident>","params":{…}}` ' +
        '(params: the view parameters of `/api/<ident>`, optional): the server answers a `snapshot` frame (`{"type":"snapshot","ident","view","seq","key","rows",…}`, newest rows first), ' +
        'then `update` frames (`{"type":"update","ident","view","seq","rows","removed"}` with the rows that changed and the keys of removed rows; `seq` grows by one per update). ' +
        '`{"op":"unsubscribe","ident"}` stops them; `{"op":"ping"}` gets a `pong`. An optional `id` is echoed back. Errors come as `{"type":"error","error","detail"}`. ' +
        'One with `"error":"view_failed"` that carries `view` and `seq` is about a subscription held, not a refusal: its view fails now (once per failure), the rows held are its last good ones (as of `seq`) and the subscription stays; the next `update` (sent even when no row changed) ends it.',
      {
        '101': { description: 'switching protocols to WebSocket' },
        '400': {
          description: '`bad_handshake`: an Upgrade without a usable Sec-WebSocket-Key (named in `header`)',
          content: { 'application/json': jsonContent(ref('schemas', 'Error')) },
        },
        '426': {
          description: '`upgrade_required`: asked without a WebSocket handshake (no Upgrade header; `header` names it)',
          content: { 'application/json': jsonContent(ref('schemas', 'Error')) },
        },
      },
    ),
  };
}
