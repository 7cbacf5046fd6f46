// Bundles the service's entry points (the CLI, its worker threads, its child processes) from
// tsc's output into dist/bundle/, and turns each entry file tsc wrote into a stub importing its
// bundle. Why: a start of `serve` loaded ~460 ES modules, each one read, resolved and linked;
// bundled, the same code loads from a few dozen files, and zod's 64 locale files (which
// `import * as z from 'zod'` loads and nothing here uses) are left out. Run by `npm run build`
// after tsc; without it dist/ still runs, unbundled. Nothing here is committed output.
//
// What stays as it was: the entry paths (dist/src/cli.js is the package's bin; the threads and
// children are started by path), every package with native code or loaded by path (they stay
// packages, so lmdb and our code share one msgpackr), and each module's import.meta.url (it
// names the module's own file in dist/, so paths found beside it are found as before).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
/** Entry files, from dist/: the CLI, then every file started as a thread or a child process. */
const ENTRIES = [
  'src/cli.js',
  'src/bus-worker.js',
  'src/stop-watch-worker.js',
  'src/hang-watch-worker.js',
  'src/hang-record-writer.js',
  'src/replay-worker.js',
  'src/amqp-prepare-worker.js',
  'src/amqp-thread-worker.js',
  'src/export-child.js',
  'snapshots/store-check-child.js',
];
/**
 * Packages imported as they are, not bundled: native code (and msgpackr, which lmdb imports
 * too: one copy), or files of theirs loaded by path (amqplib's, patched by amqp-*-guard.ts).
 */
const EXTERNAL_PACKAGES = new Set(['amqplib', 'fs-ext', 'lmdb', 'msgpackr', 'uWebSockets.js', 'zeromq']);
const STUB_MARK = '// Stub written by scripts/bundle-serve.mjs';

const isStub = (file) => readFileSync(join(dist, file), 'utf8').includes(STUB_MARK);
const stubs = ENTRIES.filter(isStub);
if (stubs.length === ENTRIES.length && existsSync(out)) {
  // Nothing built since the last bundle: tsc rewrites every entry file.
  console.log('serve bundle: up to date (dist/bundle/)');
  process.exit(0);
}
if (stubs.length > 0) throw new Error(`run tsc first: ${stubs.join(', ')} are stubs of an older bundle`);

const packageOf = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const keepFileUrls = {
  name: 'keep-file-urls',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      EXTERNAL_PACKAGES.has(packageOf(args.path)) ? { path: args.path, external: true } : undefined,
    );
    // Every output file sits in dist/bundle/, so '../' from its URL is dist/ itself.
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      // A bundled package's would name dist/bundle/ instead of its own folder: not bundled unseen.
      if (!args.path.startsWith(`${dist}/`)) {
        if (source.includes('import.meta'))
          throw new Error(`${args.path} reads import.meta: make its package external`);
        return undefined;
      }
      if (!source.includes('import.meta.url')) return undefined;
      const own = JSON.stringify(`../${relative(dist, args.path)}`);
      return { contents: source.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`), loader: 'js' };
    });
  },
};

/**
 * prom-client's process_cpu_* metric requires @opentelemetry/api (~45 modules, ~7 ms of CPU at
 * every start) for the trace context of exemplars, which this service never enables. Imported
 * from prom-client, and only there, it is a stub answering as the real API does with no SDK
 * registered: no active context, no span.
 */
const otelForPromClient = {
  name: 'otel-for-prom-client',
  setup(b) {
    b.onResolve({ filter: /^@opentelemetry\/api$/ }, (args) =>
      args.importer.includes('/node_modules/prom-client/') ? { path: 'otel-api', namespace: 'stub' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'module.exports = { context: { active: () => undefined }, trace: { getSpan: () => undefined } };',
      loader: 'js',
    }));
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: ENTRIES.map((file) => ({ in: join(dist, file), out: file.replace(/^.*\//, '').replace(/\.js$/, '') })),
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // Class and function names are read (error names, log fields): renaming one to dodge a clash would change them.
  keepNames: true,
  sourcemap: 'linked',
  // Resolved as Node resolves them: without esbuild's default 'module' condition.
  conditions: [],
  // The CommonJS packages bundled require Node's own modules: esbuild's require shim needs a require.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);",
  },
  plugins: [keepFileUrls, otelForPromClient],
  metafile: true,
  logLevel: 'warning',
});
for (const file of ENTRIES) {
  const name = file.replace(/^.*\//, '');
  const bundle = relative(dirname(join(dist, file)), join(out, name));
  const lines = [STUB_MARK, `// (the bundle of this entry, ${name}, for a cheaper start).`];
  // The CLI's first import decides msgpackr's string decoding before msgpackr loads (msgpack-strings.ts);
  // a bundle imports its packages ahead of its own code, so it comes here, before the bundle, and
  // V8's inlining budget with it, before anything runs hot (v8-inlining.ts).
  if (file === 'src/cli.js') {
    lines.unshift('#!/usr/bin/env node');
    lines.push("import './msgpack-strings.js';", "import './v8-inlining.js';");
  }
  lines.push(`import '${bundle.startsWith('.') ? bundle : `./${bundle}`}';`, '');
  writeFileSync(join(dist, file), lines.join('\n'));
}
const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
const kib = outputs.reduce((sum, [, o]) => sum + o.bytes, 0) / 1024;
console.log(`serve bundle: ${ENTRIES.length} entries in ${outputs.length} files, ${kib.toFixed(0)} KiB (dist/bundle/)`);
