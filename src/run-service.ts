/**
 * `serve` and `demo` as a process: the start-up probes answered while it builds, the stop watch,
 * the signal handlers (installed before the build, so a stop during a restore or a bootstrap
 * still ends in a final snapshot), the build and start, and the stop with its bounds. The
 * service's own modules load here, lazily: operator commands (cli.ts) do not pay for uWS,
 * ZeroMQ and XState.
 */
import { type Config, unknownEnvNames } from './config.js';
import { exitOnUncaught, exitProcess } from './process-exit.js';

export async function runService(config: Config, withSimulator: boolean, configFile?: string): Promise<void> {
  // First: an uncaught exception from here on ends the process through exitProcess.
  exitOnUncaught();
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
    // Intake died (a bus receive loop ended, the AMQP input thread gone for good): keep what we have (final snapshot), then exit 1 so a supervisor restarts us.
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
