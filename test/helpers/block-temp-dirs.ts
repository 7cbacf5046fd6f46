import { afterAll } from 'vitest';
import { tempDir } from './service-process.js';

/**
 * For a describe whose tests each want a fresh directory: returns a maker of temp dirs (their
 * paths), all removed after the block.
 */
export function blockTempDirs(): () => string {
  const dirs: { remove(): void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });
  return () => {
    const d = tempDir();
    dirs.push(d);
    return d.path;
  };
}
