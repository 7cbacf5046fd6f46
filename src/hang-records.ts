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
 */
export class HangRecords {
  private worker: Worker | null;
  private next = 0;
  private readonly waiting = new Map<number, (ok: boolean) => void>();

  constructor(
    private readonly dataDir: string,
    url: URL,
  ) {
    this.worker = new Worker(url, { workerData: { dataDir } });
    // Never what keeps the watch thread alive.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; ok: boolean }) => {
      this.waiting.get(m.id)?.(m.ok);
      this.waiting.delete(m.id);
    });
    const gone = () => {
      this.worker = null;
      for (const done of this.waiting.values()) done(false);
      this.waiting.clear();
    };
    this.worker.on('error', gone);
    this.worker.on('exit', gone);
  }

  /**
   * Asks for a write and waits for nothing. A mark is refused (false) while MAX_PENDING writes
   * wait on a hung disk: marks come and go with slow messages, and the queue must stay bounded;
   * an unmark follows a mark that was taken, so those stay bounded too.
   */
  post(w: RecordWrite): boolean {
    if (w.kind === 'mark' && this.waiting.size >= MAX_PENDING) return false;
    void this.write(w, Number.POSITIVE_INFINITY);
    return true;
  }

  write(w: RecordWrite, waitMs: number): Promise<boolean> {
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
