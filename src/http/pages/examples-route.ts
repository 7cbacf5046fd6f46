import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatscacheError } from '../../../actors/errors.js';
import { conditional } from '../conditional.js';
import { encode, EncodedCache, type Encoded } from '../encoded-cache.js';
import { error, type HttpRequest, type HttpResponse, quoted } from '../responses.js';

/** Null for paths outside /examples/, so the caller falls through to the other routes. */
export type ExamplesHandler = (req: HttpRequest) => HttpResponse | null;

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
};

/** The built examples are a few hundred KiB; a directory far past this is not ours. */
export const MAX_EXAMPLES_BYTES = 16 * 1024 * 1024;
const MAX_FILES = 200;

/**
 * Scripts and styles from this origin only; fetches and sockets anywhere, because an example
 * may be pointed at another statscache (`?api=`), which answers any origin.
 */
export const EXAMPLES_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https: ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** `dist/examples` of this package, whether this module runs from src/ (tests) or dist/src/. */
export function builtExamplesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir)
      throw new StatscacheError(
        'SC_CONFIG_INVALID',
        'cannot find the statscache package directory to serve the examples from',
      );
    dir = up;
  }
  return join(dir, 'dist', 'examples');
}

/** Every file under `root`, read once into memory: a fixed set, so no request can name anything else. */
function loadFiles(root: string): Map<string, Encoded<string>> {
  const files = new Map<string, Encoded<string>>();
  let total = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
      if (type === undefined) continue;
      const body = readFileSync(path);
      total += body.length;
      if (total > MAX_EXAMPLES_BYTES || files.size >= MAX_FILES) {
        throw new StatscacheError(
          'SC_CONFIG_INVALID',
          `setting "examples": ${root} holds more than ${MAX_FILES} files or ${MAX_EXAMPLES_BYTES} bytes; is it the built examples directory?`,
        );
      }
      files.set(`/examples/${relative(root, path).split(sep).join('/')}`, encode(body, type));
    }
  };
  walk(root);
  return files;
}

/**
 * `GET /examples/…`: the built browser examples (npm run build puts them in dist/examples),
 * from the same origin as the API. Disabled (null dir): every path falls through.
 */
/** Answered here, not by the API handler that adds it to the rest: a browser must not sniff a script out of a 404. */
const NOSNIFF = { 'X-Content-Type-Options': 'nosniff' };

export function createExamplesHandler(dir: string | null): ExamplesHandler {
  if (dir === null) return () => null;
  if (!existsSync(dir)) {
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "examples": ${dir} does not exist; run \`npm run build\` to build the examples`,
    );
  }
  const files = loadFiles(dir);
  const cache = new EncodedCache();
  return (req) => {
    if (req.path !== '/examples' && !req.path.startsWith('/examples/')) return null;
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return error(405, 'method_not_allowed', `method ${quoted(req.method)} is not allowed on /examples/; use GET`, {
        Allow: 'GET, HEAD',
        ...NOSNIFF,
      });
    // A directory is its index.html; without the trailing slash its relative links would break.
    if (req.path === '/examples' || files.has(`${req.path}/index.html`))
      return {
        status: 308,
        headers: { Location: `${req.path}/${req.query ? `?${req.query}` : ''}`, ...NOSNIFF },
        body: '',
      };
    const entry = files.get(req.path.endsWith('/') ? `${req.path}index.html` : req.path);
    if (entry === undefined)
      return error(404, 'not_found', `no example file ${quoted(req.path)}; GET /examples/ lists the examples`, NOSNIFF);
    return conditional(
      req,
      entry,
      {
        'Content-Type': entry.meta,
        'Content-Security-Policy': EXAMPLES_CSP,
        'Referrer-Policy': 'no-referrer',
        ...NOSNIFF,
      },
      cache,
    );
  };
}
