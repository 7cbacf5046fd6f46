import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const module = new URL('../../dist/src/msgpack-strings.js', import.meta.url).href;

/** In a fresh process, as the CLI does: the switch first, then lmdb and msgpackr as the service loads them. */
function nativeStrings(env: Record<string, string>): boolean {
  const script = `import '${module}'; import 'lmdb'; import { isNativeAccelerationEnabled } from 'msgpackr'; console.log(JSON.stringify(isNativeAccelerationEnabled));`;
  const { MSGPACKR_NATIVE_ACCELERATION_DISABLED: _, ...inherited } = process.env;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { ...inherited, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out) as boolean;
}

describe("msgpackr's native string extraction", () => {
  it('is off in the service process, so a kept field does not keep its whole record text alive', () => {
    expect(nativeStrings({})).toBe(false);
  });

  it("stays the operator's choice (and the native addon is there to choose)", () => {
    expect(nativeStrings({ MSGPACKR_NATIVE_ACCELERATION_DISABLED: 'false' })).toBe(true);
  });

  it('is decided by the first import of the CLI, before anything loads msgpackr', () => {
    const cli = readFileSync(new URL('../../src/cli.ts', import.meta.url), 'utf8');
    const firstImport = cli.split('\n').find((l) => l.startsWith('import '));
    expect(firstImport).toBe("import './msgpack-strings.js';");
  });

  it('is decided by the first import of the built CLI too, bundled (scripts/bundle-serve.mjs) or not', () => {
    // A bundle imports its packages ahead of its own code: the switch must not move into it.
    const cli = readFileSync(new URL('../../dist/src/cli.js', import.meta.url), 'utf8');
    const firstImport = cli.split('\n').find((l) => l.startsWith('import '));
    expect(firstImport).toBe("import './msgpack-strings.js';");
  });
});
