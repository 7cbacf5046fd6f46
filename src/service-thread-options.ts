import type { AmqpInputsDeps } from './amqp-inputs-deps.js';
import { AMQP_THREAD_MAX_IN_FLIGHT_BYTES, AMQP_THREAD_MIN_BYTES } from './amqp-prepare-options.js';
import { threadLimits } from './bus-prepare.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import type { ServiceOptions } from './service-options.js';
import type { ReplayThreadOptions } from './startup-replay.js';

/**
 * Which of the service's work runs on a thread of its own, and with what, from the config: the
 * journal replay's (Recovery), the AMQP inputs' connections and the large deliveries' preparing
 * (AmqpInputs). Undefined or null: that work stays on the main thread.
 */

/** The replay thread's options (replay-thread.ts). */
export function replayThreadOptions(config: Config, options: ServiceOptions): ReplayThreadOptions | undefined {
  // A custom meta deriver is a function of this thread: the replay thread could not use it.
  return config.replayThread && !options.deriveMeta
    ? {
        dir: config.dataDir,
        maxFanout: config.maxFanout,
        worthUs: options.replayThreadWorthUs,
        minEntries: options.replayThreadMinEntries,
        hangTimeoutMs: config.threadHangTimeout * 1000,
        startTimeoutMs: config.threadStartTimeout * 1000,
      }
    : undefined;
}

/** The thread every AMQP input's connection lives on (--amqp-input-thread; amqp-input-thread.ts). */
export function amqpInputThreadOptions(
  config: Config,
  clock: Clock,
  options: ServiceOptions,
): AmqpInputsDeps['inputThread'] {
  // The thread reads the system clock, and could not call a custom meta deriver.
  return config.amqpInputThread && clock === systemClock && !options.deriveMeta
    ? {
        limits: threadLimits(config),
        hangTimeoutMs: config.threadHangTimeout * 1000,
        startTimeoutMs: config.threadStartTimeout * 1000,
        restarts: config.amqpThreadRestarts,
        clock,
      }
    : null;
}

/** The thread that prepares large AMQP deliveries (--amqp-thread; amqp-prepare-thread.ts). */
export function amqpPrepareThreadOptions(
  config: Config,
  clock: Clock,
  options: ServiceOptions,
): AmqpInputsDeps['thread'] {
  // A custom meta deriver is a function of this thread: the prepare thread could not use it.
  return config.amqpThread && !options.deriveMeta
    ? {
        limits: threadLimits(config),
        fillTimestamps: clock === systemClock,
        minBytes: AMQP_THREAD_MIN_BYTES,
        maxInFlightBytes: AMQP_THREAD_MAX_IN_FLIGHT_BYTES,
        hangTimeoutMs: config.threadHangTimeout * 1000,
        startTimeoutMs: config.threadStartTimeout * 1000,
        restarts: config.amqpThreadRestarts,
        clock,
      }
    : null;
}
