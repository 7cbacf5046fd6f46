#!/usr/bin/env node
import { Command, Option } from 'commander';
import { exitCodeOf, isStatscacheError } from '../actors/errors.js';
import { loadConfig, type Config, type ConfigKey } from './config.js';
import { createLogger, LOG_LEVELS, type Logger } from './logger.js';
import { registerOperatorCommands } from './commands/register.js';
import { runMetaCommand } from './meta/meta-command.js';
import { pluginsForConfig } from './plugin-loader.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Flags shared by `serve` and `demo`; values are validated by the config schema, not here. */
function serveOptions(cmd: Command): Command {
  return cmd
    .option('--host <address>', 'HTTP listen address (default 127.0.0.1)')
    .option('--port <number>', 'HTTP port; 0 picks a free one (default 8080)')
    .option('--connect <endpoint>', 'ZeroMQ endpoint to connect the SUB socket to, like a fedmsg consumer (repeatable)', collect)
    .option('--bind <endpoint>', 'ZeroMQ endpoint to bind the SUB socket on, so publishers connect to it (repeatable; default tcp://127.0.0.1:2003)', collect)
    .option('--topic <prefix>', 'topic prefix to subscribe to (repeatable; default: everything)', collect)
    .option('--data-dir <path>', 'directory for the LMDB snapshot store (default ./data)')
    .option('--snapshot-interval <seconds>', 'seconds between snapshots (default 30)')
    .option('--max-frame-bytes <bytes>', 'bus messages larger than this are counted and skipped (default 1048576)')
    .option('--max-message-depth <n>', 'deepest object/array nesting in one envelope; deeper ones are counted and skipped (default 64)')
    .option('--max-message-keys <n>', 'most object members plus array elements in one envelope (default 100000)')
    .option('--max-clock-skew <seconds>', 'how far a message timestamp may run ahead of the clock before it is refused (default 300)')
    .option('--max-fanout <n>', 'usernames and packages kept per message; the rest are cut and counted (default 256)')
    .option('--plugin-max-keys <n>', 'keys per plugin container; the oldest rows make room, a store past it drops the message (default 1000000)')
    .option('--ws-tick-ms <ms>', 'WebSocket updates are coalesced over this many milliseconds (default 100)')
    .option('--ws-max-subscriptions <n>', 'live subscriptions per WebSocket connection (default 64)')
    .option('--ws-max-connections-per-ip <n>', 'open WebSocket + SSE connections per client IP (default 256)')
    .option('--ws-max-subscriptions-per-ip <n>', 'live subscriptions per client IP, WebSocket and SSE together; at most half of --ws-max-views (default 100)')
    .option('--ws-max-views <n>', 'live views open at once for all clients together (default 1000)')
    .option('--ws-max-buffered-bytes <bytes>', 'bytes queued for a client before it only gets coalesced snapshots (default 1048576)')
    .option('--ws-slow-timeout-seconds <s>', 'seconds a client may stay over --ws-max-buffered-bytes before it is closed with 4008 (default 10)')
    .option('--ws-max-frame-bytes <bytes>', 'largest frame a WebSocket client may send; bigger closes with 1009 (default 65536)')
    .option('--ws-idle-timeout-seconds <s>', 'WebSocket idle timeout with automatic pings; 0 or >= 8 (default 60)')
    .option('--ws-resume-frames <n>', 'update frames kept per view so reconnecting clients can resume (default 256)')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(LOG_LEVELS))
    .option('--history-scan-concurrency <n>', 'filtered /raw scans running at once (default 2)')
    .option('--history-scan-queue <n>', 'filtered /raw scans waiting for a slot; more get 503 scan_busy (default 8)')
    .option('--history-scan-timeout-seconds <s>', 'longest a filtered /raw scan may take, queue wait included; then 503 scan_timeout (default 10)')
    .option('--datagrepper <url>', 'datagrepper /raw URL to backfill from after downtime and gaps')
    .option('--backfill-overlap <seconds>', 'seconds re-fetched before the newest journaled message (default 600)')
    .option('--ready-timeout <seconds>', 'longest a slow or unreachable --datagrepper may keep start-up unready; then ready with a "degraded" reason while backfill goes on (default 30)')
    .option('--gap-backfill-interval <seconds>', 'least seconds between two gap backfills; gaps suspected meanwhile are merged (default 30)')
    .option('--amqp <url>', 'AMQP broker to consume, like fedora-messaging (amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub; repeatable)', collect)
    .option('--amqp-binding <key>', 'routing key to bind on amq.topic (repeatable; default #)', collect)
    .option('--amqp-queue <name>', 'durable named queue, so nothing is lost while statscache is down (default: server-named, exclusive, auto-delete)')
    .option('--amqp-prefetch <n>', 'unacked deliveries the broker may send ahead (default 25)')
    .option('--amqp-heartbeat <seconds>', 'AMQP heartbeat; 0 disables (default 30)')
    .option('--amqp-ca <file.pem>', 'CA certificate(s) the broker\'s TLS certificate must chain to')
    .option('--amqp-cert <file.pem>', 'client certificate; logs in with SASL EXTERNAL (needs --amqp-key)')
    .option('--amqp-key <file.pem>', 'private key of --amqp-cert')
    .option('--amqp-reconnect-max <seconds>', 'longest wait between reconnect attempts (default 60)')
    .option('--snapshot-generations <n>', 'snapshot generations kept (default 3)')
    .option('--journal-max-age <interval>', 'journal retention by message age, like 7d (default 7d)')
    .option('--journal-max-bytes <bytes>', 'journal size cap (default 2 GiB)')
    .option('--stop-timeout <seconds>', 'longest graceful stop before exiting anyway (default 20)')
    .option('--examples', 'serve the built browser examples under /examples/ (default: off; on for demo)')
    .option('--config <file.json>', 'JSON config file (lowest precedence after defaults)');
}

const configFileOf = (opts: Record<string, unknown>): string | undefined => (opts['config'] as string | undefined) ?? (process.env['STATSCACHE_CONFIG'] || undefined);

function configFrom(opts: Record<string, unknown>, defaults: Partial<Record<ConfigKey, unknown>> = {}): Config {
  const keys: ConfigKey[] = [
    'host', 'port', 'connect', 'bind', 'topic', 'dataDir', 'snapshotInterval', 'maxFrameBytes', 'wsTickMs', 'logLevel',
    'maxMessageDepth', 'maxMessageKeys', 'maxClockSkew', 'maxFanout', 'pluginMaxKeys',
    'wsMaxSubscriptions', 'wsMaxConnectionsPerIp', 'wsMaxSubscriptionsPerIp', 'wsMaxViews', 'wsMaxBufferedBytes', 'wsSlowTimeoutSeconds', 'wsMaxFrameBytes', 'wsIdleTimeoutSeconds', 'wsResumeFrames',
    'historyScanConcurrency', 'historyScanQueue', 'historyScanTimeoutSeconds',
    'datagrepper', 'backfillOverlap', 'readyTimeout', 'gapBackfillInterval', 'snapshotGenerations', 'journalMaxAge', 'journalMaxBytes', 'stopTimeout',
    'amqp', 'amqpBinding', 'amqpQueue', 'amqpPrefetch', 'amqpHeartbeat', 'amqpCa', 'amqpCert', 'amqpKey', 'amqpReconnectMax',
    'examples',
  ];
  const flags = Object.fromEntries(keys.map((k) => [k, opts[k]]));
  return loadConfig({ defaults, flags, env: process.env, file: opts['config'] as string | undefined });
}

async function runService(config: Config, log: Logger, withSimulator: boolean, configFile?: string): Promise<void> {
  // External plugins load asynchronously, so before the (synchronous) build; relative paths are relative to the config file.
  const plugins = await pluginsForConfig(config, configFile);
  // Loaded here, not at the top: operator commands should not pay for uWS, ZeroMQ and XState.
  const { Service } = await import('./service.js');
  let stopping = false;
  // Intake died (a bus receive loop ended): keep what we have (final snapshot), then exit 1 so a supervisor restarts us.
  const service = Service.build({ config, logger: log, plugins, onFatal: (err) => shutdown('intake failed', 1, err) });
  const shutdown = (signal: string, code = 0, cause?: Error) => {
    if (stopping) return;
    stopping = true;
    if (cause) log.error({ err: cause.message }, 'stopping: intake failed; exiting with status 1 for the supervisor to restart');
    else log.info({ signal }, 'stopping');
    // A stop that hangs (a wedged disk) must not keep the process forever.
    const guard = setTimeout(() => {
      log.error({ stopTimeout: config.stopTimeout }, 'graceful stop took too long; exiting');
      process.exit(1);
    }, config.stopTimeout * 1000);
    guard.unref();
    service.stop().then(
      () => process.exit(code),
      (err) => {
        log.error({ err: String((err as Error)?.stack ?? err) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await service.start();
  } catch (err) {
    // Not started (port in use…): give the data dir back before exiting, pid file included.
    await service.close().catch(() => undefined);
    throw err;
  }
  if (withSimulator) {
    const target = service.subscription?.bound[0];
    if (!target) throw new Error('the demo needs a --bind endpoint for its simulator to publish to');
    const { simulate } = await import('./simulator.js');
    await simulate({ connect: target, ratePerSecond: 20, log });
    log.info({ target, open: `http://${config.host}:${service.server?.port}/api/volume-by-category-1m` }, 'demo traffic simulator publishing');
  }
}

function fail(err: unknown): never {
  const message = isStatscacheError(err) ? err.message : (err as Error)?.stack ?? String(err);
  process.stderr.write(`statscache: ${message}\n`);
  process.exit(isStatscacheError(err) ? exitCodeOf(err) : 1);
}

// `statscache snapshot list | head -1`: the reader went away, which is not an error worth a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

const program = new Command('statscache').description('Live statistics from the fedmsg bus, served over HTTP and WebSocket.').showHelpAfterError();

serveOptions(program.command('serve').description('run the service: consume the bus, keep plugin state, serve it')).action(async (opts) => {
  const config = configFrom(opts);
  await runService(config, createLogger(config.logLevel), false, configFileOf(opts));
});

serveOptions(program.command('demo').description('run the service plus a traffic simulator publishing realistic fedmsg messages onto its bus (data in ./data-demo unless --data-dir says otherwise)')).action(async (opts) => {
  // Made-up traffic must never mix with a real service's ./data.
  const config = configFrom(opts, { dataDir: 'data-demo', examples: true });
  await runService(config, createLogger(config.logLevel), true, configFileOf(opts));
});

program
  .command('meta')
  .argument('<file.jsonl>', 'one fedmsg envelope per line')
  .description('print the category, usernames, packages, agent and link of each message, one JSON object per line')
  .action(async (file: string) => {
    const { errors } = await runMetaCommand(file, process.stdout);
    process.exitCode = errors > 0 ? 1 : 0;
  });

registerOperatorCommands(program);

program.parseAsync(process.argv).catch(fail);
