import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The plugin runtime is the only owner of plugin state (issue 10): nothing outside actors/
 * reads or writes containers or counters, and the plugin's generics are erased in one place.
 */
const root = join(import.meta.dirname, '..', '..');
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|js)$/.test(name) ? [path] : [];
  });

const outside = ['src', 'snapshots', 'plugins', 'bench', 'examples'].flatMap(sources);
const hits = (files: readonly string[], pattern: RegExp) =>
  files.flatMap((f) =>
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${relative(root, join(root, f))}:${i + 1}: ${line.trim()}`] : [])),
  );

describe('the sealed plugin runtime', () => {
  it('is the only code that touches containers, counters or the state version', () => {
    expect(outside.length).toBeGreaterThan(50);
    expect(
      hits(
        outside,
        /\.state\.(rows|stores|counters|version)\b|\.inspect\(\)|viewContext\(|\.(track|untrack|touchAll)\(/,
      ),
    ).toEqual([]);
  });

  it('erases the plugin generics in one place: calls of update/view/migrate with a cast live in actors/plugin-runtime.ts', () => {
    const all = [...outside, ...sources('actors')];
    const erasing = hits(
      all,
      /definition\.(update|view)\s*(as\b|\()|\bas (never|Erased\w*)\b.*\b(ctx|context|stores|update|view)\b|\b(ctx|stores)\b as never/,
    );
    expect(erasing.length).toBeGreaterThan(0);
    expect(erasing.filter((h) => !h.startsWith('actors/plugin-runtime.ts:'))).toEqual([]);
  });
});
