import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { addSettingOptions, configFileOf, FLAG_KEYS, flagValues } from '../../src/cli-options.js';
import { configSchema, DEFAULT_BIND, ENV_NAMES, loadConfig } from '../../src/config.js';
import { choicesOf, defaultOf, flagOf, helpLine, kindOf, SETTING_KEYS, settingOf } from '../../src/setting-derive.js';
import { DEMO_DEFAULTS, SETTINGS } from '../../src/settings.js';
import { settingsTable, TABLE_BEGIN, TABLE_END, withSettingsTable } from '../../src/settings-table.js';
import { CLI } from '../helpers/service-process.js';

// Contracts from before the settings were derived: names given out are never renamed.
const ENV_CONTRACT = {
  host: 'STATSCACHE_HOST',
  port: 'STATSCACHE_PORT',
  trustProxy: 'STATSCACHE_TRUST_PROXY',
  connect: 'STATSCACHE_CONNECT',
  bind: 'STATSCACHE_BIND',
  topic: 'STATSCACHE_TOPIC',
  dataDir: 'STATSCACHE_DATA_DIR',
  snapshotInterval: 'STATSCACHE_SNAPSHOT_INTERVAL',
  maxFrameBytes: 'STATSCACHE_MAX_FRAME_BYTES',
  maxMessageDepth: 'STATSCACHE_MAX_MESSAGE_DEPTH',
  maxMessageKeys: 'STATSCACHE_MAX_MESSAGE_KEYS',
  maxClockSkew: 'STATSCACHE_MAX_CLOCK_SKEW',
  maxFanout: 'STATSCACHE_MAX_FANOUT',
  pluginMaxKeys: 'STATSCACHE_PLUGIN_MAX_KEYS',
  maxKeysTotal: 'STATSCACHE_MAX_KEYS_TOTAL',
  pluginHangTimeout: 'STATSCACHE_PLUGIN_HANG_TIMEOUT',
  maxPageDepth: 'STATSCACHE_MAX_PAGE_DEPTH',
  wsTickMs: 'STATSCACHE_WS_TICK_MS',
  wsMaxSubscriptions: 'STATSCACHE_WS_MAX_SUBSCRIPTIONS',
  wsMaxConnectionsPerIp: 'STATSCACHE_WS_MAX_CONNECTIONS_PER_IP',
  wsMaxConnections: 'STATSCACHE_WS_MAX_CONNECTIONS',
  ipv6ClientPrefix: 'STATSCACHE_IPV6_CLIENT_PREFIX',
  wsMaxSubscriptionsPerIp: 'STATSCACHE_WS_MAX_SUBSCRIPTIONS_PER_IP',
  wsMaxFramesPerSecond: 'STATSCACHE_WS_MAX_FRAMES_PER_SECOND',
  wsMaxNewViewsPerIp: 'STATSCACHE_WS_MAX_NEW_VIEWS_PER_IP',
  wsMaxViews: 'STATSCACHE_WS_MAX_VIEWS',
  wsMaxBufferedBytes: 'STATSCACHE_WS_MAX_BUFFERED_BYTES',
  wsSlowTimeoutSeconds: 'STATSCACHE_WS_SLOW_TIMEOUT_SECONDS',
  sseHeartbeatSeconds: 'STATSCACHE_SSE_HEARTBEAT_SECONDS',
  wsMaxFrameBytes: 'STATSCACHE_WS_MAX_FRAME_BYTES',
  wsIdleTimeoutSeconds: 'STATSCACHE_WS_IDLE_TIMEOUT_SECONDS',
  wsResumeFrames: 'STATSCACHE_WS_RESUME_FRAMES',
  wsResumeBytes: 'STATSCACHE_WS_RESUME_BYTES',
  httpMaxHeldBytes: 'STATSCACHE_HTTP_MAX_HELD_BYTES',
  httpMaxHeldBytesPerClient: 'STATSCACHE_HTTP_MAX_HELD_BYTES_PER_CLIENT',
  logLevel: 'STATSCACHE_LOG_LEVEL',
  logBufferBytes: 'STATSCACHE_LOG_BUFFER_BYTES',
  historyScanConcurrency: 'STATSCACHE_HISTORY_SCAN_CONCURRENCY',
  historyScanQueue: 'STATSCACHE_HISTORY_SCAN_QUEUE',
  historyScanTimeoutSeconds: 'STATSCACHE_HISTORY_SCAN_TIMEOUT_SECONDS',
  datagrepper: 'STATSCACHE_DATAGREPPER',
  bootstrap: 'STATSCACHE_BOOTSTRAP',
  exportTimeout: 'STATSCACHE_EXPORT_TIMEOUT',
  bootstrapIdleTimeout: 'STATSCACHE_BOOTSTRAP_IDLE_TIMEOUT',
  backfillOverlap: 'STATSCACHE_BACKFILL_OVERLAP',
  backfillRequestTimeout: 'STATSCACHE_BACKFILL_REQUEST_TIMEOUT',
  backfillRowsPerPage: 'STATSCACHE_BACKFILL_ROWS_PER_PAGE',
  readyTimeout: 'STATSCACHE_READY_TIMEOUT',
  gapBackfillInterval: 'STATSCACHE_GAP_BACKFILL_INTERVAL',
  historyLag: 'STATSCACHE_HISTORY_LAG',
  amqp: 'STATSCACHE_AMQP',
  amqpBinding: 'STATSCACHE_AMQP_BINDING',
  amqpQueue: 'STATSCACHE_AMQP_QUEUE',
  amqpPrefetch: 'STATSCACHE_AMQP_PREFETCH',
  amqpMaxHeld: 'STATSCACHE_AMQP_MAX_HELD',
  amqpThread: 'STATSCACHE_AMQP_THREAD',
  amqpInputThread: 'STATSCACHE_AMQP_INPUT_THREAD',
  amqpThreadRestarts: 'STATSCACHE_AMQP_THREAD_RESTARTS',
  amqpHeartbeat: 'STATSCACHE_AMQP_HEARTBEAT',
  amqpCa: 'STATSCACHE_AMQP_CA',
  amqpCert: 'STATSCACHE_AMQP_CERT',
  amqpKey: 'STATSCACHE_AMQP_KEY',
  amqpReconnectMax: 'STATSCACHE_AMQP_RECONNECT_MAX',
  snapshotGenerations: 'STATSCACHE_SNAPSHOT_GENERATIONS',
  journalMaxAge: 'STATSCACHE_JOURNAL_MAX_AGE',
  journalMaxBytes: 'STATSCACHE_JOURNAL_MAX_BYTES',
  journalMaxHeldBytes: 'STATSCACHE_JOURNAL_MAX_HELD_BYTES',
  dedupeWindow: 'STATSCACHE_DEDUPE_WINDOW',
  adminToken: 'STATSCACHE_ADMIN_TOKEN',
  stopTimeout: 'STATSCACHE_STOP_TIMEOUT',
  plugins: 'STATSCACHE_PLUGINS',
  retention: 'STATSCACHE_RETENTION',
  busThread: 'STATSCACHE_BUS_THREAD',
  busLinger: 'STATSCACHE_BUS_LINGER',
  busKeepalive: 'STATSCACHE_BUS_KEEPALIVE',
  busQueueMax: 'STATSCACHE_BUS_QUEUE_MAX',
  busQueueMaxBytes: 'STATSCACHE_BUS_QUEUE_MAX_BYTES',
  replayThread: 'STATSCACHE_REPLAY_THREAD',
  threadHangTimeout: 'STATSCACHE_THREAD_HANG_TIMEOUT',
  threadStartTimeout: 'STATSCACHE_THREAD_START_TIMEOUT',
  diskHangTimeout: 'STATSCACHE_DISK_HANG_TIMEOUT',
  writeProbeAfter: 'STATSCACHE_WRITE_PROBE_AFTER',
  examples: 'STATSCACHE_EXAMPLES',
};
const FLAG_CONTRACT = [
  '--host',
  '--port',
  '--trust-proxy',
  '--connect',
  '--bind',
  '--topic',
  '--data-dir',
  '--snapshot-interval',
  '--max-frame-bytes',
  '--max-message-depth',
  '--max-message-keys',
  '--max-clock-skew',
  '--max-fanout',
  '--plugin-max-keys',
  '--max-keys-total',
  '--plugin-hang-timeout',
  '--max-page-depth',
  '--ws-tick-ms',
  '--ws-max-subscriptions',
  '--ws-max-connections-per-ip',
  '--ws-max-connections',
  '--ipv6-client-prefix',
  '--ws-max-subscriptions-per-ip',
  '--ws-max-frames-per-second',
  '--ws-max-new-views-per-ip',
  '--ws-max-views',
  '--ws-max-buffered-bytes',
  '--ws-slow-timeout-seconds',
  '--sse-heartbeat-seconds',
  '--ws-max-frame-bytes',
  '--ws-idle-timeout-seconds',
  '--ws-resume-frames',
  '--ws-resume-bytes',
  '--http-max-held-bytes',
  '--http-max-held-bytes-per-client',
  '--log-level',
  '--log-buffer-bytes',
  '--history-scan-concurrency',
  '--history-scan-queue',
  '--history-scan-timeout-seconds',
  '--datagrepper',
  '--bootstrap',
  '--export-timeout',
  '--bootstrap-idle-timeout',
  '--backfill-overlap',
  '--backfill-request-timeout',
  '--backfill-rows-per-page',
  '--ready-timeout',
  '--gap-backfill-interval',
  '--history-lag',
  '--amqp',
  '--amqp-binding',
  '--amqp-queue',
  '--amqp-prefetch',
  '--amqp-max-held',
  '--amqp-thread',
  '--amqp-input-thread',
  '--amqp-thread-restarts',
  '--amqp-heartbeat',
  '--amqp-ca',
  '--amqp-cert',
  '--amqp-key',
  '--amqp-reconnect-max',
  '--snapshot-generations',
  '--journal-max-age',
  '--journal-max-bytes',
  '--journal-max-held-bytes',
  '--stop-timeout',
  '--bus-thread',
  '--bus-linger',
  '--bus-queue-max',
  '--bus-keepalive',
  '--bus-queue-max-bytes',
  '--replay-thread',
  '--thread-hang-timeout',
  '--thread-start-timeout',
  '--disk-hang-timeout',
  '--write-probe-after',
  '--examples',
];

const parse = (argv: string[]) =>
  addSettingOptions(new Command('serve').exitOverride().configureOutput({ writeErr: () => undefined }))
    .parse(argv, { from: 'user' })
    .opts();

describe('settings declared once (src/settings.ts)', () => {
  it("README's settings table is the one the declarations generate (run `npm run docs:settings` after changing a setting)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const inReadme = readme
      .slice(readme.indexOf(TABLE_BEGIN) + TABLE_BEGIN.length, readme.indexOf(TABLE_END))
      .trim()
      .split('\n');
    const generated = settingsTable().split('\n');
    // Row by row, so a failure names the setting that drifted.
    for (const [i, row] of generated.entries()) expect(inReadme[i], `README settings table, row ${i}`).toBe(row);
    expect(inReadme).toHaveLength(generated.length);
    expect(withSettingsTable(readme)).toBe(readme);
  });

  it('the table has a row per setting (config-only ones included) and the --config row', () => {
    const table = settingsTable();
    for (const key of SETTING_KEYS) expect(table).toContain(`| \`${ENV_NAMES[key]}\` | \`${key}\` |`);
    expect(table).toMatch(/^\| \| `STATSCACHE_DEDUPE_WINDOW` \| `dedupeWindow` \| `200000` \|/m);
    expect(table).toMatch(/^\| `--config <file.json>` \| `STATSCACHE_CONFIG` \| \|/m);
  });

  it('keeps every environment name and flag that was given out', () => {
    expect(ENV_NAMES).toEqual(ENV_CONTRACT);
    expect(FLAG_KEYS.map(flagOf)).toEqual(FLAG_CONTRACT);
    expect(SETTING_KEYS.filter((k) => SETTINGS[k].flag === null)).toEqual([
      'dedupeWindow',
      'adminToken',
      'plugins',
      'retention',
    ]);
    expect(SETTING_KEYS.filter((k) => kindOf(k) === 'list')).toEqual([
      'trustProxy',
      'connect',
      'bind',
      'topic',
      'amqp',
      'amqpBinding',
      'plugins',
    ]);
    expect(SETTING_KEYS.filter((k) => kindOf(k) === 'object')).toEqual(['retention']);
  });

  it('declares each kind, choice list and default as its type holds them (known without building the type)', () => {
    for (const key of SETTING_KEYS) {
      let inner: z.ZodType = settingOf(key).type();
      while (inner instanceof z.ZodNullable || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
      const kind =
        inner instanceof z.ZodArray
          ? 'list'
          : inner instanceof z.ZodRecord || inner instanceof z.ZodObject
            ? 'object'
            : 'scalar';
      expect(kindOf(key), key).toBe(kind);
      expect(choicesOf(key), key).toEqual(inner instanceof z.ZodEnum ? inner.options : undefined);
      if ('default' in settingOf(key))
        expect(settingOf(key).type().safeParse(defaultOf(key)).error, key).toBe(undefined);
    }
  });

  it('a config parsed setting by setting is the one the whole schema gives', () => {
    // Each setting given its default, as the text a flag or variable brings where that reads back the same.
    const asText = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);
    const everything = Object.fromEntries(
      SETTING_KEYS.filter((k) => defaultOf(k) !== undefined).map((k) => [k, asText(defaultOf(k))]),
    );
    const given = [
      {},
      { dataDir: '/tmp/x', port: '0', bind: ['tcp://127.0.0.1:*'] },
      { connect: ['tcp://127.0.0.1:9940'], logLevel: 'warn', busThread: 'false', retention: { '1s': '2h' } },
      { wsMaxViews: '10', wsMaxSubscriptionsPerIp: '5', amqpMaxHeld: '30', amqpPrefetch: '30' },
      everything,
    ];
    for (const flags of given) {
      const whole = configSchema().parse(flags);
      const bind = whole.bind ?? (whole.connect.length === 0 && whole.amqp.length === 0 ? [DEFAULT_BIND] : []);
      const config = loadConfig({ env: {}, flags });
      expect(config, JSON.stringify(flags)).toEqual({ ...whole, bind });
      expect(Object.keys(config)).toEqual(Object.keys({ ...whole, bind }));
    }
  });

  it('hands every flag to loadConfig under its config key; list flags repeat', () => {
    for (const key of FLAG_KEYS) {
      // A switch (`--examples`) takes no value and reads as true.
      const isSwitch = settingOf(key).flag === '';
      const value = choicesOf(key)?.[0] ?? 'x';
      const opts = parse(
        isSwitch ? [flagOf(key)] : [flagOf(key), value, ...(kindOf(key) === 'list' ? [flagOf(key), 'y'] : [])],
      );
      expect(flagValues(opts)[key], key).toEqual(isSwitch ? true : kindOf(key) === 'list' ? [value, 'y'] : value);
      expect(Object.entries(flagValues(opts)).filter(([, v]) => v !== undefined)).toHaveLength(1);
    }
    expect(() => parse(['--log-level', 'loud'])).toThrow(/--log-level.*loud/);
    expect(configFileOf(parse(['--config', 'a.json']), { STATSCACHE_CONFIG: 'b.json' })).toBe('a.json');
    expect(configFileOf(parse([]), { STATSCACHE_CONFIG: 'b.json' })).toBe('b.json');
  });

  it('flags beat the environment, which beats the config file and the demo defaults', () => {
    const flags = flagValues(parse(['--ws-resume-frames', '7', '--amqp-binding', 'a.#', '--amqp-binding', 'b']));
    const c = loadConfig({
      defaults: DEMO_DEFAULTS,
      flags,
      env: { STATSCACHE_WS_RESUME_FRAMES: '9', STATSCACHE_HISTORY_SCAN_QUEUE: '3' },
    });
    expect(c).toMatchObject({
      wsResumeFrames: 7,
      historyScanQueue: 3,
      amqpBinding: ['a.#', 'b'],
      dataDir: 'data-demo',
    });
    expect(
      loadConfig({ env: { STATSCACHE_AMQP_BINDING: 'a.#, b', STATSCACHE_RETENTION: '{"1s":"2h"}' } }),
    ).toMatchObject({ amqpBinding: ['a.#', 'b'], retention: { '1s': '2h' } });
    expect(() => loadConfig({ env: {}, flags: flagValues(parse(['--ws-resume-frames', '-1'])) })).toThrow(
      /setting "wsResumeFrames" \(flag --ws-resume-frames\)/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_DEDUPE_WINDOW: '5' } })).toThrow(
      /setting "dedupeWindow" \(environment STATSCACHE_DEDUPE_WINDOW\)/,
    );
  });

  it('--log-buffer-bytes: 8 MiB by default, from 4 KiB to 1 GiB', () => {
    expect(loadConfig({ env: {} }).logBufferBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({ env: { STATSCACHE_LOG_BUFFER_BYTES: '4096' } }).logBufferBytes).toBe(4096);
    expect(loadConfig({ env: {}, flags: { logBufferBytes: String(1024 ** 3) } }).logBufferBytes).toBe(1024 ** 3);
    for (const bad of ['4095', String(1024 ** 3 + 1), '1.5', 'lots'])
      expect(() => loadConfig({ env: { STATSCACHE_LOG_BUFFER_BYTES: bad } }), bad).toThrow(
        /setting "logBufferBytes" \(environment STATSCACHE_LOG_BUFFER_BYTES\)/,
      );
  });

  it('--sse-heartbeat-seconds: 5 by default, a fraction of a second to an hour', () => {
    expect(loadConfig({ env: {} }).sseHeartbeatSeconds).toBe(5);
    expect(loadConfig({ env: { STATSCACHE_SSE_HEARTBEAT_SECONDS: '0.25' } }).sseHeartbeatSeconds).toBe(0.25);
    expect(loadConfig({ env: {}, flags: { sseHeartbeatSeconds: '3600' } }).sseHeartbeatSeconds).toBe(3600);
    for (const bad of ['0', '-1', '3601', 'often'])
      expect(() => loadConfig({ env: { STATSCACHE_SSE_HEARTBEAT_SECONDS: bad } }), bad).toThrow(
        /setting "sseHeartbeatSeconds" \(environment STATSCACHE_SSE_HEARTBEAT_SECONDS\)/,
      );
  });

  it('--help shows each flag with the default the schema holds', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--help'], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '1000' },
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    for (const key of FLAG_KEYS) {
      const line = lines.find((l) => l.trimStart().startsWith(`${flagOf(key)} `));
      expect(line, flagOf(key)).toBeDefined();
      expect(line).toContain(helpLine(key));
      const value = defaultOf(key);
      if (typeof value === 'number' || (typeof value === 'string' && value !== ''))
        expect(line, flagOf(key)).toMatch(new RegExp(`default ${String(value)}\\b`));
    }
    const list = spawnSync(process.execPath, [CLI, 'snapshot', 'list', '--help'], { encoding: 'utf8' });
    expect(list.stdout).toMatch(/--data-dir <path>\s+the service's data directory \(default data\)/);
    expect(list.stdout).toMatch(/--config <file.json>/);
  });
});
