import { defineConfig } from 'vitest/config';

/**
 * Suites that run mostly in the test process itself (actors, stores, snapshots, plugins, the
 * HTTP and WebSocket layers on loopback) and share no module state between files: their files
 * share a worker instead of each starting a fresh one. A fresh worker per file cost 1-4 s of
 * wall time per file on the loaded 2-core box (these 96 files: 213 s isolated, 93 s shared;
 * test/http: 250 s, 153 s).
 */
const SHARED_WORKER = [
  'test/actors/**/*.test.ts',
  'test/core/**/*.test.ts',
  'test/history/**/*.test.ts',
  'test/http/**/*.test.ts',
  'test/meta/**/*.test.ts',
  'test/plugins/**/*.test.ts',
  'test/snapshots/**/*.test.ts',
  'test/ws/**/*.test.ts',
];

/**
 * The only files that need a process of their own. The AMQP guards: each checks that
 * amqplib's reader is patched by the module that installs the guard, once per process, so after
 * another file had loaded it a check could pass without the install it is about. The spawned-service suites (e2e, recovery,
 * commands, amqp) reuse their worker too: they keep nothing in module state, change no
 * environment, and their services are processes of their own. A fresh worker per file cost
 * them ~0.4-0.9 s of CPU each (test/recovery: 160 s of CPU isolated, 137 s shared; all 55 of
 * test/e2e passed shared).
 */
const OWN_PROCESS = [
  'test/amqp/amqp-body-guard.test.ts',
  'test/amqp/amqp-codec-guard.test.ts',
  'test/amqp/amqp-frame-guard.test.ts',
  // LMDB writes refused in the test process itself (chattr +i): lmdb-js 3.5.6 may overrun its
  // heap on a failed page write (README, "Disk full"), which aborts or corrupts the process that
  // made it; in a shared worker that is every later file's process too.
  'test/snapshots/refused-snapshot-outcome.test.ts',
  'test/snapshots/refused-cycle-steps.test.ts',
  // Whether V8 keeps row timestamps unboxed (%IsSmi): field representations are per hidden class,
  // and literals of the same members in any file of a shared worker share them, so an earlier
  // file's `{ timestamp: 1.5, … }` would decide these tests' outcome.
  'test/actors/update-context.test.ts',
  'test/plugins/messages-last-24h-shape.test.ts',
  'test/plugins/plain-rows.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Three on the 2-core CI box: with two, the cores were ~77% busy (spawned services wait on
    // timers, brokers and disks), and a third took the suite from 581 s to 483 s on one host.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: 'shared-worker', include: SHARED_WORKER, exclude: OWN_PROCESS, isolate: false } },
      // Spawned services and brokers: a test that starts two services and feeds 510 messages took
      // 30 s (the shared limit) on a box loaded to 15 by other work. Passing tests take no longer for it.
      {
        extends: true,
        test: {
          name: 'spawned',
          include: ['test/**/*.test.ts'],
          exclude: [...SHARED_WORKER, ...OWN_PROCESS],
          isolate: false,
          testTimeout: 60_000,
          // One private RabbitMQ for the AMQP files that need none of their own, started on first use.
          globalSetup: ['test/helpers/shared-broker-setup.ts'],
        },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, testTimeout: 60_000 } },
    ],
  },
});
