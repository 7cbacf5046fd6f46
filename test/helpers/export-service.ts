/**
 * A started in-process service with an admin token, for GET /admin/export tests, and the
 * export's child process held stopped so an export stays in progress while a test looks
 * (test/e2e/export-gauge, export-off-loop, export-timeout).
 */
import type { AnyPluginDefinition } from '../../actors/plugin-api.js';
import { afterAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { childrenWith } from './children.js';
import { tempDir } from './service-process.js';

const EXPORT_CHILD = 'export-child.js';

export interface AdminService {
  readonly service: Service;
  readonly base: string;
  readonly auth: { Authorization: string };
}

export async function startAdminService(
  dataDir: string,
  token: string,
  plugins?: AnyPluginDefinition[],
): Promise<AdminService> {
  const config = loadConfig({
    env: { STATSCACHE_ADMIN_TOKEN: token },
    flags: { dataDir, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600 },
  });
  const service = await Service.build({ config, logger: createLogger('silent'), ...(plugins ? { plugins } : {}) });
  await service.start();
  return { service, base: `http://127.0.0.1:${service.server?.port ?? 0}`, auth: { Authorization: `Bearer ${token}` } };
}

/**
 * For a describe: a temp data dir and a `start` of an admin service on it (once a block). After
 * the block the export children a failed test left stopped are killed, the service stopped and
 * the dir removed.
 */
export function adminServiceForBlock(token: string): (plugins?: AnyPluginDefinition[]) => Promise<AdminService> {
  const dir = tempDir();
  let service: Service | null = null;
  afterAll(async () => {
    // Left stopped only when the test failed before letting it go on.
    killExportChildren();
    await service?.stop();
    dir.remove();
  });
  return async (plugins) => {
    const started = await startAdminService(dir.path, token, plugins);
    service = started.service;
    return started;
  };
}

/**
 * Waits for the export's child (of this process, or of `parent`: a spawned service) and stops
 * it (SIGSTOP): the export cannot end until SIGCONT. `stillWaiting` runs before each look and
 * throws to give up (a deadline, an answer that came first).
 */
export async function holdExportChild(stillWaiting: () => void, parent?: number): Promise<number> {
  let child: number | undefined;
  while ((child = childrenWith(EXPORT_CHILD, undefined, parent)[0]) === undefined) {
    stillWaiting();
    await new Promise((r) => setTimeout(r, 2));
  }
  process.kill(child, 'SIGSTOP');
  return child;
}

/** Kills export children (of this process, or of `parent`) a failed test left stopped. */
export function killExportChildren(parent?: number): void {
  for (const pid of childrenWith(EXPORT_CHILD, undefined, parent)) process.kill(pid, 'SIGKILL');
}
