import { defineConfig } from 'vitest/config';

/**
 * Suites that run in the test process itself (actors, stores, snapshots, plugins, the HTTP and
 * WebSocket layers on loopback) and share no module state between files: their files share a
 * worker instead of each starting a fresh one. A fresh worker per file cost ~0.7 s of wall time
 * per file on the 2-core box (test/actors, snapshots and meta: 65 s isolated, 34 s shared), a
 * sixth of the suite's budget over these 96 files. What spawns services, brokers or CLI runs,
 * or installs a process-wide hook (amqp: amqplib's codec guard is installed once per process),
 * stays one worker per file.
 */
const SHARED_WORKER = [
  'test/actors/**/*.test.ts',
  'test/core/**/*.test.ts',
  'test/history/**/*.test.ts',
  'test/meta/**/*.test.ts',
  'test/plugins/**/*.test.ts',
  'test/snapshots/**/*.test.ts',
  'test/ws/**/*.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites spawn real services and bind ports; two workers match the 2-core CI box.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'shared-worker', include: SHARED_WORKER, isolate: false } },
      { extends: true, test: { name: 'own-worker', include: ['test/**/*.test.ts'], exclude: SHARED_WORKER } },
    ],
  },
});
