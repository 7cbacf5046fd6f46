import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Exactly one shipped module talks to each of these packages: the rest reach them through it
 * (lmdb-store.ts hands the store's layers narrow interfaces, metrics.ts hands the metric areas a
 * MetricMaker). bench/ is left out: its load clients open sockets of their own on purpose.
 */
const root = join(import.meta.dirname, '..', '..');
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    // Declaration files (.d.ts) load nothing at run time: they only type an owner's imports.
    return /\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
const shipped = ['src', 'snapshots', 'actors', 'plugins', 'examples'].flatMap(sources);

const OWNERS: Readonly<Record<string, string>> = {
  lmdb: 'snapshots/lmdb-store.ts',
  'prom-client': 'src/metrics.ts',
  msgpackr: 'snapshots/codec.ts',
  zeromq: 'src/bus.ts',
  'uWebSockets.js': 'src/http/uws-server.ts',
};

/** Files that import `pkg` (statically, dynamically or through require), or a path inside it. */
const importers = (pkg: string): string[] => {
  const name = pkg.replace(/[.]/g, '\\.');
  const use = new RegExp(`(from\\s+|import\\s*\\(\\s*|require\\s*\\(\\s*|import\\s+)['"]${name}(/[^'"]*)?['"]`);
  return shipped.filter((f) => use.test(readFileSync(join(root, f), 'utf8')));
};

describe('package owners', () => {
  it.each(Object.entries(OWNERS))('%s is imported by %s alone', (pkg, owner) => {
    expect(shipped.length).toBeGreaterThan(100);
    expect(importers(pkg)).toEqual([owner]);
  });
});
