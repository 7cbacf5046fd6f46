#!/usr/bin/env node
// First: it decides how msgpackr decodes strings, which msgpackr reads once, on load.
import './msgpack-strings.js';
import { Command, CommanderError } from 'commander';
import { exitCodeOf, isStatscacheError } from '../actors/errors.js';
import { loadConfig, unknownEnvNames, type Config, type ConfigKey } from './config.js';
import { addSettingOptions, configFileOf, configFileOption, flagValues, settingOption } from './cli-options.js';
import { DEFAULT_MAX_FRAME_BYTES } from './envelope-limits.js';
import { DEFAULT_REPLICA_QUEUE_MAX_BYTES, DEFAULT_UPSTREAM_QUEUE_MAX_BYTES } from './proxy-queue.js';
import { DEFAULT_REPLICA_MAX_CONNECTIONS, DEFAULT_REPLICA_MAX_PER_ADDRESS } from './proxy-admission.js';
import { DEMO_DEFAULTS } from './settings.js';
import { defaultOf } from './setting-derive.js';
import { exitProcess } from './process-exit.js';
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

async function runService(config: Config, withSimulator: boolean, configFile?: string): Promise<void> {
  const { createLogger, errorText, LogOutput } = await import('./logger.js');
  // Bounded: a stopped reader of stdout costs dropped lines (counted, told by /readyz), never a stopped service.
  const logOutput = new LogOutput({ maxBytes: config.logBufferBytes });
  const log = createLogger(config.logLevel, logOutput);
  for (const { name, nearest } of unknownEnvNames(process.env))
    log.warn(
      { variable: name, nearest },
      `environment variable ${name} is no setting and is ignored; did you mean ${nearest}?`,
    );
  // Loaded here, not at the top: operator commands should not pay for uWS, ZeroMQ and XState.
  const { answerWhileStarting } = await import('./startup-health.js');
  // Probes find the process alive (and not ready) through the checks and the restore below.
  const starting = await answerWhileStarting(
    config,
    (err) => log.error({ err: errorText(err) }, 'start-up probe answer failed'),
    logOutput,
  );
  // Started now, idle until a stop arms it: a stop can come as soon as the service is built.
  const { StopWatch } = await import('./stop-watch.js');
  const stopWatch = new StopWatch((err) =>
    log.error(
      { err: errorText(err) },
      'the stop watch thread failed: a stop stuck on the main thread is ended only by the supervisor',
    ),
  );
  let service: import('./service.js').Service | null = null;
  /** The stop asked for, done once the service is built (at once if it is). */
  let stopping: { readonly code: number } | null = null;
  /** Filling an empty data dir from a peer (--bootstrap): minutes, maybe, and nothing to snapshot yet. */
  let bootstrapping = false;
  const stop = (code: number) =>
    service?.stop().then(
      () => exitProcess(code),
      (err) => {
        log.error({ err: errorText(err) }, 'stop failed');
        exitProcess(1);
      },
    );
  const shutdown = (signal: string, code = 0, cause?: Error) => {
    if (stopping) return;
    stopping = { code };
    // First: whatever holds this thread from the next line on holds the timer below with it.
    stopWatch.arm(signal, config.stopTimeout);
    if (cause)
      log.error({ err: cause.message }, 'stopping: intake failed; exiting with status 1 for the supervisor to restart');
    else log.info({ signal }, 'stopping');
    // A stop that hangs (a wedged disk) must not keep the process forever: this timer ends it
    // cleanly (its line logged, status 1) while this thread turns; the stop watch if it does not.
    // Not unref'd: a stop left waiting on a promise that never settles (a disk refusing the
    // last writes) would otherwise let the event loop drain and the process exit 0 in silence.
    // It bounds a stop that waits for the service's build, too (a restore, a bootstrap).
    setTimeout(() => {
      log.error({ stopTimeout: config.stopTimeout }, 'graceful stop took too long; exiting');
      exitProcess(1);
    }, config.stopTimeout * 1000);
    // exitProcess, not process.exit: that joins the worker threads, and one stuck in a native
    // call (the bus thread past --thread-hang-timeout) held the process up for good.
    // During a bootstrap: ended at once, as the signal's default ended it before (what it
    // imported so far is what that left too), not after the download and the build.
    if (service === null && bootstrapping) exitProcess(code);
    else stop(code);
  };
  // Before the build, not after it: a stop during it (a restore, a bootstrap from a peer) met
  // Node's default and killed the process, with no final snapshot; it is now done once the
  // service is built.
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    // External plugins load asynchronously, so before the (synchronous) build; relative paths are relative to the config file.
    const { pluginsForConfig } = await import('./plugin-loader.js');
    const plugins = await pluginsForConfig(config, configFile);
    // Before the service opens (and restores) the data dir: an empty one is filled from the peer first.
    if (config.bootstrap !== null) {
      bootstrapping = true;
      config = await (await import('./bootstrap.js')).bootstrapFromPeer(config, log, { plugins });
      bootstrapping = false;
    }
    // Locked, and its checker children started, before the service's modules load: they run
    // meanwhile on the other core (the check of a snapshot is ~0.3-1 s of a start's wall time).
    const claimed = (await import('./service-build.js')).claimDataDir({ config });
    // Its start (Node's, its modules') runs on the other core while the service loads and is
    // built; the service's subscribe takes it. Not before the refusals that come at once (a
    // bootstrap into a used folder, a data dir another process holds): ending a thread while
    // zeromq's addon loads in it aborts the process, and their exit status was lost to SIGABRT.
    if (config.busThread) (await import('./bus-thread-ahead.js')).prestartBusThread();
    const { Service } = await import('./service.js');
    // Intake died (a bus receive loop ended): keep what we have (final snapshot), then exit 1 so a supervisor restarts us.
    service = await Service.build({
      config,
      logger: log,
      logOutput,
      stopWatch,
      plugins,
      claimed,
      onFatal: (err) => shutdown('intake failed', 1, err),
    });
  } finally {
    // The service listens on the port itself from start() on.
    starting?.close();
  }
  // Asked for during the build: done now, and nothing is started (the final snapshot is written).
  // (Set by a signal handler meanwhile, which the compiler does not follow.)
  const asked = stopping as { readonly code: number } | null;
  if (asked !== null) {
    stop(asked.code);
    return;
  }
  try {
    await service.start();
  } catch (err) {
    // Not started (port in use…): give the data dir back before exiting, pid file included.
    await service.close().catch(() => undefined);
    throw err;
  }
  // Stopped while starting: shutdown() exits once the stop is done; nothing more to open.
  if (stopping) return;
  if (withSimulator) {
    const target = service.subscription?.bound[0];
    if (!target) throw new Error('the demo needs a --bind endpoint for its simulator to publish to');
    const { simulate } = await import('./simulator.js');
    await simulate({ connect: target, ratePerSecond: 20, log });
    log.info(
      { target, open: `http://${config.host}:${service.server?.port}/api/volume-by-category-1m` },
      'demo traffic simulator publishing',
    );
  }
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
