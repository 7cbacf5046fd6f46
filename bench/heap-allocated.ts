import v8 from 'node:v8';

interface GcStatistics {
  readonly statistics: {
    /** Wall µs the collection took on the main thread (helper threads' time not included). */
    readonly cost: number;
    readonly gcType: string;
    readonly beforeGC: Snapshot;
    readonly afterGC: Snapshot;
  }[];
}

interface Snapshot {
  readonly heapStatistics: { readonly usedHeapSize: number };
  readonly heapSpaceStatistics: readonly { readonly spaceName: string; readonly spaceUsedSize: number }[];
}

const spaceUsed = (s: Snapshot, name: string): number =>
  s.heapSpaceStatistics.find((x) => x.spaceName === name)?.spaceUsedSize ?? 0;

/**
 * Bytes the heap took while `work` ran: its growth plus what every collection in between freed
 * (v8.GCProfiler), so state kept counts as well as garbage made and collected; and the
 * collections that ran meanwhile, with the main thread's µs in them (wall time: on a loaded
 * machine it counts the time the thread waited for a core), and the bytes the scavenges copied:
 * what each left in the young generation plus what it promoted into the old (a count of work that
 * no other process changes; large objects, promoted without a copy, are left out).
 */
export function heapAllocatedBy<T>(work: () => T): {
  readonly result: T;
  readonly bytes: number;
  readonly gcs: number;
  readonly gcUs: number;
  readonly copiedBytes: number;
} {
  const profiler = new v8.GCProfiler();
  const before = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  const result = work();
  const after = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop() as unknown as GcStatistics;
  const collected = statistics.reduce(
    (sum, s) => sum + s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize,
    0,
  );
  const gcUs = statistics.reduce((sum, s) => sum + s.cost, 0);
  let copiedBytes = 0;
  for (const s of statistics)
    if (s.gcType === 'Scavenge')
      copiedBytes +=
        spaceUsed(s.afterGC, 'new_space') + spaceUsed(s.afterGC, 'old_space') - spaceUsed(s.beforeGC, 'old_space');
  return { result, bytes: after - before + collected, gcs: statistics.length, gcUs, copiedBytes };
}
