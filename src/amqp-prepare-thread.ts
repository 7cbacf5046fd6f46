/**
 * The main thread's side of the AMQP prepare thread (amqp-prepare-worker.ts): started on the
 * first large delivery, it decodes, bounds, hashes and encodes deliveries whose body is at least
 * `minBytes`, which cost the main thread ~130 ms each for a 700 KB body of 49 k unsorted keys
 * (bench/amqp-intake.ts); HTTP reads, pushes and snapshots waited behind every one. What the
 * thread cannot do, or a thread that failed, hung or exited, leaves a delivery to the main
 * thread (null): intake goes on at the old cost, and the failure is reported (onFailed). A fresh
 * thread is started after a back-off, a bounded number of times in a row (thread-restarts.ts),
 * and handed deliveries once it says it is up (onRestarted).
 */
import { Worker } from 'node:worker_threads';
import type { Delivery } from './amqp-message.js';
import { toWireDelivery } from './amqp-prepare.js';
import { type OffThread, unpack } from './amqp-prepare-answer.js';
import type { FromPrepareThread, PrepareAnswer, PrepareWorkerData } from './amqp-prepare-protocol.js';
import { PrepareOutbox } from './amqp-prepare-outbox.js';
import { after } from './clock.js';
import type { PrepareThreadOptions } from './amqp-prepare-options.js';
import { trackThread } from './process-exit.js';
import { PulseWatch } from './thread-pulse.js';
import { ThreadRestarts } from './thread-restarts.js';

/** How long close() waits for the thread to end before it lets it go (unref'd, it holds nothing). */
const CLOSE_WAIT_MS = 2000;

/** Under vitest the sources are TypeScript; the thread always runs the built file. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/amqp-prepare-worker.js', import.meta.url)
  : new URL('./amqp-prepare-worker.js', import.meta.url);

interface Job {
  readonly job: number;
  readonly delivery: Delivery;
  readonly resolve: (prepared: OffThread) => void;
}

export class AmqpPrepareThread {
  private worker: Worker | null = null;
  private watch: PulseWatch | null = null;
  /** The last failure while no thread serves since (none up yet after it, or none ever again). */
  private failure: string | null = null;
  /** When the serving thread said it was up (service clock), null before. */
  private upAt: number | null = null;
  private cancelRestart: (() => void) | null = null;
  private readonly restarts: ThreadRestarts;
  private failureCount = 0;
  private restartCount = 0;
  private closed = false;
  private nextJob = 0;
  private inFlightBytes = 0;
  private readonly inFlight = new Map<number, Job>();
  private readonly waiting: Job[] = [];
  /** Handed over this turn, posted together at its end. */
  private readonly outbox = new PrepareOutbox(
    () => this.worker,
    (job) => {
      // Its room in flight is free again: what waited for it goes now.
      this.settle(job, null);
      this.pump();
    },
  );

  constructor(private readonly options: PrepareThreadOptions) {
    this.restarts = new ThreadRestarts(options.restarts);
  }

  /** Why no thread serves (the last one failed, hung or exited, and no fresh one is up yet or will be), or null. */
  get failed(): string | null {
    return this.failure;
  }

  /** Threads that failed, hung or exited this run (statscache_intake_total{event="amqp_thread_failures"}). */
  get failures(): number {
    return this.failureCount;
  }

  /** Messages of deliveries posted to the thread this run (one per turn that handed some over). */
  get handOvers(): number {
    return this.outbox.posted;
  }

  /** Fresh threads started after failures this run. */
  get restarted(): number {
    return this.restartCount;
  }

  /** The degraded reason (/healthz, /readyz): the failure, and until when the main thread decodes, or null. */
  problem(): string | null {
    if (this.failure === null) return null;
    const { max, attempt } = this.restarts;
    if (this.cancelRestart !== null || this.worker !== null)
      return `${this.failure}; large AMQP deliveries are decoded on the main thread until a fresh thread is up (restart ${attempt} of ${max} in a row, --amqp-thread-restarts)`;
    const spent = max > 0 ? `${max} fresh thread${max > 1 ? 's' : ''} in a row failed too; ` : '';
    return `${this.failure}; large AMQP deliveries are decoded on the main thread until the service restarts (${spent}--amqp-thread-restarts ${max})`;
  }

  /** Whether `delivery` goes to the thread (its size bound is judged first, on the main thread). */
  wants(delivery: Delivery): boolean {
    return this.failure === null && !this.closed && delivery.content.byteLength >= this.options.minBytes;
  }

  prepare(delivery: Delivery): Promise<OffThread> {
    return new Promise((resolve) => {
      this.waiting.push({ job: this.nextJob++, delivery, resolve });
      this.pump();
    });
  }

  /** After the inputs closed (nothing is in flight then; anything that is goes back to the main thread). */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelRestart?.();
    this.cancelRestart = null;
    this.release();
    const worker = this.worker;
    this.worker = null;
    // Bounded: a thread stuck in a native call is not ended by terminate(), and must not hold the stop.
    if (worker)
      await Promise.race([worker.terminate(), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as Job;
      const bytes = next.delivery.content.byteLength;
      if (this.inFlight.size > 0 && this.inFlightBytes + bytes > this.options.maxInFlightBytes) return;
      this.waiting.shift();
      const worker = this.started();
      if (worker === null) {
        next.resolve(null);
        continue;
      }
      // A copy in a buffer of its own, transferred: amqplib's may be a view of a larger one,
      // all of which a structured clone would copy. set() copies in one go; new Uint8Array(a
      // Buffer) copied element by element, 3.7 ms for a 700 KB body against 0.6.
      const content = new Uint8Array(next.delivery.content.byteLength);
      content.set(next.delivery.content);
      this.inFlight.set(next.job, next);
      this.inFlightBytes += bytes;
      this.outbox.add(worker, next.job, toWireDelivery(next.delivery, content), content.buffer);
    }
  }

  /** The thread, started on the first large delivery; null while none serves. */
  private started(): Worker | null {
    if (this.failure !== null || this.closed) return null;
    return this.worker ?? this.spawn();
  }

  private spawn(): Worker {
    const { hangTimeoutMs, startTimeoutMs } = this.options;
    const watch = new PulseWatch({ hangMs: hangTimeoutMs, startMs: startTimeoutMs }, (stillMs, stage) =>
      this.fail(
        worker,
        `the AMQP prepare thread made no progress for ${Math.round(stillMs / 1000)} s${stage === 'loading' ? ' after it was created' : ''} (--thread-${stage === 'loading' ? 'start' : 'hang'}-timeout): ended`,
      ),
    );
    const data: PrepareWorkerData = {
      limits: this.options.limits,
      fillTimestamps: this.options.fillTimestamps,
      pulse: watch.buffer,
    };
    const worker = new Worker(WORKER_URL, { workerData: data });
    trackThread(worker, 'the AMQP prepare thread');
    // Never what keeps the process alive: it only answers deliveries, which a connection brings.
    worker.unref();
    // A thread ended (failed, or replaced) still says things as it goes: only the current one is heard.
    worker.on('message', (message: FromPrepareThread) => {
      if (worker === this.worker) this.received(message);
    });
    worker.on('error', (err) => this.fail(worker, `the AMQP prepare thread failed: ${String(err?.message ?? err)}`));
    worker.on('exit', (code) => this.fail(worker, `the AMQP prepare thread exited (code ${code})`));
    this.worker = worker;
    this.watch = watch.start();
    return worker;
  }

  private received(message: FromPrepareThread): void {
    if (message.kind === 'answers') {
      for (const answer of message.answers) this.settle(answer.job, answer);
      this.pump();
      return;
    }
    this.upAt = this.options.clock.now();
    // The first thread was handed deliveries from its start (one waited for it); a fresh one from now on.
    if (this.failure === null) return;
    this.failure = null;
    this.options.onRestarted(this.restarts.attempt);
  }

  /** Job `id` answered by the thread, or given back to the main thread (null). */
  private settle(id: number, answer: PrepareAnswer | null): void {
    const job = this.inFlight.get(id);
    if (job === undefined) return;
    this.inFlight.delete(id);
    this.inFlightBytes -= job.delivery.content.byteLength;
    job.resolve(answer === null ? null : unpack(answer));
  }

  private fail(worker: Worker, reason: string): void {
    if (worker !== this.worker || this.closed) return;
    this.worker = null;
    this.failure = reason;
    this.failureCount++;
    this.release();
    // Stuck in JavaScript it is interrupted; stuck in a native call it is let go (unref'd).
    void worker.terminate();
    const wait = this.restarts.next(this.options.clock.now(), this.upAt);
    this.upAt = null;
    if (wait !== null) this.cancelRestart = after(this.options.clock, wait, () => this.restart());
    this.options.onFailed(reason, wait);
  }

  /** Deliveries stay on the main thread until it says it is up (received): one that fails loading costs none. */
  private restart(): void {
    this.cancelRestart = null;
    if (this.closed) return;
    this.restartCount++;
    this.spawn();
  }

  /** Everything handed over or waiting goes back to the main thread, in order. */
  private release(): void {
    this.watch?.stop();
    this.watch = null;
    const jobs = [...this.inFlight.values(), ...this.waiting];
    this.outbox.clear();
    this.inFlight.clear();
    this.waiting.length = 0;
    this.inFlightBytes = 0;
    for (const job of jobs) job.resolve(null);
  }
}
