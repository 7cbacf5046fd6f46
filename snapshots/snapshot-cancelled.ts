/**
 * A snapshot given up at a chunk boundary because the service is closing (Service.close()).
 * Nothing failed: its child transaction is aborted, so the slot keeps the generation it held,
 * and the journal (whose appends commit in the parent transaction either way) holds every
 * message since the previous complete generation. It is its own type, never a WriteFailedError,
 * so the store's write-failed flag, the snapshot failure count and the HTTP error that names a
 * refusing disk all let it through: a first attempt threw a plain error from the pacer, which
 * came back as a write failure, and a close looked like a failing disk. A snapshot asked for
 * once the service is closing (stop() or close()) is refused with it too: a plain error there
 * answered POST /admin/snapshot 500 snapshot_failed, as if the disk had refused it.
 */
export class SnapshotCancelledError extends Error {
  override readonly name: string = 'SnapshotCancelledError';

  /** `refused`: asked for once the service was closing, so never begun (SnapshotCycle.take). */
  constructor(refused = false) {
    super(
      refused
        ? 'no snapshot is taken because the service is closing: the previous generation and the journal hold every message'
        : 'the snapshot was cancelled because the service is closing: nothing of it was committed; the previous generation and the journal hold every message',
    );
  }
}
