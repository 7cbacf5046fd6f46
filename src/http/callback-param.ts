import { CALLBACK_PATTERN, CALLBACK_RULE } from './query-params.js';
import { badParameter, CORS_HEADERS, type HttpRequest, type HttpResponse, quoted } from './responses.js';

/**
 * The request's JSON-P `callback`, undefined when absent, or the 400 naming the parameter when it
 * is not an identifier path: a callback is written into the answer as code, so nothing else may
 * pass. The routes that answer JSON documents and views share it (history routes parse theirs
 * with the rest of their parameters: history-params.ts).
 */
export function callbackParam(req: HttpRequest): string | undefined | HttpResponse {
  const callback = new URLSearchParams(req.query).get('callback') ?? undefined;
  if (callback !== undefined && !CALLBACK_PATTERN.test(callback)) {
    return badParameter('callback', `parameter "callback" ${quoted(callback)}: ${CALLBACK_RULE}`, CORS_HEADERS);
  }
  return callback;
}
