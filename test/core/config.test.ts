import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, unknownEnvNames } from '../../src/config.js';
import { MAX_ENTRIES } from '../../src/setting-list-bounds.js';
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

  it('refuses a deeply nested or huge value with SC_CONFIG_INVALID naming it, shown cut short', () => {
    const file = join(dir.path, 'deep.json');
    // 400,000 nested arrays fit in 1 MiB: showing the refused value overflowed the stack
    // (RangeError, exit 1, a stack trace) instead of naming the setting.
    writeFileSync(file, `{"topic": ${'['.repeat(400_000)}${']'.repeat(400_000)}}`);
    expect(() => loadConfig({ env: {}, file })).toThrow(
      /SC_CONFIG_INVALID: setting "topic" \(config file .*\): .*, got a value nested too deep to show/,
    );
    expect(() =>
      loadConfig({ env: { STATSCACHE_RETENTION: `{"1m": ${'['.repeat(400_000)}${']'.repeat(400_000)}}` } }),
    ).toThrow(/SC_CONFIG_INVALID: setting "retention" \(environment STATSCACHE_RETENTION\)/);
    writeFileSync(file, JSON.stringify({ dataDir: 7, host: 'x'.repeat(900_000), port: 'y'.repeat(100_000) }));
    let message = '';
    try {
      loadConfig({ env: {}, file });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/SC_CONFIG_INVALID: setting "\w+" \(config file .*\(\d+ characters\)$/);
    // The whole 100 KB value was written to the terminal and journald.
    expect(message.length).toBeLessThan(1000);
    writeFileSync(join(dir.path, 'deep-cli.json'), `{"topic": ${'['.repeat(400_000)}${']'.repeat(400_000)}}`);
    const cli = spawnSync(process.execPath, [CLI, 'serve', '--config', join(dir.path, 'deep-cli.json')], {
      encoding: 'utf8',
    });
    expect({ status: cli.status, stderr: cli.stderr.slice(0, 200) }).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^statscache: SC_CONFIG_INVALID: setting "topic"/),
    });
  });

  it('bounds how many entries each list takes, naming the setting and the count (3,000 --bind all started)', () => {
    const entry: Record<keyof typeof MAX_ENTRIES, (i: number) => string> = {
      topic: (i) => `org.fedoraproject.prod.c${i}.`,
      connect: (i) => `tcp://relay${i}.example:9940`,
      bind: (i) => `tcp://127.0.0.1:${10_000 + i}`,
      amqp: (i) => `amqps://fedora:@broker${i}.example/%2Fpublic_pubsub`,
      amqpBinding: (i) => `org.fedoraproject.prod.c${i}.#`,
      trustProxy: (i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      plugins: (i) => `./plugin-${i}.js`,
      retention: (i) => `plugin-${i}`,
    };
    const value = (key: keyof typeof MAX_ENTRIES, n: number) => {
      const items = Array.from({ length: n }, (_, i) => entry[key](i));
      return key === 'retention' ? Object.fromEntries(items.map((k) => [k, '30d'])) : items;
    };
    const file = join(dir.path, 'lists.json');
    for (const key of Object.keys(MAX_ENTRIES) as (keyof typeof MAX_ENTRIES)[]) {
      const max = MAX_ENTRIES[key];
      expect(max, key).toBeGreaterThanOrEqual(16);
      writeFileSync(file, JSON.stringify({ [key]: value(key, max) }));
      expect(loadConfig({ env: {}, file })[key], key).toEqual(value(key, max));
      writeFileSync(file, JSON.stringify({ [key]: value(key, max + 1) }));
      expect(() => loadConfig({ env: {}, file }), key).toThrow(
        new RegExp(`SC_CONFIG_INVALID: setting "${key}" \\(config file .*\\): ${max + 1} entries, at most ${max}`),
      );
    }
    // Flags and the environment too, and the CLI refuses before binding anything.
    expect(() => loadConfig({ env: {}, flags: { topic: value('topic', MAX_ENTRIES.topic + 1) } })).toThrow(
      /setting "topic" \(flag --topic\): \d+ entries, at most/,
    );
    expect(() =>
      loadConfig({ env: { STATSCACHE_TRUST_PROXY: (value('trustProxy', 3000) as string[]).join(',') } }),
    ).toThrow(/setting "trustProxy" \(environment STATSCACHE_TRUST_PROXY\): 3000 entries, at most/);
    const binds = (value('bind', 3000) as string[]).flatMap((b) => ['--bind', b]);
    const cli = spawnSync(
      process.execPath,
      [CLI, 'serve', '--data-dir', join(dir.path, 'binds'), '--port', '0', ...binds],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect({ status: cli.status, stderr: cli.stderr.slice(0, 120) }).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(
        /^statscache: SC_CONFIG_INVALID: setting "bind" \(flag --bind\): 3000 entries, at most/,
      ),
    });
  });

  it('refuses a key given twice, in the config file or a JSON variable, naming it', () => {
    const file = join(dir.path, 'twice.json');
    // JSON.parse keeps the last: the first port was dropped without a word.
    writeFileSync(file, '{"port": 1234, "host": "0.0.0.0", "port": 5678}');
    expect(() => loadConfig({ env: {}, file })).toThrow(
      /SC_CONFIG_INVALID: setting "port" \(config file .*twice\.json\): given twice/,
    );
    writeFileSync(file, '{"retention": {"volume-1m": "1d", "volume-1s": "2h", "volume-1m": "2d"}}');
    expect(() => loadConfig({ env: {}, file })).toThrow(
      /SC_CONFIG_INVALID: setting "retention" \(config file .*\): member "volume-1m" given twice/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_RETENTION: '{"volume-1m": "1d", "volume-1m": "2d"}' } })).toThrow(
      /SC_CONFIG_INVALID: environment STATSCACHE_RETENTION: member "volume-1m" given twice/,
    );
    // The same name in two objects, in a string, or escaped differently from another name is no repeat.
    writeFileSync(
      file,
      '{"retention": {"volume-1m": "1d"}, "adminToken": "\\"retention\\":x0123456789abcdef", "topic": ["a", "a"], "host": "h\\"", "port": 1}',
    );
    const c = loadConfig({ env: {}, file });
    expect([c.port, c.topic]).toEqual([1, ['a', 'a']]);
  });

  it('shows a refused name, and a refused variable, cut short like a refused value', () => {
    const file = join(dir.path, 'long-names.json');
    const long = 'k'.repeat(500_000);
    const refusal = (sources: Parameters<typeof loadConfig>[0]): string => {
      try {
        loadConfig(sources);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    const cases = {
      // A key no setting has: named twice (the setting, then zod's "Unrecognized key"), 1 MB.
      unknown: () => writeFileSync(file, `{"${long}": 1}`),
      // A member given twice, named in full (500 KB), or by a path 100,000 objects deep (200 KB).
      twice: () => writeFileSync(file, `{"retention": {"${long}": "1d", "${long}": "2d"}}`),
      deep: () =>
        writeFileSync(file, `{"retention": ${'{"a": '.repeat(100_000)}{"b": 1, "b": 2}${'}'.repeat(100_000)}}`),
    };
    for (const [name, write] of Object.entries(cases)) {
      write();
      const message = refusal({ env: {}, file });
      // Compared as a summary: the message itself is up to a megabyte.
      expect({
        name,
        start: message.slice(0, 28),
        cut: /… \(\d+ characters\)/.test(message),
        short: message.length < 1000,
      }).toEqual({
        name,
        start: 'SC_CONFIG_INVALID: setting "',
        cut: true,
        short: true,
      });
    }
    // A JSON variable: its member given twice, or the whole variable not JSON (100 KB of it).
    for (const value of [`{"${long}": "1d", "${long}": "2d"}`, `[${'x'.repeat(100_000)}`]) {
      const message = refusal({ env: { STATSCACHE_RETENTION: value } });
      expect({
        start: message.slice(0, 51),
        cut: /… \(\d+ characters\)/.test(message),
        short: message.length < 1000,
      }).toEqual({
        start: 'SC_CONFIG_INVALID: environment STATSCACHE_RETENTION',
        cut: true,
        short: true,
      });
    }
  });

  it('the CLI exits non-zero with that message', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--snapshot-interval', '-5'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SC_CONFIG_INVALID: setting "snapshotInterval" \(flag --snapshot-interval\)/);
  });

  it('reads a PEM file up to 1 MiB, as the config file', () => {
    const dataDir = join(dir.path, 'pem-data');
    const args = ['serve', '--data-dir', dataDir, '--port', '0', '--amqp', 'amqp://127.0.0.1:1'];
    const r = spawnSync(process.execPath, [CLI, ...args, '--amqp-ca', '/dev/zero'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SC_CONFIG_INVALID: setting "amqpCa": cannot read \/dev\/zero: larger than 1048576 bytes/);
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
