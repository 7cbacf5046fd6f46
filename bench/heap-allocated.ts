import v8 from 'node:v8';

interface GcStatistics {
  readonly statistics: {
    readonly beforeGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
    readonly afterGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
  }[];
}

/**
 * Bytes the heap took while `work` ran: its growth plus what every collection in between freed
 * (v8.GCProfiler), so state kept counts as well as garbage made and collected.
 */
export function heapAllocatedBy<T>(work: () => T): {
  readonly result: T;
  readonly bytes: number;
  readonly gcs: number;
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
  return { result, bytes: after - before + collected, gcs: statistics.length };
}
