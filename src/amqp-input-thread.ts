/**
 * The main thread's side of the AMQP input thread (amqp-thread-worker.ts): the thread holds
 * every input's connection and prepares each delivery; here a turn's deliveries arrive in one
 * message, are journaled as a delivery decoded here is (amqp-intake-delivery.ts: hold, order,
 * refusals, group commit), and their settlements go back in one message per turn, for the
 * thread to ack. What it received since bench/amqp-drain.ts's profile: amqplib's frame parsing,
 * the decode, the id's hash and the record's encoding, ~60 µs of the main thread per delivery.
 *
 * A thread that fails, hangs or exits takes its connections with it: nothing it held was acked
 * unless committed and applied, so the broker delivers the rest again (de-duplicated here); the
 * inputs read closed meanwhile (degraded), and a fresh thread is started after a back-off
 * (thread-restarts.ts, --amqp-thread-restarts), reconnecting them. Past those restarts `onGone`
 * is told: the inputs would take nothing in for the rest of the run, so the service stops its
 * intake as when the bus thread ends (service-start.ts), for its supervisor to restart it.
 */
import { setMaxListeners } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { AmqpStatus } from './amqp-status.js';
import type { InputThreadOptions } from './amqp-input-thread-options.js';
import type { AmqpThreadData, FromAmqpThread, ThreadItem, ToAmqpThread } from './amqp-thread-protocol.js';
import { type CarriedCounts, closedStatus, noCounts } from './amqp-thread-counts.js';
import { after } from './clock.js';
import { trackThread } from './process-exit.js';
import { PulseWatch } from './thread-pulse.js';
import { ThreadRestarts } from './thread-restarts.js';
import { SettleOutbox } from './amqp-thread-settle.js';
import { unpackDeliveries } from './amqp-thread-batch.js';

export type { InputThreadOptions } from './amqp-input-thread-options.js';

const CLOSE_WAIT_MS = 2000;

const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/amqp-thread-worker.js', import.meta.url)
  : new URL('./amqp-thread-worker.js', import.meta.url);

export class AmqpInputThread {
  private worker: Worker | null = null;
  private watch: PulseWatch | null = null;
  private upAt: number | null = null;
  private cancelRestart: (() => void) | null = null;
  private readonly restarts: ThreadRestarts;
  private closing = false;
  private readonly statuses: AmqpStatus[];
  /** What threads that are gone had counted, added to the current one's counts. */
  private readonly base: CarriedCounts[];
  /** Each connection's `superseded` and its input, by the number the current thread gave it. */
  private conns = new Map<number, { controller: AbortController; input: number }>();
  private settles: SettleOutbox | null = null;
  private readonly closed = new Map<number, () => void>();
  /** Threads that failed, hung or exited this run. */
  failures = 0;

  constructor(
    private readonly options: InputThreadOptions,
    initial: readonly AmqpStatus[],
  ) {
    this.restarts = new ThreadRestarts(options.restarts);
    this.statuses = [...initial];
    this.base = initial.map(noCounts);
  }

  current(input: number): AmqpStatus {
    const s = this.statuses[input] as AmqpStatus;
    const base = this.base[input] as CarriedCounts;
    return {
      ...s,
      connects: s.connects + base.connects,
      deliveries: s.deliveries + base.deliveries,
      acked: s.acked + base.acked,
      consumeDeferrals: s.consumeDeferrals + base.consumeDeferrals,
    };
  }

  start(): void {
    if (this.worker === null && !this.closing) this.spawn();
  }

  /** Closes `input`'s connection on the thread (its deliveries settled and acked first). */
  closeInput(input: number): Promise<void> {
    this.closing = true;
    this.cancelRestart?.();
    this.cancelRestart = null;
    const worker = this.worker;
    if (worker === null) return Promise.resolve();
    return new Promise((resolve) => {
      this.closed.set(input, resolve);
      worker.postMessage({ kind: 'close', input } satisfies ToAmqpThread);
    });
  }

  /** After every input closed. */
  async close(): Promise<void> {
    this.closing = true;
    this.cancelRestart?.();
    this.watch?.stop();
    const worker = this.worker;
    this.worker = null;
    if (worker)
      await Promise.race([worker.terminate(), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
  }

  private spawn(): void {
    const { hangTimeoutMs, startTimeoutMs } = this.options;
    const watch = new PulseWatch({ hangMs: hangTimeoutMs, startMs: startTimeoutMs }, (stillMs, stage) =>
      this.fail(
        worker,
        `the AMQP input thread made no progress for ${Math.round(stillMs / 1000)} s${stage === 'loading' ? ' after it was created' : ''} (--thread-${stage === 'loading' ? 'start' : 'hang'}-timeout): ended`,
      ),
    );
    const data: AmqpThreadData = { ...this.options.data, pulse: watch.buffer };
    const worker = new Worker(WORKER_URL, { workerData: data });
    trackThread(worker, 'the AMQP input thread');
    worker.unref();
    worker.on('message', (message: FromAmqpThread) => {
      if (worker === this.worker) this.received(message);
    });
    worker.on('error', (err) => this.fail(worker, `the AMQP input thread failed: ${String(err?.message ?? err)}`));
    worker.on('exit', (code) => this.fail(worker, `the AMQP input thread exited (code ${code})`));
    this.worker = worker;
    this.conns = new Map();
    this.settles = new SettleOutbox((message) => {
      if (worker === this.worker) worker.postMessage(message);
    });
    this.watch = watch.start();
    worker.postMessage({ kind: 'start' } satisfies ToAmqpThread);
  }

  /** Connection `n`'s signal (a connection of `input`, whose held deliveries each listen on it while held). */
  private conn(n: number, input: number): AbortController {
    let c = this.conns.get(n);
    if (c === undefined) {
      const controller = new AbortController();
      const held = this.options.data.inputs[input]?.maxHeld ?? 0;
      // As amqp-bus.ts sets its own: past Node's default of 10, a held window warned of a leak.
      setMaxListeners(Number.isFinite(held) ? held + 1 : 0, controller.signal);
      c = { controller, input };
      this.conns.set(n, c);
    }
    return c.controller;
  }

  private received(message: FromAmqpThread): void {
    switch (message.kind) {
      case 'up':
        this.upAt = this.options.clock.now();
        return;
      case 'batch': {
        this.statuses.splice(0, message.statuses.length, ...message.statuses);
        const settles = this.settles as SettleOutbox;
        let items: ThreadItem[];
        try {
          items = unpackDeliveries(message.items, this.statuses.length, message.buffer?.byteLength ?? 0);
        } catch (err) {
          // A defect of the thread's, never expected: which deliveries the batch held cannot be
          // told, so the thread is ended, and a durable queue delivers them again (none was acked).
          this.fail(
            this.worker as Worker,
            `the AMQP input thread sent a batch that does not read back: ${String((err as Error)?.message ?? err)}`,
          );
          return;
        }
        let start = 0;
        for (const item of items) {
          const signal = this.conn(item.conn, item.input).signal;
          let settled: Promise<'refused' | undefined>;
          try {
            settled = this.options.deliver(item, message.buffer, start, signal);
          } catch (err) {
            // Its prepared bytes did not read back: left unacked, the broker delivers it again.
            settled = Promise.reject(err);
          }
          settled.then(
            (outcome) => (outcome === 'refused' ? settles.refused(item.id) : settles.ok(item.id)),
            (err: unknown) => settles.failed(item.id, String((err as Error)?.message ?? err)),
          );
          if (item.k === 'ready') start = item.headEnd;
        }
        return;
      }
      case 'statuses':
        this.statuses.splice(0, message.statuses.length, ...message.statuses);
        return;
      case 'state': {
        this.statuses[message.input] = message.status;
        this.options.onState(message.input, this.current(message.input), message.previous);
        return;
      }
      case 'superseded':
        // Posted as the thread's AmqpInput aborts it (a durable queue's), maybe before the batch
        // of that connection's last deliveries: they find it aborted.
        this.conn(message.conn, message.input).abort();
        return;
      case 'log':
        this.options.log(message.level, message.fields, message.msg);
        return;
      case 'closed':
        this.statuses[message.input] = message.status;
        this.closed.get(message.input)?.();
        this.closed.delete(message.input);
        return;
    }
  }

  private fail(worker: Worker, reason: string): void {
    if (worker !== this.worker) return;
    this.worker = null;
    this.settles = null;
    this.watch?.stop();
    this.watch = null;
    this.failures++;
    void worker.terminate();
    // Its connections went with it: what waits here from a durable queue is delivered again, so
    // it is let go; a server-named queue went with its connection, so what it delivered is kept.
    for (const { controller, input } of this.conns.values())
      if (this.options.data.inputs[input]?.queue != null) controller.abort();
    for (const resolve of this.closed.values()) resolve();
    this.closed.clear();
    const wait = this.closing ? null : this.restarts.next(this.options.clock.now(), this.upAt);
    this.upAt = null;
    const { max } = this.restarts;
    const next =
      wait === null
        ? `not started again (${this.failures} failure${this.failures === 1 ? '' : 's'} this run; ${max} fresh thread${max === 1 ? '' : 's'} in a row failed too; --amqp-thread-restarts ${max}) until the service restarts`
        : `a fresh thread connects in ${wait} ms`;
    this.statuses.forEach((s, i) => {
      const previous = s.state;
      this.statuses[i] = closedStatus(s, this.base[i] as CarriedCounts, `${reason}; ${next}`, this.options.clock.now());
      if (previous !== 'closed' && !this.closing) this.options.onState(i, this.current(i), previous);
    });
    if (this.closing) return;
    this.options.log('error', { reason, restartInMs: wait, failures: this.failures }, 'AMQP input thread gone');
    if (wait === null) {
      this.options.onGone(`${reason}; ${next}`);
      return;
    }
    this.cancelRestart = after(this.options.clock, wait, () => {
      this.cancelRestart = null;
      this.spawn();
    });
  }
}
