/**
 * A plugin's value that a snapshot could not encode, naming the plugin, the container and key
 * holding it, and the encoder's cause. Containers check what a plugin keeps (actors/storable-value.ts),
 * but a value can pass and still throw when the snapshot reads it (an accessor, a proxy's trap).
 * No disk failed: the snapshot's child transaction is aborted, the journal's appends commit as
 * ever. It is its own type, never a WriteFailedError: the store's checked() took it for a failed
 * commit, set its write-failed flag (close() then skipped LMDB's flush), and POST
 * /admin/snapshot said the data file could not be written.
 */
export class UnencodableValueError extends Error {
  override readonly name: string = 'UnencodableValueError';

  constructor(
    readonly ident: string,
    readonly store: string,
    readonly key: string,
    cause: unknown,
  ) {
    super(
      `the value of plugin ${JSON.stringify(ident)} in store ${JSON.stringify(store)} at key ${JSON.stringify(key.slice(0, 200))} cannot be encoded: ${cause instanceof Error ? cause.message : String(cause)}; no snapshot is written until the plugin replaces it (the journal holds every message)`,
      { cause },
    );
  }
}
