import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/service-process.js';

/**
 * A --connect endpoint whose publisher vanished without a word (its host lost power, a
 * partition, a NAT or firewall that dropped the idle connection's state) sends no FIN: the
 * subscriber, which only ever receives, noticed nothing until TCP keepalive probed the
 * connection, after Linux's default of 2 hours. Meanwhile /readyz said the endpoint was
 * connected and ready, nothing came in, and the publisher, back at the same address, was never
 * connected to again. --bus-keepalive (fedmsg's 60 s by default) probes a silent connection, so
 * it ends, /readyz says so, libzmq connects again and intake resumes.
 *
 * Real network namespaces (`unshare -rn`, no privileges needed where user namespaces are
 * allowed): the service and a publisher joined by a veth pair (test/helpers/bus-partition.mjs).
 */
const HELPER = fileURLToPath(new URL('../helpers/bus-partition.mjs', import.meta.url));
const namespaces = spawnSync('unshare', ['-rn', 'ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
const canPartition = namespaces.status === 0;

interface Outcome {
  error: string | null;
  ready: boolean;
  joined: boolean;
  quiet: { state: string | null; degraded: string | null } | null;
  statesDuringOutage: (string | null)[];
  degraded: string | null;
  resumed: boolean;
  logs: string[];
}

describe.skipIf(!canPartition)('a bus publisher that vanishes without a word', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('is seen gone within the keepalive bound (/readyz degraded), and intake resumes once it is back', () => {
    const run = spawnSync('unshare', ['-rn', process.execPath, HELPER, CLI, dir.path], {
      // The setting from the environment; 1 s: probes every second, the third unanswered ends it.
      env: { ...process.env, STATSCACHE_BUS_KEEPALIVE: '1' },
      encoding: 'utf8',
      timeout: 90_000,
    });
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    let outcome: Outcome;
    try {
      outcome = JSON.parse(last) as Outcome;
    } catch {
      throw new Error(`the helper printed no result (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
    const context = `${JSON.stringify({ ...outcome, logs: outcome.logs.slice(-10) }, null, 1)}\n${run.stderr}`;
    expect(outcome.error, context).toBeNull();
    expect(outcome.ready, context).toBe(true);
    expect(outcome.joined, context).toBe(true);
    // 5 s of silence on a sound connection, past the keepalive and its probes: no false alarm.
    expect(outcome.quiet, context).toEqual({ state: 'connected', degraded: null });
    // Within the helper's 12 s watch: 1 s of silence, then 3 probes a second apart.
    expect(outcome.statesDuringOutage.at(-1), context).not.toBe('connected');
    expect(outcome.degraded, context).toMatch(/bus endpoint not connected: tcp:\/\/10\.9\.0\.2:5601/);
    expect(outcome.resumed, context).toBe(true);
    // What was published meanwhile is what the reconnect hook backfills (with --datagrepper).
    expect(
      outcome.logs.some((l) => l.includes('bus endpoint reconnected; messages published meanwhile were missed')),
      context,
    ).toBe(true);
  }, 120_000);
});
