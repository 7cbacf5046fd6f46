/** OpenAPI paths of the admin routes, which need the admin token: `/admin/snapshot`, `/admin/export`. */
import { type Json, jsonContent } from './openapi-shared.js';

export function adminPaths(): Json {
  return {
    '/admin/snapshot': {
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
          '500': { description: 'the snapshot failed (`snapshot_failed`, naming the cause; the server log has it)' },
          '503': {
            description:
              'the service is closing and cancelled the snapshot before it committed, or refused it (`snapshot_cancelled`): the previous generation and the journal hold every message; or the snapshot committed and the closing service ended the walk measuring its generation (`snapshot_unmeasured`, with `report`: what was written)',
          },
        },
      },
    },
    '/admin/export': {
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
    },
  };
}
