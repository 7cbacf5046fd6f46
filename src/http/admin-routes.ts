import { createHash, timingSafeEqual } from 'node:crypto';
import { SnapshotCancelledError } from '../../snapshots/snapshot-cancelled.js';
import { SnapshotUnmeasuredError } from '../../snapshots/snapshot-unmeasured.js';
import type { SnapshotReport } from '../../snapshots/snapshotter.js';
import { json, type HttpRequest, type HttpResponse, quoted } from './responses.js';
import { thrownMessage } from './thrown-message.js';

export interface AdminDeps {
  /** The configured bearer token; null disables every admin route (they answer 404). */
  readonly adminToken: string | null;
  readonly snapshot: () => Promise<SnapshotReport>;
  /** The newest good snapshot generation as export-file bytes (`snapshot export`'s format); null when there is none. */
  readonly exportSnapshot?: () => Promise<{ bytes: Uint8Array; generation: number } | null>;
  /** An export that failed (its child killed, hung past its bound, refused): for the server log, which the answer points to. */
  readonly onExportError?: (err: unknown) => void;
}

/** The admin routes and the one method each accepts. */
const ROUTES: Readonly<Record<string, 'POST' | 'GET'>> = { '/admin/snapshot': 'POST', '/admin/export': 'GET' };

/**
 * Answers `/admin/*` paths (a promise, since a snapshot waits for LMDB) or returns null for
 * any other path. The HTTP adapter must keep the response open until the promise settles.
 */
export type AdminHandler = (req: HttpRequest) => Promise<HttpResponse> | null;

const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * `POST /admin/snapshot` with `Authorization: Bearer <adminToken>` takes a snapshot now and
 * answers its report; `GET /admin/export` answers the newest snapshot generation as an export
 * file (what `--bootstrap` pulls from a peer: the whole state and journal tail, so behind the
 * token like every admin route, and not something to let anyone trigger). Without a configured token the admin routes do not exist (404), so an
 * unconfigured service does not even reveal them; a missing or wrong token is a 401.
 */
export function createAdminHandler(deps: AdminDeps): AdminHandler {
  // Compared as digests: equal lengths, so timingSafeEqual never throws and leaks no length.
  const want = deps.adminToken === null ? null : digest(deps.adminToken);

  return (req) => {
    if (req.path !== '/admin' && !req.path.startsWith('/admin/')) return null;
    return handle(req).catch((err: unknown) =>
      err instanceof SnapshotCancelledError
        ? cancelled(err)
        : err instanceof SnapshotUnmeasuredError
          ? unmeasured(err)
          : json(
              500,
              {
                error: 'snapshot_failed',
                detail: `the snapshot failed: ${thrownMessage(err).slice(0, 500)}; see the server log`,
              },
              NO_STORE,
            ),
    );
  };

  async function handle(req: HttpRequest): Promise<HttpResponse> {
    if (want === null)
      return json(
        404,
        {
          error: 'not_found',
          detail: 'admin routes are disabled: set adminToken (STATSCACHE_ADMIN_TOKEN) to enable them',
        },
        NO_STORE,
      );
    const route = req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
    const method = ROUTES[route];
    if (method === undefined || (route === '/admin/export' && !deps.exportSnapshot)) {
      return json(
        404,
        {
          error: 'not_found',
          detail: `no admin route ${quoted(req.path)}; POST /admin/snapshot and GET /admin/export exist`,
        },
        NO_STORE,
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization'));
    if (!match || !timingSafeEqual(digest(match[1] as string), want)) {
      return json(
        401,
        { error: 'unauthorized', detail: 'send Authorization: Bearer <adminToken>' },
        { ...NO_STORE, 'WWW-Authenticate': 'Bearer realm="statscache-admin"' },
      );
    }
    if (req.method !== method)
      return json(
        405,
        {
          error: 'method_not_allowed',
          detail: `method ${quoted(req.method)} is not allowed on ${route}; use ${method}`,
        },
        { ...NO_STORE, Allow: method },
      );
    if (route === '/admin/export') return exportResponse();
    const report = await deps.snapshot();
    return json(200, report, NO_STORE);
  }

  /** A snapshot cancelled by the service's close(): nothing failed, and no retry here can succeed. */
  function cancelled(err: SnapshotCancelledError): HttpResponse {
    return json(503, { error: 'snapshot_cancelled', detail: err.message }, NO_STORE);
  }

  /** Written, but the service's close() ended the size walk: nothing failed, and the report says what is on disk. */
  function unmeasured(err: SnapshotUnmeasuredError): HttpResponse {
    return json(503, { error: 'snapshot_unmeasured', detail: err.message, report: err.report }, NO_STORE);
  }

  /** The file `statscache snapshot export` would write; its header carries the payload's SHA-256, which the reader verifies. */
  async function exportResponse(): Promise<HttpResponse> {
    let built: Awaited<ReturnType<NonNullable<AdminDeps['exportSnapshot']>>> | undefined;
    try {
      built = await deps.exportSnapshot?.();
    } catch (err) {
      deps.onExportError?.(err);
      return json(
        500,
        {
          error: 'export_failed',
          detail: `the export failed: ${thrownMessage(err).slice(0, 500)}; see the server log`,
        },
        NO_STORE,
      );
    }
    if (!built)
      return json(
        503,
        {
          error: 'no_snapshot',
          detail: 'this service has no readable snapshot generation yet; POST /admin/snapshot takes one',
        },
        { ...NO_STORE, 'Retry-After': '10' },
      );
    return {
      status: 200,
      headers: {
        ...NO_STORE,
        'Content-Type': 'application/vnd.statscache.snapshot',
        'Content-Disposition': `attachment; filename="statscache-generation-${built.generation}.scexport"`,
        'X-Statscache-Generation': String(built.generation),
      },
      body: built.bytes,
      // Bootstrapping replicas read it over the network at their pace: never refused for what others hold.
      heldWhateverSize: true,
    };
  }
}
