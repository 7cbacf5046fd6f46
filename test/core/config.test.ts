import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, unknownEnvNames } from '../../src/config.js';
import { CLI, tempDir } from '../helpers/service-process.js';

const dir = tempDir();
afterAll(() => dir.remove());

describe('configuration', () => {
  it('has defaults that make a bare start useful, frozen', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      bind: ['tcp://127.0.0.1:2003'],
      connect: [],
      topic: [''],
      dataDir: 'data',
      snapshotInterval: 30,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.bind)).toBe(true);
  });

  it('layers config file < environment < flags', () => {
    const file = join(dir.path, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 1111, host: '0.0.0.0', dataDir: '/from-file', bind: ['tcp://127.0.0.1:1'] }),
    );
    const c = loadConfig({
      file,
      env: { STATSCACHE_PORT: '2222', STATSCACHE_CONNECT: 'tcp://a:1, tcp://b:2', STATSCACHE_DATA_DIR: '/from-env' },
      flags: { port: '3333' },
    });
    expect(c.port).toBe(3333);
    expect(c.host).toBe('0.0.0.0');
    expect(c.dataDir).toBe('/from-env');
    expect(c.connect).toEqual(['tcp://a:1', 'tcp://b:2']);
    expect(c.bind).toEqual(['tcp://127.0.0.1:1']);
  });

  it('names the setting and its source when a value is bad', () => {
    expect(() => loadConfig({ env: {}, flags: { port: '99999' } })).toThrow(
      /SC_CONFIG_INVALID: setting "port" \(flag --port\).*99999/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_SNAPSHOT_INTERVAL: 'soon' } })).toThrow(
      /"snapshotInterval" \(environment STATSCACHE_SNAPSHOT_INTERVAL\)/,
    );
    expect(() => loadConfig({ env: {}, flags: { connect: ['localhost:9940'] } })).toThrow(/"connect".*ZeroMQ endpoint/);
    // 99999999999d was taken (8.6e18 ms of journal age); intervals are bounded as plugins' are.
    expect(() => loadConfig({ env: {}, flags: { journalMaxAge: '99999999999d' } })).toThrow(
      /setting "journalMaxAge" \(flag --journal-max-age\): must be a non-zero interval up to 36500d/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_RETENTION: '{"1m": "36501d"}' } })).toThrow(/setting "retention"/);
    expect(loadConfig({ env: {}, flags: { journalMaxAge: '36500d' } }).journalMaxAge).toBe('36500d');
    // Paths are appended to the peer's base URL: a query made it ask `?x=1/admin/export`.
    expect(() => loadConfig({ env: {}, flags: { bootstrap: 'http://peer:8080/?x=1' } })).toThrow(
      /setting "bootstrap" \(flag --bootstrap\): must be a base URL without \?query or #fragment/,
    );
    expect(loadConfig({ env: {}, flags: { bootstrap: 'http://peer:8080/base' } }).bootstrap).toBe(
      'http://peer:8080/base',
    );
    const file = join(dir.path, 'bad.json');
    writeFileSync(file, '{"prot": 1}');
    expect(() => loadConfig({ env: {}, file })).toThrow(/setting "prot"/);
    writeFileSync(file, '{nope');
    expect(() => loadConfig({ env: {}, file })).toThrow(/not valid JSON/);
    // /dev/zero was read for ever, into memory; a file is read up to 1 MiB, a pipe included.
    expect(() => loadConfig({ env: {}, file: '/dev/zero' })).toThrow(
      /setting "config": cannot read \/dev\/zero: larger than 1048576 bytes/,
    );
    writeFileSync(file, `{"port": 1234${' '.repeat(1024 * 1024)}}`);
    expect(() => loadConfig({ env: {}, file })).toThrow(/larger than 1048576 bytes/);
    writeFileSync(file, `{"port": 1234${' '.repeat(1024 * 1024 - 20)}}`);
    expect(loadConfig({ env: {}, file }).port).toBe(1234);
  });

  it('reads numbers only from decimal text: blanks, booleans, null, lists and hex are refused, not 0, 1 or 8080', () => {
    const bad: [Parameters<typeof loadConfig>[0], RegExp][] = [
      [{ env: {}, flags: { port: '' } }, /setting "port" \(flag --port\)/],
      [{ env: { STATSCACHE_PORT: ' ' } }, /setting "port" \(environment STATSCACHE_PORT\)/],
      [{ env: {}, flags: { port: '0x1F90' } }, /setting "port"/],
      [{ env: {}, flags: { maxClockSkew: '' } }, /setting "maxClockSkew"/],
      [{ env: {}, flags: { snapshotInterval: '1e-9' } }, /setting "snapshotInterval"/],
    ];
    for (const [sources, message] of bad) expect(() => loadConfig(sources), JSON.stringify(sources)).toThrow(message);
    const file = join(dir.path, 'types.json');
    for (const value of ['true', 'null', '[]', '"8080x"']) {
      writeFileSync(file, `{"port": ${value}}`);
      expect(() => loadConfig({ env: {}, file }), value).toThrow(/setting "port" \(config file/);
    }
    expect(() => loadConfig({ env: { STATSCACHE_CONFIG: file }, file: '' })).toThrow(/--config "" names no file/);
    // Lowering one setting breaks a check on another left at its default: named as the default.
    expect(() => loadConfig({ env: {}, flags: { wsMaxViews: '10' } })).toThrow(
      /setting "wsMaxSubscriptionsPerIp" \(default\): must be at most half of wsMaxViews/,
    );
    // A held-delivery cap below one prefetch window would never let a connection consume.
    expect(() => loadConfig({ env: {}, flags: { amqpMaxHeld: '24' } })).toThrow(
      /setting "amqpMaxHeld" \(flag --amqp-max-held\): must be at least amqpPrefetch/,
    );
    expect(() => loadConfig({ env: {}, flags: { amqpMaxHeld: '0' } })).toThrow(/setting "amqpMaxHeld"/);
    expect(() => loadConfig({ env: {}, flags: { amqpMaxHeld: '10000001' } })).toThrow(/setting "amqpMaxHeld"/);
    expect(loadConfig({ env: {}, flags: { amqpMaxHeld: '25' } }).amqpMaxHeld).toBe(25);
    expect(loadConfig({ env: {}, flags: { amqpMaxHeld: '10000000' } }).amqpMaxHeld).toBe(10_000_000);
    expect(loadConfig({ env: {}, flags: { amqpPrefetch: '5', amqpMaxHeld: '5' } }).amqpMaxHeld).toBe(5);
    expect(loadConfig({ env: {} }).amqpMaxHeld).toBeNull();
    // A "__proto__" key is an unknown setting, not the prototype of the merged settings.
    writeFileSync(file, '{"__proto__": {"port": 1}}');
    expect(() => loadConfig({ env: {}, file })).toThrow(/SC_CONFIG_INVALID/);
    // Named by where it came from: it was "([object Object])", the prototype of the origins' map.
    expect(() => loadConfig({ env: {}, file })).toThrow(`setting "__proto__" (config file ${file}): Unrecognized key`);
    // An empty environment variable (an EnvironmentFile line left blank) is unset, as the README says:
    // the config file's value applies; a blank one is a value, refused above.
    writeFileSync(file, '{"port": 1234}');
    expect(loadConfig({ env: { STATSCACHE_PORT: '' }, file }).port).toBe(1234);
    expect(loadConfig({ env: { STATSCACHE_PORT: '' } }).port).toBe(8080);
    // Still read: decimals with blanks around them, exponents.
    expect(loadConfig({ env: { STATSCACHE_PORT: ' 8081 ' }, flags: { snapshotInterval: '2.5e1' } })).toMatchObject({
      port: 8081,
      snapshotInterval: 25,
    });
  });

  it('names a refused admin token by its length, never writing the secret to the terminal or journald', () => {
    // 15 characters: one short of the minimum, as a mistyped real token would be.
    expect(() => loadConfig({ env: { STATSCACHE_ADMIN_TOKEN: 'secret-15-chars' } })).toThrow(
      /setting "adminToken" \(environment STATSCACHE_ADMIN_TOKEN\): .*got 15 characters \(not shown/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_ADMIN_TOKEN: 'secret-15-chars' } })).not.toThrow(/secret-15-chars/);
  });

  it('refuses an admin token no Authorization header can carry, as every request with it answered 401', () => {
    for (const token of ['0123456789abcdef 42', '0123456789abcdef\t', '0123456789abcdef\n', '\u00000123456789abcdef']) {
      expect(() => loadConfig({ env: { STATSCACHE_ADMIN_TOKEN: token } })).toThrow(
        /setting "adminToken" \(environment STATSCACHE_ADMIN_TOKEN\): must hold no spaces or control characters.*\(not shown/,
      );
    }
    expect(loadConfig({ env: { STATSCACHE_ADMIN_TOKEN: 'Abc-._~+/0123456789=' } }).adminToken).toBe(
      'Abc-._~+/0123456789=',
    );
  });

  it('drops empty list items from the environment, and names STATSCACHE_ variables no setting reads', () => {
    // A trailing comma made an empty prefix: a subscription to everything.
    expect(loadConfig({ env: { STATSCACHE_TOPIC: 'org.fedoraproject.prod.buildsys,' } }).topic).toEqual([
      'org.fedoraproject.prod.buildsys',
    ]);
    expect(
      unknownEnvNames({ STATSCACHE_DATADIR: '/x', STATSCACHE_PORT: '1', STATSCACHE_TEST_NGINX: '1', HOME: '/root' }),
    ).toEqual([{ name: 'STATSCACHE_DATADIR', nearest: 'STATSCACHE_DATA_DIR' }]);
  });

  it('the CLI exits non-zero with that message', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--snapshot-interval', '-5'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SC_CONFIG_INVALID: setting "snapshotInterval" \(flag --snapshot-interval\)/);
  });

  it('usage errors exit 2, as the refusals an operator fixes do; help exits 0', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    for (const args of [
      ['serve', '--log-level', 'verbose'],
      ['serve', '--prot', '1'],
      ['nosuch'],
      ['journal', 'replay'],
    ]) {
      const r = run(...args);
      // Before: 1, from inside commander.
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(/error/i);
    }
    expect(run('--help').status).toBe(0);
    expect(run('snapshot', 'list', '--help').status).toBe(0);
  });
});
