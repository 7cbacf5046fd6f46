/** The on-disk snapshot format. Bump FORMAT_VERSION only with a reader for the old one. */
export const FORMAT_VERSION = 1;

export interface PluginRecord {
  /** The plugin's state version when it was written. */
  readonly version: number;
  readonly rows: number;
  readonly stores: readonly string[];
}

export interface SnapshotMeta {
  readonly format: number;
  /** Increases by one per snapshot written. */
  readonly generation: number;
  /** Wall-clock milliseconds when it was taken. */
  readonly takenAt: number;
  readonly plugins: Readonly<Record<string, PluginRecord>>;
}

/** Checks the shape of a decoded meta record; returns a description of what is wrong, or null. */
export function metaProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'meta record is not an object';
  const m = value as Record<string, unknown>;
  if (typeof m['format'] !== 'number' || !Number.isInteger(m['format'])) return 'meta record has no integer "format"';
  if (typeof m['generation'] !== 'number') return 'meta record has no "generation"';
  if (typeof m['plugins'] !== 'object' || m['plugins'] === null) return 'meta record has no "plugins"';
  for (const [ident, rec] of Object.entries(m['plugins'] as Record<string, unknown>)) {
    const r = rec as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object' || typeof r['version'] !== 'number' || !Array.isArray(r['stores'])) {
      return `meta record for plugin "${ident}" is malformed`;
    }
  }
  return null;
}
