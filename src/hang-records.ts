import { Worker } from 'node:worker_threads';
import { type ApplyingMark, clearApplying, markApplying, type ViewingMark } from '../snapshots/applying-mark.js';
import { recordHang, type StoredHang } from '../snapshots/hung-messages.js';
import { recordViewHang, type StoredViewHang } from '../snapshots/hung-views.js';

/** One file write of the hang watch. */
export type RecordWrite =
  | { readonly kind: 'mark'; readonly mark: ApplyingMark | ViewingMark }
  | { readonly kind: 'unmark' }
  | { readonly kind: 'hang'; readonly record: StoredHang }
  | { readonly kind: 'view-hang'; readonly record: StoredViewHang };

export function writeRecord(dataDir: string, w: RecordWrite): void {
  switch (w.kind) {
    case 'mark':
      markApplying(dataDir, w.mark);
      return;
    case 'unmark':
      clearApplying(dataDir);
      return;
    case 'hang':
      recordHang(dataDir, w.record);
      return;
    case 'view-hang':
      recordViewHang(dataDir, w.record);
      return;
  }
}

/**
 * How long the watch waits for its hang record to be on disk before it kills the process all the
 * same: a healthy disk writes and fsyncs it in milliseconds; a hung one (NFS gone, a device
 * stuck) never answers, and the record waited forever with the stuck process alive. Killed
 * without it, the next start replays the message into the plugin again and the watch records it then.
 */
export const RECORD_WAIT_MS = 5_000;

/** Writes waiting on the writer thread at most before a new mark is refused. */
const MAX_PENDING = 64;

/**
 * The hang watch thread's writes, done on a thread of their own (hang-record-writer.ts) in the
 * order given. `post` is best effort and waits for nothing; `write` resolves with whether the
 * write was done within `waitMs` (false when it failed or is still waiting on the disk). Without
 * that thread (it failed to start, or died), writes are done here, as before it existed.
 *
 * The thread starts with the first write, not with the watch: most runs never write (a mark
 * waits for an apply or view call slower than SLOW_APPLY_MS), and a thread costs every start
 * ~0.1 s of CPU to boot. A hang record always follows the mark of the same wait, so the thread
 * is up, and its modules loaded, before the one write that must not wait on the disk.
 */
export class HangRecords {
  private worker: Worker | null = null;
  private started = false;
  private next = 0;
  private readonly waiting = new Map<number, (ok: boolean) => void>();

  constructor(
    private readonly dataDir: string,
    private readonly url: URL,
  ) {}

  private start(): void {
    this.started = true;
    const worker = new Worker(this.url, { workerData: { dataDir: this.dataDir } });
    this.worker = worker;
    // Never what keeps the watch thread alive.
    worker.unref();
    worker.on('message', (m: { id: number; ok: boolean }) => {
      this.waiting.get(m.id)?.(m.ok);
      this.waiting.delete(m.id);
    });
    const gone = () => {
      this.worker = null;
      for (const done of this.waiting.values()) done(false);
      this.waiting.clear();
    };
    worker.on('error', gone);
    worker.on('exit', gone);
  }

  /**
   * Asks for a write and waits for nothing. A mark is refused (false) while MAX_PENDING writes
   * wait on a hung disk: marks come and go with slow messages, and the queue must stay bounded;
   * an unmark follows a mark that was taken, so those stay bounded too. An unmark before any
   * write has nothing of this watch's to clear (the main thread clears a mark left by another
   * run, and its own at stop): no thread is started for it.
   */
  post(w: RecordWrite): boolean {
    if (w.kind === 'unmark' && !this.started) return true;
    if (w.kind === 'mark' && this.waiting.size >= MAX_PENDING) return false;
    void this.write(w, Number.POSITIVE_INFINITY);
    return true;
  }

  write(w: RecordWrite, waitMs: number): Promise<boolean> {
    if (!this.started) {
      try {
        this.start();
      } catch {
        // No thread (no memory for it): written here, as when it died.
      }
    }
    if (this.worker === null) {
      try {
        writeRecord(this.dataDir, w);
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    }
    const id = ++this.next;
    return new Promise<boolean>((resolve) => {
      const timer = Number.isFinite(waitMs) ? setTimeout(() => resolve(false), waitMs) : undefined;
      this.waiting.set(id, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      this.worker?.postMessage({ id, write: w });
    });
  }

  stop(): void {
    // After the writes asked before it: they go on, and the thread ends.
    this.worker?.postMessage('stop');
  }
}
