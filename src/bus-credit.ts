/**
 * The bus thread's credit, shared by both threads: the main thread adds each batch it has taken
 * in (messages and bytes, as they were counted when sent) to running totals the bus thread
 * reads, instead of posting an `ack` per batch. A posted ack cost both threads a wake-up and a
 * structured clone per batch, which at a trickle (a few messages a batch) was most of the
 * hand-over. Only when the bus thread has stopped receiving for want of credit does the main
 * thread post a `wake` (bus-thread-protocol.ts), once.
 */
const TAKEN_MESSAGES = 0;
const TAKEN_BYTES = 1;
/** In the Int32 view: 1 while the bus thread waits for credit and wants a `wake`. */
const WAITING = 0;

export class SharedCredit {
  private readonly totals: BigInt64Array;
  private readonly flag: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(24)) {
    this.totals = new BigInt64Array(buffer, 0, 2);
    this.flag = new Int32Array(buffer, 16, 1);
  }

  /** Main thread: a batch taken in. True when the bus thread is waiting and must be woken (once). */
  take(count: number, bytes: number): boolean {
    Atomics.add(this.totals, TAKEN_MESSAGES, BigInt(count));
    Atomics.add(this.totals, TAKEN_BYTES, BigInt(bytes));
    return Atomics.exchange(this.flag, WAITING, 0) === 1;
  }

  /** Bus thread: messages taken in so far. */
  messages(): number {
    return Number(Atomics.load(this.totals, TAKEN_MESSAGES));
  }

  /** Bus thread: bytes taken in so far. */
  bytes(): number {
    return Number(Atomics.load(this.totals, TAKEN_BYTES));
  }

  /**
   * Bus thread, out of credit: asks for a `wake`. It must look at the totals again after this:
   * a batch taken in between its last look and this call found no one waiting.
   */
  wantWake(): void {
    Atomics.store(this.flag, WAITING, 1);
  }

  /** Bus thread: credit came after all, no `wake` wanted. */
  noWake(): void {
    Atomics.store(this.flag, WAITING, 0);
  }
}
