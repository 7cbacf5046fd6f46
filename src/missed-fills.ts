/**
 * Messages an input lost while it was cut off (a ZeroMQ endpoint that reconnected or connected
 * late, an AMQP input on a new queue): each loss is logged and, with --datagrepper, backfilled
 * from the newest message held or the drop, at once when running or once running when starting.
 */
import type { EndpointStatus } from './bus.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Intake } from './intake.js';
import { throttled, type Logger } from './logger.js';
import type { Recovery } from './recovery.js';
import type { Phase } from './service-state.js';

export interface MissedFillsOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly intake: Intake;
  readonly recovery: Recovery;
  readonly phase: () => Phase;
  /** Where the start-up backfill cut its window (epoch s), null before it did (startup-backfill.ts). */
  readonly startupWindowEnd: () => number | null;
}

export class MissedFills {
  /**
   * Inputs that lost messages before the service was running (a ZeroMQ endpoint that reconnected,
   * an AMQP input back on a new queue), by input: the earliest drop, and how to fill from it. The
   * start-up backfill cut its window when it started, so what was published past that window while
   * one was cut off reached neither; they are filled once running. Bounded by the configured inputs.
   */
  private readonly lostWhileStarting = new Map<string, { downSince: number; fill: (downSince: number) => void }>();
  /**
   * `--connect` endpoints not connected when the start-up backfill cut its window, with that time
   * (epoch ms): what one publishes before it connects is in neither the window nor the bus (a
   * publisher unreachable when the service started), so it is filled from then once it connects,
   * as a reconnect is. Unless it connects on the attempt that was under way at the cut without
   * ever failing: then only its TCP handshake was missed, as on every connection, and a fill
   * would take the gap backfill's turn (--gap-backfill-interval) on every start. Bounded by the
   * configured endpoints.
   */
  private readonly unconnectedAtCut = new Map<string, { readonly cut: number; failed: boolean }>();
  private readonly endpointLog: ReturnType<typeof throttled>;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly intake: Intake;
  private readonly recovery: Recovery;

  constructor(private readonly options: MissedFillsOptions) {
    this.config = options.config;
    this.log = options.log;
    this.clock = options.clock;
    this.intake = options.intake;
    this.recovery = options.recovery;
    // An endpoint that keeps failing retries every second: one line a minute per endpoint is enough.
    this.endpointLog = throttled(() => this.clock.now(), 60_000, 1);
  }

  private get phase(): Phase {
    return this.options.phase();
  }

  /** An AMQP input resumed on a queue made anew since `downSince` (epoch ms). */
  amqpResumed(input: string, downSince: number): void {
    this.whenRunning(`amqp ${input}`, downSince, (since) => this.amqpQueueLost(input, since));
  }

  /** An AMQP input consumes its first queue. */
  amqpFirstQueue(input: string): void {
    const { config } = this;
    // Made before the start-up window was cut, the first queue missed nothing that window does not cover.
    const end = this.options.startupWindowEnd();
    if (end !== null && config.datagrepper)
      this.whenRunning(`amqp ${input}`, end * 1000, (since) => this.amqpFirstQueueLate(input, since));
  }

  /** A `--connect` endpoint came back after it dropped at `downSince` (epoch ms). */
  busReconnected({ address, downSince }: { address: string; downSince: number }): void {
    this.log.warn(
      { address, downSince: new Date(downSince).toISOString() },
      'bus endpoint reconnected; messages published meanwhile were missed',
    );
    this.whenRunning(`bus ${address}`, downSince, (since) => this.fillSince(since));
  }

  /**
   * The start-up backfill cut its window at `cut` (epoch ms): the `endpoints` not connected at
   * that moment are filled from then once they connect.
   */
  windowCut(cut: number, endpoints: readonly EndpointStatus[]): void {
    for (const e of endpoints)
      if (e.state !== 'connected') this.unconnectedAtCut.set(e.endpoint, { cut, failed: e.state !== 'connecting' });
  }

  /** The service is running: fills what inputs lost while it was starting. */
  running(): void {
    for (const { downSince, fill } of this.lostWhileStarting.values()) fill(downSince);
    this.lostWhileStarting.clear();
  }

  endpointChanged(status: EndpointStatus, previous: string): void {
    const unconnected = this.unconnectedAtCut.get(status.endpoint);
    if (status.state === 'connected') {
      if (previous !== 'connecting')
        this.log.info({ endpoint: status.endpoint, after: previous }, 'bus endpoint connected');
      this.unconnectedAtCut.delete(status.endpoint);
      if (unconnected?.failed) {
        this.log.warn(
          { endpoint: status.endpoint, since: new Date(unconnected.cut).toISOString() },
          'bus endpoint connected only after the start-up backfill read the history; backfilling what was published since',
        );
        this.whenRunning(`bus ${status.endpoint}`, unconnected.cut, (since) => this.fillSince(since));
      }
      return;
    }
    if (unconnected !== undefined) unconnected.failed = true;
    this.endpointLog(`endpoint:${status.endpoint}`, (suppressed) =>
      this.log.warn(
        {
          endpoint: status.endpoint,
          state: status.state,
          lastError: status.lastError,
          retries: status.retries,
          suppressed,
        },
        'bus endpoint not connected; libzmq keeps retrying',
      ),
    );
  }

  /**
   * An AMQP input consumes its first queue (server-named) only after the start-up backfill cut its
   * window at `windowEnd` (epoch ms): a broker out of reach at start-up, or a connect slower than
   * the replay. What was published in between reached neither, and a first queue is no reconnect.
   */
  private amqpFirstQueueLate(input: string, windowEnd: number): void {
    this.log.warn(
      { input, windowEnd: new Date(windowEnd).toISOString() },
      'AMQP input consuming its first queue after the start-up backfill window ended; backfilling what was published meanwhile',
    );
    // The start-up backfill read up to there (and reads its tail again for what the history archives late).
    this.recovery.fillGap({ start: windowEnd / 1000, end: this.clock.now() / 1000 });
  }

  /** An AMQP input consumes a queue made anew since `downSince` (epoch ms): what was published meanwhile never reached it. */
  private amqpQueueLost(input: string, downSince: number): void {
    const { config, log } = this;
    if (!config.datagrepper) {
      // As a ZeroMQ reconnect says so: the loss is the operator's to know, even with nothing to fill it.
      log.warn(
        { input, downSince: new Date(downSince).toISOString() },
        'AMQP input reconnected on a new queue (server-named, or the durable one was deleted); messages published meanwhile were missed (no --datagrepper to backfill them)',
      );
      return;
    }
    log.warn(
      { input, downSince: new Date(downSince).toISOString() },
      'AMQP input reconnected on a new queue (server-named, or the durable one was deleted); backfilling what was published meanwhile',
    );
    this.fillSince(downSince);
  }

  /** Backfills everything since the newest message we have or the drop at `downSince` (epoch ms), minus the usual overlap. */
  private fillSince(downSince: number): void {
    const from = Math.min(this.intake.newestTimestamp || downSince / 1000, downSince / 1000);
    this.recovery.fillGap({ start: from - this.config.backfillOverlap, end: this.clock.now() / 1000 });
  }

  /**
   * Runs `fill` for an input that missed what was published since `downSince` now if running, or
   * once running if still starting (the earliest drop per input covers its later ones); not at all
   * when stopping.
   */
  private whenRunning(input: string, downSince: number, fill: (downSince: number) => void): void {
    if (this.phase === 'running') fill(downSince);
    else if (this.phase !== 'stopping' && this.phase !== 'stopped') {
      const earlier = this.lostWhileStarting.get(input)?.downSince ?? downSince;
      this.lostWhileStarting.set(input, { downSince: Math.min(earlier, downSince), fill });
    }
  }
}
