import { afterAll } from 'vitest';
import { Publisher } from 'zeromq';
import { type RunningService, tempDir } from './service-process.js';

/**
 * A data dir, a ZeroMQ publisher and a slot for the service under test, all released after the
 * describe block's tests (the service SIGKILLed: these tests check what a kill leaves).
 */
export function busFixture(): { dir: { path: string }; pub: Publisher; use(svc: RunningService): RunningService } {
  const dir = tempDir();
  const pub = new Publisher({ linger: 0 });
  let svc: RunningService | null = null;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    pub.close();
    dir.remove();
  });
  return {
    dir,
    pub,
    use: (s) => {
      svc = s;
      return s;
    },
  };
}
