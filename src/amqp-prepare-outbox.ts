/**
 * The deliveries handed to the AMQP prepare thread in one turn of the event loop, posted to it
 * in one message at the turn's end (amqp-prepare-thread.ts). A message costs the main thread
 * tens of µs whatever it carries, and a socket read brings a prefetch window's deliveries at
 * once (amqplib hands them over synchronously, one after the other).
 */
import type { Worker } from 'node:worker_threads';
import type { WireDelivery } from './amqp-prepare.js';
import type { PrepareJob, ToPrepareThread } from './amqp-prepare-protocol.js';

export class PrepareOutbox {
  private jobs: PrepareJob[] = [];
  private buffers: ArrayBuffer[] = [];
  /** Messages posted to the thread this run. */
  posted = 0;

  /**
   * @param current The thread that serves now (null: none); jobs queued for another are not sent.
   * @param giveBack A job the thread will not get: the main thread prepares it.
   */
  constructor(
    private readonly current: () => Worker | null,
    private readonly giveBack: (job: number) => void,
  ) {}

  /** Queues a job for `worker`, its content's buffer transferred with it. */
  add(worker: Worker, job: number, delivery: WireDelivery, buffer: ArrayBuffer): void {
    // Sent as a microtask: after every delivery of the socket read that brought this one.
    if (this.jobs.length === 0) queueMicrotask(() => this.send(worker));
    this.jobs.push({ job, delivery });
    this.buffers.push(buffer);
  }

  /** Forgets what is queued (the thread failed: its jobs went back to the main thread). */
  clear(): void {
    this.jobs = [];
    this.buffers = [];
  }

  private send(worker: Worker): void {
    // The thread failed meanwhile: its jobs were given back and cleared; what is queued now is a fresh thread's.
    if (worker !== this.current()) return;
    const jobs = this.jobs;
    const buffers = this.buffers;
    this.clear();
    if (jobs.length === 0) return;
    try {
      worker.postMessage({ jobs } satisfies ToPrepareThread, buffers);
      this.posted++;
      return;
    } catch {
      // A header value that cannot be cloned: nothing was sent (cloning comes before the transfer).
    }
    jobs.forEach((job, i) => {
      try {
        worker.postMessage({ jobs: [job] } satisfies ToPrepareThread, [buffers[i] as ArrayBuffer]);
        this.posted++;
      } catch {
        this.giveBack(job.job);
      }
    });
  }
}
