import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MAX_ENTRIES } from '../../src/setting-list-bounds.js';
import { CLI, tempDir } from '../helpers/service-process.js';

const dir = tempDir();
afterAll(() => dir.remove());

describe('configuration: malformed and oversized input, refused and named', () => {
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
});
