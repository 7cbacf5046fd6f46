import { type BusHooks, type BusOptions, type BusSubscription, HARD_FRAME_FACTOR, subscribe } from './bus.js';
import type { EndpointState, EndpointStatus } from './bus.js';
import { threadLimits } from './bus-prepare.js';
import { configBudget } from './bus-budget.js';
import { subscribeThreaded } from './bus-thread.js';
import { BusThreadHungError, StartGivenUpError } from './bus-thread-failures.js';
import { systemClock } from './clock.js';
import { descriptorShortfall, openFilesLimit } from './descriptor-limit.js';
import { watchHangs } from './hang-watch.js';
import type { HttpRequest, HttpResponse } from './http/responses.js';
import { listen } from './http/uws-server.js';
import { liveServerParts } from './http/ws-wiring.js';
import { errorText } from './logger.js';
import { logRestore } from './restore-log.js';
import type { ServiceParts } from './service-parts.js';

/** What the start sequence calls back on the service itself. */
export interface Startable {
  /** Every HTTP request, routed (service-http.ts). */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse>;
  /** One bus message from its source, when the bus thread is off. */
  ingest(frames: readonly Uint8Array[], source: string): void | Promise<void>;
  recover(): Promise<void>;
  snapshot(): Promise<unknown>;
  readonly metrics: { start(): void };
}

/**
 * Service.start(): opens HTTP, subscribes to the bus (holding live messages back), replays the
 * journal and backfills (recover()), then lets live messages in. Each await is where stop() may
 * come in: what is opened goes through state.step() so a stop waits for it and closes it.
 */
export async function startService(s: ServiceParts, service: Startable): Promise<void> {
  const { config, log, state } = s;
  // MDB_PANIC (store-write-errors.ts): no write or read of the data file can succeed again in
  // this process, held journal records included; a restart opens it afresh. Ended as a dead
  // intake is: /healthz 503 naming it, then exit 1 for the supervisor.
  s.store.onPanic((err) => die(s, err.message));
  logRestore(s.log, s.restored, s.futureRowsDropped, s.boundsEvicted);
  // Before the replay: a plugin can hang on a journaled message as well as on a live one.
  state.hangWatch = watchHangs(s.host, config.dataDir, config.pluginHangTimeout, s.heapWatch.share, (err) => {
    state.hangWatchFailed = `plugin hang watch thread failed (${String((err as Error)?.message ?? err)}): a plugin that hangs now holds every read and probe until restart (--plugin-hang-timeout no longer applies)`;
    log.error({ err: errorText(err) }, 'the plugin hang watch thread failed: hangs go unnoticed until restart');
  });
  service.metrics.start();
  s.heapWatch.start();
  // Warned, not refused: the default cap (10,000) is over the soft limit of many hosts whose
  // service never sees that many clients, and refusing would stop it from starting at all.
  const openFiles = openFilesLimit();
  const shortfall = descriptorShortfall(openFiles, config.wsMaxConnections);
  if (shortfall) log.warn({ openFilesLimit: openFiles, wsMaxConnections: config.wsMaxConnections }, shortfall);
  const live = liveServerParts(s.hub, config);
  state.server = await state.step(
    listen(
      { host: config.host, port: config.port, ...live.options },
      (req) => service.handle(req),
      live.ws,
      (err) => log.error({ err: errorText(err) }, 'request handler failed'),
      live.sse,
    ),
  );
  if (state.abort.signal.aborted) return;
  if (!state.server.native)
    log.warn('uWebSockets.js native binary did not load for this Node.js; using the slow JS fallback');
  // Subscribe first so nothing published from now on is missed; the gate holds it back.
  const budget = configBudget(config);
  if (budget) log.info({ busQueueMaxBytes: config.busQueueMaxBytes, ...budget }, 'bus queue bounded in bytes');
  const busOptions: BusOptions = {
    connect: config.connect,
    bind: config.bind,
    topics: config.topic,
    maxMessageBytes: config.maxFrameBytes * HARD_FRAME_FACTOR,
    queueMax: budget?.connectQueue ?? config.busQueueMax,
    ...(budget ? { bindQueueMax: budget.bindQueue } : {}),
    keepaliveSeconds: config.busKeepalive,
  };
  const busHooks: Omit<BusHooks, 'onFrames'> = {
    onReceiveError: (err, source) => s.busIngest.failed(err, source),
    onLoopEnd: (err, source) => {
      if (err instanceof BusThreadHungError) state.busThreadHangs++;
      die(s, `bus receive loop for ${source} ended${err ? `: ${String((err as Error)?.message ?? err)}` : ''}`);
    },
    onReconnect: (info) => s.missed.busReconnected(info),
    onEndpoint: (status: EndpointStatus, previous: EndpointState) => s.missed.endpointChanged(status, previous),
    now: () => s.clock.now(),
  };
  let subscription: BusSubscription;
  try {
    // Stored as it opens, in the step stop() waits on (state.opening), not after start()'s own
    // await: which of two awaits of one promise resumes first is an accident of how many hops
    // each took, and a stop that resumed first found nothing to close, so the exit met the bus
    // thread's sockets open (SIGABRT, test/e2e/stop-while-starting.test.ts).
    const subscribing = config.busThread
      ? subscribeThreaded(
          busOptions,
          {
            limits: threadLimits(config),
            lingerMs: config.busLinger,
            tickMs: config.wsTickMs,
            hangTimeoutMs: config.threadHangTimeout * 1000,
            startTimeoutMs: config.threadStartTimeout * 1000,
            fillTimestamps: s.clock === systemClock,
            ...(budget
              ? { maxInFlight: budget.inFlightMessages, maxInFlightBytes: budget.inFlightBytes, readThrough: true }
              : {}),
          },
          // close() keeps no state: what the bus thread hands over after it goes nowhere (stop() journals it).
          { ...busHooks, onBatch: (messages) => (state.released ? undefined : s.busIngest.prepared(messages)) },
          state.abort.signal,
        )
      : subscribe(busOptions, { ...busHooks, onFrames: (frames, source) => service.ingest(frames, source) });
    subscription = await state.step(
      subscribing.then((opened) => {
        state.subscription = opened;
        return opened;
      }),
    );
  } catch (err) {
    // Stopped while the bus thread had not begun: it was ended, and the stop goes on without it.
    if (err instanceof StartGivenUpError) return;
    throw err;
  }
  // Stopped meanwhile: stop() closes what was opened; nothing more is started.
  if (state.abort.signal.aborted) return;
  // Deliveries wait behind the same gate as ZeroMQ frames; unacked, the broker holds the rest.
  // An AMQP input thread gone for good (past --amqp-thread-restarts) is intake stopped as the
  // bus thread's end is, whatever else still consumes: a restart is the remedy for both, and
  // a supervisor restarts only a process whose /healthz fails or that exits.
  s.amqp.start((reason) => die(s, reason));
  // On wall-clock multiples: the bus thread hands its batches over just before each (bus-linger.ts).
  state.timers.push(s.clock.aligned(config.wsTickMs, () => s.hub.tick()));
  log.info(
    {
      http: `http://${config.host}:${state.server.port}`,
      port: state.server.port,
      trustProxy: config.trustProxy,
      bound: subscription.bound,
      connected: subscription.connected,
      topics: config.topic,
      amqp: s.amqp
        .reports()
        .map((r) => ({ input: r.input, state: r.state, queue: config.amqpQueue, bindings: config.amqpBinding })),
      plugins: s.host.idents.length,
      dataDir: config.dataDir,
      datagrepper: config.datagrepper,
    },
    'statscache listening',
  );
  await service.recover();
  // Damage met during replay was logged by the replay itself.
  s.snapshots.damageSeen();
  if (state.abort.signal.aborted) return;
  state.timers.push(
    s.clock.every(config.snapshotInterval * 1000, () => void s.snapshots.periodic()?.catch(() => undefined)),
  );
  state.phase = 'running';
  // Replay is over: a message held that briefly is no longer written down (applying-mark.ts).
  state.hangWatch?.live();
  state.liveGate.open();
  s.missed.running();
  // In the background: until it is built, de-duplication reads the id index for every new id.
  void s.journal.known.build();
  log.info({ journalSeq: s.journal.position }, 'ready: consuming the bus live');
}

/**
 * Intake can no longer work (a bus receive loop ended, the AMQP input thread is gone for good,
 * the data file failed for good):
 * /healthz fails and the owner (the CLI) is told to exit non-zero.
 */
function die(s: ServiceParts, reason: string): void {
  const { state } = s;
  if (state.phase === 'stopping' || state.phase === 'stopped' || state.fatal !== null) return;
  state.fatal = reason;
  // Told before logging: the log itself may be what broke.
  s.onFatal?.(new Error(reason));
  s.log.error({ reason }, 'intake stopped; /healthz now fails');
}
