import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { CLI, tempDir } from '../helpers/service-process.js';

const dir = tempDir();
afterAll(() => dir.remove());

describe('configuration: timeouts and intervals, bounded', () => {
  it('bounds the export time bound (config file, environment, flag, default)', () => {
    expect(loadConfig({ env: {} }).exportTimeout).toBe(600);
    const file = join(dir.path, 'export-timeout.json');
    writeFileSync(file, '{"exportTimeout": 90}');
    expect(loadConfig({ env: {}, file }).exportTimeout).toBe(90);
    expect(loadConfig({ env: { STATSCACHE_EXPORT_TIMEOUT: '2.5' }, file }).exportTimeout).toBe(2.5);
    expect(
      loadConfig({ env: { STATSCACHE_EXPORT_TIMEOUT: '2.5' }, flags: { exportTimeout: '86400' } }).exportTimeout,
    ).toBe(86_400);
    // Zero would be an export that always fails, not "no bound": a hung child must still end.
    expect(() => loadConfig({ env: {}, flags: { exportTimeout: '0' } })).toThrow(
      /SC_CONFIG_INVALID: setting "exportTimeout" \(flag --export-timeout\): .*got "?0"?$/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_EXPORT_TIMEOUT: '86401' } })).toThrow(
      /setting "exportTimeout" \(environment STATSCACHE_EXPORT_TIMEOUT\): .*86400/,
    );
    writeFileSync(file, '{"exportTimeout": "ten minutes"}');
    expect(() => loadConfig({ env: {}, file })).toThrow(/setting "exportTimeout" \(config file/);
  });

  it('bounds the readiness and gap-backfill settings (flag, environment, default)', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ readyTimeout: 30, gapBackfillInterval: 30 });
    expect(
      loadConfig({ env: { STATSCACHE_READY_TIMEOUT: '0', STATSCACHE_GAP_BACKFILL_INTERVAL: '0.5' } }),
    ).toMatchObject({ readyTimeout: 0, gapBackfillInterval: 0.5 });
    expect(() => loadConfig({ env: {}, flags: { readyTimeout: '-1' } })).toThrow(
      /"readyTimeout" \(flag --ready-timeout\)/,
    );
    expect(() => loadConfig({ env: {}, flags: { readyTimeout: '86401' } })).toThrow(/"readyTimeout"/);
    // Zero would mean no rate bound at all.
    expect(() => loadConfig({ env: { STATSCACHE_GAP_BACKFILL_INTERVAL: '0' } })).toThrow(
      /"gapBackfillInterval" \(environment STATSCACHE_GAP_BACKFILL_INTERVAL\)/,
    );
    expect(() => loadConfig({ env: {}, flags: { gapBackfillInterval: '3601' } })).toThrow(/"gapBackfillInterval"/);
    const r = spawnSync(process.execPath, [CLI, 'serve', '--gap-backfill-interval', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/setting "gapBackfillInterval" \(flag --gap-backfill-interval\)/);
  });

  it('bounds --disk-hang-timeout: 0 (never) to a day, 60 s by default', () => {
    expect(loadConfig({ env: {} }).diskHangTimeout).toBe(60);
    expect(loadConfig({ env: { STATSCACHE_DISK_HANG_TIMEOUT: '0' } }).diskHangTimeout).toBe(0);
    expect(loadConfig({ env: {}, flags: { diskHangTimeout: '86400' } }).diskHangTimeout).toBe(86_400);
    expect(() => loadConfig({ env: {}, flags: { diskHangTimeout: '86401' } })).toThrow(
      /"diskHangTimeout" \(flag --disk-hang-timeout\)/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_DISK_HANG_TIMEOUT: '-1' } })).toThrow(
      /"diskHangTimeout" \(environment STATSCACHE_DISK_HANG_TIMEOUT\)/,
    );
  });

  it('bounds --thread-start-timeout: 0 (never) to a day, 30 s by default', () => {
    expect(loadConfig({ env: {} }).threadStartTimeout).toBe(30);
    expect(loadConfig({ env: { STATSCACHE_THREAD_START_TIMEOUT: '0' } }).threadStartTimeout).toBe(0);
    expect(loadConfig({ env: {}, flags: { threadStartTimeout: '86400' } }).threadStartTimeout).toBe(86_400);
    expect(() => loadConfig({ env: {}, flags: { threadStartTimeout: '86401' } })).toThrow(
      /"threadStartTimeout" \(flag --thread-start-timeout\)/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_THREAD_START_TIMEOUT: '-1' } })).toThrow(
      /"threadStartTimeout" \(environment STATSCACHE_THREAD_START_TIMEOUT\)/,
    );
  });

  it('bounds the bus linger: 0 (next turn) to a second', () => {
    expect(loadConfig({ env: {} }).busLinger).toBe(25);
    expect(loadConfig({ env: { STATSCACHE_BUS_LINGER: '0' } }).busLinger).toBe(0);
    expect(loadConfig({ env: {}, flags: { busLinger: '1000' } }).busLinger).toBe(1000);
    expect(() => loadConfig({ env: {}, flags: { busLinger: '1001' } })).toThrow(/"busLinger" \(flag --bus-linger\)/);
    expect(() => loadConfig({ env: { STATSCACHE_BUS_LINGER: '-1' } })).toThrow(
      /"busLinger" \(environment STATSCACHE_BUS_LINGER\)/,
    );
    expect(() => loadConfig({ env: {}, flags: { busLinger: '2.5' } })).toThrow(/"busLinger"/);
  });
});
