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
/** In the Uint32 view: messages the bus thread has read from its sockets, and of them refused. */
const READ = 0;
const REFUSED = 1;

/**
 * The flow between the two threads as the main thread sees it. The counts are uint32 and wrap
 * (after 4.3 billion messages); differences taken modulo 2^32 stay right.
 */
export interface BusThreadFlow {
  /** Messages the bus thread has read from its sockets: handed over, or in its open batch. */
  readonly read: number;
  /** Of them, refused by the thread (frame count, JSON, bounds): handed over as `rejected`. */
  readonly refused: number;
  /** Messages the main thread has taken in (their batches handled). */
  readonly takenIn: number;
  /**
   * The thread has stopped receiving for want of credit and waits for a `wake`. It reads nothing
   * more until the main thread takes a batch in, so `read` is where it stopped.
   */
  readonly waitingForCredit: boolean;
}

export class SharedCredit {
  private readonly totals: BigInt64Array;
  private readonly flag: Int32Array;

  private readonly reads: Uint32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(32)) {
    this.totals = new BigInt64Array(buffer, 0, 2);
    this.flag = new Int32Array(buffer, 16, 1);
    this.reads = new Uint32Array(buffer, 20, 2);
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

  /** Bus thread: a message read, before it is batched or waits for credit. */
  read(refused: boolean): void {
    Atomics.add(this.reads, READ, 1);
    if (refused) Atomics.add(this.reads, REFUSED, 1);
  }

  /**
   * Main thread. The flag is read first: the thread counts a message before it asks for a wake,
   * so a thread seen waiting is seen with every message it read.
   */
  flow(): BusThreadFlow {
    const waitingForCredit = Atomics.load(this.flag, WAITING) === 1;
    return {
      read: Atomics.load(this.reads, READ),
      refused: Atomics.load(this.reads, REFUSED),
      takenIn: this.messages(),
      waitingForCredit,
    };
  }
}
