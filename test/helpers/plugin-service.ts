import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { eventually, getJson, type RunningService, spawnServe, startService, tempDir } from './service-process.js';

/**
 * A data dir served by `statscache serve --config` with only the given plugin modules (file name
 * → source, loaded from beside the config), for tests that end and restart the process. `serve`
 * starts one more process on it (with `args` and `env`, and waits for /readyz 200 when `ready`);
 * every process started is SIGKILLed and the folder removed after the calling describe.
 * `spawn` starts one that is expected to end by itself, without waiting for it to listen (spawnServe()).
 */
export function pluginService(
  plugins: Readonly<Record<string, string>>,
  options: { readonly args?: readonly string[]; readonly env?: NodeJS.ProcessEnv; readonly ready?: boolean } = {},
): {
  readonly dataDir: string;
  readonly serve: () => Promise<RunningService>;
  readonly spawn: () => ReturnType<typeof spawnServe>;
} {
  const dir = tempDir();
  const config = join(dir.path, 'config.json');
  const dataDir = join(dir.path, 'data');
  for (const [name, source] of Object.entries(plugins)) writeFileSync(join(dir.path, name), source);
  writeFileSync(config, JSON.stringify({ plugins: Object.keys(plugins).map((name) => `./${name}`), dataDir }));
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    dir.remove();
  });
  const serve = async (): Promise<RunningService> => {
    const svc = await startService(['--config', config, ...(options.args ?? [])], options.env ?? {});
    running.push(svc);
    if (options.ready)
      await eventually(async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined));
    return svc;
  };
  return {
    dataDir,
    serve,
    spawn: () => spawnServe(['--config', config, ...(options.args ?? [])], options.env ?? {}),
  };
}
