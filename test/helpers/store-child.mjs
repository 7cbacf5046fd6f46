// What the store children (write-failed-close, close-during-failed-write) share: journal records
// of 2 kB, and a record of the panic check's reads of the data file.

/** Each call gives `count` more records, numbered on from the last, so a file must grow to hold them. */
export function journalRecords() {
  let seq = 0;
  return (count) =>
    Array.from({ length: count }, () => {
      seq++;
      return { seq, id: `m-${seq}`, timestamp: 1_700_000_000 + seq, value: new Uint8Array(2000).fill(seq % 251) };
    });
}

/**
 * Records each read of the data file the store's panic check makes (store-panic.ts readAfresh)
 * while `watching()` says so: 'read', or 'refused: <why>' when LMDB refused it.
 */
export function watchReads(store, watching = () => true) {
  const panics = store.panics;
  const readAfresh = panics.readAfresh;
  const reads = [];
  panics.readAfresh = () => {
    if (!watching()) return readAfresh();
    try {
      readAfresh();
      reads.push('read');
    } catch (err) {
      reads.push(`refused: ${err.message}`);
      throw err;
    }
  };
  return reads;
}
