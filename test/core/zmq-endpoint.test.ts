import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { endpointProblem } from '../../src/zmq-endpoint.js';
import { CLI } from '../helpers/service-process.js';

describe('ZeroMQ endpoints given by an operator', () => {
  it('takes the spellings libzmq takes', () => {
    for (const e of [
      'tcp://127.0.0.1:2003',
      'tcp://*:*',
      'tcp://127.0.0.1:0',
      'tcp://[::1]:9940',
      'ipc:///tmp/bus',
      'inproc://x',
    ])
      expect(endpointProblem(e, 'bind'), e).toBeNull();
    for (const e of [
      'tcp://hub.fedoraproject.org:9940',
      'tcp://[::1]:1',
      'tcp://10.0.0.1:0;hub:9940',
      'tcp://eth0:*;hub:65535',
    ])
      expect(endpointProblem(e, 'connect'), e).toBeNull();
  });

  it('refuses a port libzmq would wrap modulo 65536 or retry for ever', () => {
    // libzmq bound tcp://127.0.0.1:70000 on port 4464 and retried a connect to port 0 for ever.
    expect(endpointProblem('tcp://127.0.0.1:70000', 'bind')).toMatch(/port "70000" is not 1 to 65535/);
    expect(endpointProblem('tcp://127.0.0.1:65536', 'connect')).toMatch(/"65536"/);
    expect(endpointProblem('tcp://127.0.0.1:0', 'connect')).toMatch(/port 0 is not a port one can connect to/);
    expect(endpointProblem('tcp://hub:*', 'connect')).toMatch(/port \*/);
    expect(endpointProblem('tcp://10.0.0.1:*;hub:0', 'connect')).toMatch(/port 0/);
    expect(endpointProblem('tcp://hub:09940', 'connect')).toMatch(/"09940"/);
    expect(endpointProblem('tcp://hub', 'connect')).toMatch(/"hub" is not host:port/);
    expect(endpointProblem('tcp://a:1;b:2', 'bind')).toMatch(/no "source;" part/);
    expect(endpointProblem('tcp://a:1;b:2;c:3', 'connect')).toMatch(/at most one "source;" part/);
    expect(endpointProblem('udp://a:1', 'connect')).toMatch(/ZeroMQ endpoint like/);
  });

  it('names the setting, its source and the bad port at start-up', () => {
    expect(() => loadConfig({ env: {}, flags: { bind: ['tcp://127.0.0.1:70000'] } })).toThrow(
      /SC_CONFIG_INVALID: setting "bind" \(flag --bind\): port "70000" is not 1 to 65535/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_CONNECT: 'tcp://hub:0' } })).toThrow(
      /setting "connect" \(environment STATSCACHE_CONNECT\): port 0 is not a port one can connect to/,
    );
    expect(loadConfig({ env: {}, flags: { bind: ['tcp://127.0.0.1:*'] } }).bind).toEqual(['tcp://127.0.0.1:*']);
  });

  it('holds for the proxy command too: its backend binds, its frontend connects', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, 'proxy', ...args], { encoding: 'utf8', timeout: 10_000 });
    const back = run('--frontend', 'tcp://127.0.0.1:9940', '--backend', 'tcp://127.0.0.1:70000');
    expect(back.status).toBe(2);
    expect(back.stderr).toMatch(/SC_CONFIG_INVALID: --backend port "70000" is not 1 to 65535/);
    const front = run('--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*');
    expect(front.status).toBe(2);
    expect(front.stderr).toMatch(/--frontend port \* is not a port one can connect to/);
  });
});
