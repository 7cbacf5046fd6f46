#!/usr/bin/env node
// First: it decides how msgpackr decodes strings, which msgpackr reads once, on load.
import './msgpack-strings.js';
// Before anything is compiled hot: V8's inlining budget (v8-inlining.ts).
import './v8-inlining.js';
import { Command, CommanderError } from 'commander';
import { exitCodeOf, isStatscacheError } from '../actors/errors.js';
import { loadConfig, type Config, type ConfigKey } from './config.js';
import { addSettingOptions, configFileOf, configFileOption, flagValues, settingOption } from './cli-options.js';
import { DEFAULT_MAX_FRAME_BYTES } from './envelope-limits.js';
import { DEFAULT_REPLICA_QUEUE_MAX_BYTES, DEFAULT_UPSTREAM_QUEUE_MAX_BYTES } from './proxy-queue.js';
import { DEFAULT_REPLICA_MAX_CONNECTIONS, DEFAULT_REPLICA_MAX_PER_ADDRESS } from './proxy-admission.js';
import { DEMO_DEFAULTS } from './settings.js';
import { defaultOf } from './setting-derive.js';
import { exitProcess } from './process-exit.js';
import { runService } from './run-service.js';
import { registerOperatorCommands } from './commands/register.js';

/** `serve` and `demo`: only the defaults differ (`demo` keeps its made-up data apart from `serve`'s). */
function configFrom(opts: Record<string, unknown>, defaults: Partial<Record<ConfigKey, unknown>> = {}): Config {
  return loadConfig({
    defaults,
    flags: flagValues(opts),
    env: process.env,
    file: opts['config'] as string | undefined,
  });
}

/**
 * `meta`'s cut, as `serve` reads it (flag, then STATSCACHE_MAX_FANOUT, then the config file of
 * --config or STATSCACHE_CONFIG, then the default) and validated by the same setting: a bad value
 * or file is SC_CONFIG_INVALID, exit 2. Only that setting is read: another setting's bad value is
 * no reason to refuse `meta`.
 */
function metaFanout(opts: Record<string, unknown>): number {
  const flags = { maxFanout: opts['maxFanout'] };
  const file = opts['config'] as string | undefined;
  return loadConfig({ flags, env: process.env, file, only: ['maxFanout'] }).maxFanout;
}

function fail(err: unknown): void {
  // Commander has written its message already; help and --version end here too, with 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  const message = isStatscacheError(err) ? err.message : ((err as Error)?.stack ?? String(err));
  process.stderr.write(`statscache: ${message}\n`);
  // A start that failed on a stuck thread (SC_BUS_THREAD_HUNG) must not wait for it to end.
  exitProcess(isStatscacheError(err) ? exitCodeOf(err) : 1);
}

// `statscache snapshot list | head -1`: the reader went away, which is not an error worth a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

const program = new Command('statscache')
  .description('Live statistics from the fedmsg bus, served over HTTP and WebSocket.')
  .showHelpAfterError()
  // Usage errors (an unknown option or command, a bad choice, a missing argument) come back to
  // fail() instead of exiting 1 from inside commander: the operator fixes them, so exit 2.
  // Subcommands added below inherit it.
  .exitOverride();

addSettingOptions(
  program.command('serve').description('run the service: consume the bus, keep plugin state, serve it'),
).action(async (opts) => {
  const config = configFrom(opts);
  await runService(config, false, configFileOf(opts));
});

addSettingOptions(
  program
    .command('demo')
    .description(
      'run the service plus a traffic simulator publishing realistic fedmsg messages onto its bus (data in ./data-demo unless --data-dir says otherwise)',
    ),
).action(async (opts) => {
  // Made-up traffic must never mix with a real service's ./data.
  const config = configFrom(opts, DEMO_DEFAULTS);
  await runService(config, true, configFileOf(opts));
});

program
  .command('meta')
  .argument('<file.jsonl>', 'one fedmsg envelope per line')
  .description('print the category, usernames, packages, agent and link of each message, one JSON object per line')
  .addOption(
    settingOption(
      'maxFanout',
      `usernames and packages printed per message at most, the first ones named, as serve keeps them (default ${String(defaultOf('maxFanout'))}; or STATSCACHE_MAX_FANOUT)`,
    ),
  )
  .addOption(
    configFileOption("serve's JSON config file: its maxFanout applies, below STATSCACHE_MAX_FANOUT and --max-fanout"),
  )
  .action(async (file: string, opts: Record<string, unknown>) => {
    const { runMetaCommand } = await import('./meta/meta-command.js');
    const { errors } = await runMetaCommand(file, process.stdout, { maxFanout: metaFanout(opts) });
    process.exitCode = errors > 0 ? 1 : 0;
  });

program
  .command('proxy')
  .description(
    'fan one upstream fedmsg publisher out to any number of replicas (XSUB connects upstream, XPUB binds for replicas; messages over --max-frame-bytes are dropped)',
  )
  .requiredOption('--frontend <endpoint>', 'upstream publisher to connect to, e.g. tcp://hub.fedoraproject.org:9940')
  .requiredOption(
    '--backend <endpoint>',
    'endpoint to bind for replicas (they --connect to it), e.g. tcp://0.0.0.0:9941',
  )
  .option(
    '--max-frame-bytes <bytes>',
    `messages larger than this are not forwarded (dropped, and logged at a limited rate); a frame over 4× this is refused by libzmq unread and the proxy connects upstream again (default ${DEFAULT_MAX_FRAME_BYTES}, as serve)`,
  )
  .option(
    '--replica-queue-max-bytes <bytes>',
    `bytes queued for each replica at most (at least --max-frame-bytes): the queue is cut to the messages at --max-frame-bytes that fit (never more than 100,000); a replica whose queue is full misses messages (it sees a seq_id gap) until it reads again; each time is counted in the log (default ${DEFAULT_REPLICA_QUEUE_MAX_BYTES}, 1 GiB)`,
  )
  .option(
    '--replica-max-connections <n>',
    `connections open to the backend at most (replicas, and peers still in their handshake); one more is refused in its ZeroMQ handshake (ZAP status 400) and counted in the log, the replicas connected are not affected (default ${DEFAULT_REPLICA_MAX_CONNECTIONS}; the proxy's memory for queues is at most this × --replica-queue-max-bytes)`,
  )
  .option(
    '--replica-max-per-address <n>',
    `connections open to the backend from one IP address at most, as the kernel lists them (TCP on Linux; elsewhere only --replica-max-connections applies); one more is refused as above (default ${DEFAULT_REPLICA_MAX_PER_ADDRESS})`,
  )
  .option(
    '--upstream-queue-max-bytes <bytes>',
    `bytes the proxy queues from upstream at most while it forwards (at least 16× --max-frame-bytes): the queue is cut to the messages of two frames at 4× --max-frame-bytes that fit (never more than 100,000); at the bound libzmq stops reading upstream and the publisher holds or drops the rest (replicas see a seq_id gap) (default ${DEFAULT_UPSTREAM_QUEUE_MAX_BYTES}, 1 GiB)`,
  )
  .option(
    '--http-port <n>',
    'serve GET /healthz (200 while the relay runs, with "degraded" while upstream is not connected; 503 once it stops or fails) and GET /metrics (Prometheus, statscache_proxy_*) on this port; 0 picks a free one, named in the start-up log (default: no HTTP)',
  )
  .option('--http-host <address>', 'address --http-port listens on (default 127.0.0.1)')
  .action(
    async (opts: {
      frontend: string;
      backend: string;
      maxFrameBytes?: string;
      replicaQueueMaxBytes?: string;
      replicaMaxConnections?: string;
      replicaMaxPerAddress?: string;
      upstreamQueueMaxBytes?: string;
      httpPort?: string;
      httpHost?: string;
    }) => {
      const { runProxyCommand } = await import('./commands/proxy.js');
      const { createLogger } = await import('./logger.js');
      await runProxyCommand(opts, createLogger('info'));
    },
  );

registerOperatorCommands(program);

program.parseAsync(process.argv).catch(fail);
