import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const module = fileURLToPath(new URL('../../dist/src/v8-inlining.js', import.meta.url));

/**
 * In a fresh process, with or without the module first: whether TurboFan inlines `g`, whose
 * bytecode (~300 bytes) fits V8's default cumulative budget (920) and not the lowered one (230).
 * Optimized on the main thread at a call the test picks, so the decision is deterministic.
 */
function inlinesG(nodeArgs: string[]): boolean {
  const line = 's += x * 3 + (x >> 1) - (x ^ 7); s = s % 1000003; s += (x | 5) * (k + 1); s -= x & 255;';
  const script = [
    `function g(x) { let s = 0; for (let k = 0; k < 4; k++) { ${line} ${line} ${line} } return s; }`,
    'function f(x) { return g(x) + 1; }',
    '%PrepareFunctionForOptimization(f); %PrepareFunctionForOptimization(g);',
    'f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3);',
  ].join('\n');
  const out = execFileSync(
    process.execPath,
    [...nodeArgs, '--allow-natives-syntax', '--trace-turbo-inlining', '-e', script],
    { cwd: root, encoding: 'utf8' },
  );
  return /^Inlining .*SharedFunctionInfo g>/m.test(out);
}

describe("V8's inlining budget", () => {
  it('inlines the probe function by default (the probe can tell the budgets apart)', () => {
    expect(inlinesG([])).toBe(true);
  });

  it('is lowered in the service process, so TurboFan compiles less on V8s helper threads', () => {
    expect(inlinesG(['--import', module])).toBe(false);
  });

  it("stays the operator's choice on node's command line (NODE_OPTIONS refuses V8's flags)", () => {
    expect(inlinesG(['--max-inlined-bytecode-size-cumulative=920', '--import', module])).toBe(true);
    expect(inlinesG(['--max_inlined_bytecode_size_cumulative=920', '--import', module])).toBe(true);
  });

  it('is set by the CLI before anything else runs hot, bundled (scripts/bundle-serve.mjs) or not', () => {
    const imports = (file: string) =>
      readFileSync(new URL(file, import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('import '))
        .slice(0, 2);
    expect(imports('../../src/cli.ts')).toEqual(["import './msgpack-strings.js';", "import './v8-inlining.js';"]);
    expect(imports('../../dist/src/cli.js')).toEqual(["import './msgpack-strings.js';", "import './v8-inlining.js';"]);
  });
});
