/**
 * --bus-queue-max-bytes: one byte budget for bus messages received and not yet applied, split
 * so that each part's worst case is within its share. --bus-queue-max alone bounds messages,
 * and a message may be up to HARD_FRAME_FACTOR × --max-frame-bytes per frame before libzmq
 * refuses it: 50,000 queued messages of 1 MiB frames was a worst case of ~400 GB.
 *
 * Half the budget is libzmq's: its receive queue counts messages only (ZMQ_RCVHWM), so the
 * bound in messages is derived from the share and the largest message libzmq reads, per
 * connection (each --connect endpoint, and each of up to 16 publishers on the --bind socket). The other half is JavaScript's, counted in bytes: what the bus thread has handed
 * over and the main thread not yet taken in (its credit), and what the intake has accepted and
 * not yet committed and applied. The bus thread reads on while that is under its share, so a
 * burst of small messages waits in JavaScript (as many as --bus-queue-max) while libzmq holds
 * only a few large ones; at the share it stops reading, libzmq fills its few, TCP pushes back
 * and the publisher drops past its send high-water mark (counted as seq_id gaps).
 */
import { BIND_PUBLISHERS, bindQueue, HARD_FRAME_FACTOR } from './bus-queue.js';

/**
 * Frames per bus message the libzmq share is sized for: fedmsg's topic and body. libzmq bounds
 * each frame (ZMQ_MAXMSGSIZE) but not how many a message has, nor can its queue be asked to
 * (a 401-frame message of 200 MiB passed a queue bound of 1 and a 1 MiB frame cap): a
 * publisher sending many-frame messages is outside this budget (docs/deployment.md).
 */
export const BUS_MESSAGE_FRAMES = 2;

/** Messages the bus thread may have handed over unanswered without a byte budget (as before it). */
export const DEFAULT_MAX_IN_FLIGHT = 8192;

export interface BusBudgetInput {
  readonly bytes: number;
  readonly maxFrameBytes: number;
  readonly busQueueMax: number;
  readonly connects: number;
  readonly bind: boolean;
}

export interface BusBudget {
  /** ZMQ_RCVHWM of each --connect socket. */
  readonly connectQueue: number;
  /** ZMQ_RCVHWM of the --bind socket, which libzmq applies to each publisher connected to it. */
  readonly bindQueue: number;
  /** Bytes the bus thread may have handed over and not had answered (it stops reading past them). */
  readonly inFlightBytes: number;
  /** Messages likewise: --bus-queue-max, so a burst of small messages waits here instead of in libzmq. */
  readonly inFlightMessages: number;
  /** Bytes the intake may hold accepted and not yet committed before the bus waits for the journal. */
  readonly uncommittedBytes: number;
}

/** The most bytes libzmq holds for one message it reads: every frame at the hard cap. */
export function largestMessage(maxFrameBytes: number): number {
  return BUS_MESSAGE_FRAMES * HARD_FRAME_FACTOR * maxFrameBytes;
}

/**
 * libzmq's connections: one per --connect socket and, for the --bind socket, BIND_PUBLISHERS
 * (libzmq queues per publisher connected to it; up to that many share its part of the budget).
 */
function connections(input: Pick<BusBudgetInput, 'connects' | 'bind'>): number {
  return input.connects + (input.bind ? BIND_PUBLISHERS : 0);
}

/**
 * Per connection libzmq holds its queue plus the message it is reading (allocated whole when
 * its size arrives, and held while the queue is full): (queue + 1) × largestMessage.
 */
function queueFor(share: number, maxFrameBytes: number): number {
  return Math.floor(share / largestMessage(maxFrameBytes)) - 1;
}

/** The smallest budget that leaves every libzmq connection a queue of one message. */
export function minimumBudget(input: Omit<BusBudgetInput, 'bytes' | 'busQueueMax'>): number {
  // A queue of one plus the message being read, per connection; the JavaScript half as large.
  return 2 * 2 * largestMessage(input.maxFrameBytes) * Math.max(1, connections(input));
}

/** The bounds a byte budget implies; null if it is too small for one message per connection. */
export function busBudget(input: BusBudgetInput): BusBudget | null {
  if (input.bytes < minimumBudget(input)) return null;
  const libzmq = Math.floor(input.bytes / 2);
  const js = input.bytes - libzmq;
  const queue = queueFor(Math.floor(libzmq / Math.max(1, connections(input))), input.maxFrameBytes);
  return {
    connectQueue: Math.min(input.busQueueMax, queue),
    bindQueue: Math.min(bindQueue(input.busQueueMax), queue),
    inFlightBytes: Math.floor(js / 2),
    inFlightMessages: Math.max(DEFAULT_MAX_IN_FLIGHT, input.busQueueMax),
    uncommittedBytes: js - Math.floor(js / 2),
  };
}

/** The budget of a loaded config (loadConfig refused one too small), or null without --bus-queue-max-bytes. */
export function configBudget(config: {
  readonly busQueueMaxBytes: number | null;
  readonly maxFrameBytes: number;
  readonly busQueueMax: number;
  readonly connect: readonly string[];
  readonly bind: readonly string[];
}): BusBudget | null {
  if (config.busQueueMaxBytes === null) return null;
  return busBudget({
    bytes: config.busQueueMaxBytes,
    maxFrameBytes: config.maxFrameBytes,
    busQueueMax: config.busQueueMax,
    connects: config.connect.length,
    bind: config.bind.length > 0,
  });
}
