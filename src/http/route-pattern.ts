/** Every route the service answers, by pattern: metrics label requests with these, never raw paths. */
export const ROUTE_PATTERNS = [
  '/',
  '/dashboard',
  '/plugins',
  '/openapi.json',
  '/healthz',
  '/readyz',
  '/metrics',
  '/api/',
  '/api/:ident',
  '/api/:ident/layout',
  '/api/:ident/stream',
  /** `/ws` asked without a WebSocket handshake (uWS upgrades the ones with one itself). */
  '/ws',
] as const;

export type RoutePattern = (typeof ROUTE_PATTERNS)[number] | 'unmatched';

export interface RouteMatch {
  readonly pattern: RoutePattern;
  /** The decoded ident segment for `/api/:ident…` patterns. */
  readonly ident?: string;
}

const FIXED: ReadonlyMap<string, RoutePattern> = new Map<string, RoutePattern>([
  ['/', '/'],
  ['/index.html', '/'],
  ['/dashboard', '/dashboard'],
  ['/dashboard/', '/dashboard'],
  ['/plugins', '/plugins'],
  ['/plugins/', '/plugins'],
  ['/openapi.json', '/openapi.json'],
  ['/healthz', '/healthz'],
  ['/readyz', '/readyz'],
  ['/metrics', '/metrics'],
  ['/api', '/api/'],
  ['/api/', '/api/'],
  ['/ws', '/ws'],
  ['/ws/', '/ws'],
]);

/** Maps a raw request path to its route pattern; never throws, whatever the path holds. */
export function matchRoute(path: string): RouteMatch {
  // The hot read, `/api/<ident>` with a plain ident: no split, nothing to decode, and no hash of
  // a path that is a new string on every request (FIXED holds no such path).
  if (path.length > 5 && path.startsWith('/api/') && path.indexOf('/', 5) === -1 && path.indexOf('%') === -1)
    return { pattern: '/api/:ident', ident: path.slice(5) };
  const fixed = FIXED.get(path);
  if (fixed !== undefined) return { pattern: fixed };
  if (!path.startsWith('/api/')) return { pattern: 'unmatched' };
  const parts = path.slice('/api/'.length).split('/');
  // One trailing slash is tolerated (`/api/volume-1m/`), as Flask did.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const ident = safeDecode(parts[0] ?? '');
  if (ident === '' || parts.length > 2) return { pattern: 'unmatched' };
  if (parts.length === 1) return { pattern: '/api/:ident', ident };
  if (parts[1] === 'layout') return { pattern: '/api/:ident/layout', ident };
  if (parts[1] === 'stream') return { pattern: '/api/:ident/stream', ident };
  return { pattern: 'unmatched' };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape cannot name a plugin; keep it raw so the 404 can quote it.
    return segment;
  }
}
