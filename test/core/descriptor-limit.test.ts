import { afterEach, describe, expect, it } from 'vitest';
import { descriptorShortfall, OWN_DESCRIPTORS, openFilesLimit } from '../../src/descriptor-limit.js';
import { upgrade } from '../helpers/live-connections.js';
import { type RunningService, startService, tempDir } from '../helpers/service-process.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63457                63457                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('the open-file limit against --ws-max-connections', () => {
  it('reads the soft limit, and none where it is unlimited or unreadable', () => {
    expect(openFilesLimit(() => LIMITS)).toBe(1024);
    expect(openFilesLimit(() => LIMITS.replace('1024 ', 'unlimited'))).toBeNull();
    expect(
      openFilesLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
  });

  it('finds a shortfall only when the cap and the service’s own files do not fit', () => {
    expect(descriptorShortfall(10_000 + OWN_DESCRIPTORS, 10_000)).toBeNull();
    expect(descriptorShortfall(null, 10_000)).toBeNull();
    const short = descriptorShortfall(1024, 10_000);
    expect(short).toContain('RLIMIT_NOFILE 1024');
    expect(short).toContain(`at least ${String(10_000 + OWN_DESCRIPTORS)}`);
    expect(short).toContain(`--ws-max-connections to ${String(1024 - OWN_DESCRIPTORS)}`);
  });
});

describe('serve under a low descriptor limit', () => {
  let service: RunningService | undefined;
  const dirs: { remove(): void }[] = [];
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    for (const d of dirs.splice(0)) d.remove();
  });

  const warnings = (s: RunningService) =>
    s.logs.filter((l) => l.includes('"level":40') && l.includes('RLIMIT_NOFILE')).map((l) => JSON.parse(l));

  it('warns at start-up when the total connection cap does not fit the limit', async () => {
    const dir = tempDir();
    dirs.push(dir);
    service = await startService(['--data-dir', dir.path], {}, { openFilesLimit: 256 });
    const [warning] = warnings(service);
    expect(warning).toMatchObject({ openFilesLimit: 256, wsMaxConnections: 10_000 });
    expect(warning.msg).toContain(`lower --ws-max-connections to ${String(256 - OWN_DESCRIPTORS)}`);
  });

  it('says nothing when the cap fits', async () => {
    const dir = tempDir();
    dirs.push(dir);
    service = await startService(
      ['--data-dir', dir.path, '--ws-max-connections', String(256 - OWN_DESCRIPTORS)],
      {},
      { openFilesLimit: 256 },
    );
    expect(service.logs.some((l) => l.includes('statscache listening'))).toBe(true);
    expect(warnings(service)).toEqual([]);
  });

  it('a cap that fits holds a crowd of WebSocket clients below the limit: /healthz is still answered', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cap = 256 - OWN_DESCRIPTORS;
    service = await startService(
      ['--data-dir', dir.path, '--ws-max-connections', String(cap)],
      {},
      { openFilesLimit: 256 },
    );
    const wsUrl = `ws://127.0.0.1:${String(service.port)}/ws`;
    const opened = await Promise.all(Array.from({ length: cap + 60 }, () => upgrade(wsUrl)));
    try {
      expect(opened.filter((o) => o.status === 101)).toHaveLength(cap);
      const refused = opened.filter((o) => o.status !== 101);
      expect(refused).toHaveLength(60);
      for (const r of refused) expect(JSON.parse(r.body)).toMatchObject({ error: 'server_full' });
      // A new connection, while every admitted client stays: accept() still has a descriptor.
      expect((await fetch(`${service.base}/healthz`)).status).toBe(200);
    } finally {
      for (const o of opened) o.close();
    }
  });
});
