// Bundles the browser examples (examples/<name>/main.ts + index.html) into dist/examples/,
// which `statscache serve --examples` serves. Run by `npm run build`; nothing here is committed output.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = ['releng-dashboard', 'contribution-calendar', 'volume'];
const out = join(root, 'dist', 'examples');

// Only what this script writes is removed: tsc has already compiled the Node examples
// (ws-client, whose watch.js README runs) into the same dist/examples.
for (const name of [...EXAMPLES, 'index.html', 'style.css']) rmSync(join(out, name), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: EXAMPLES.map((name) => ({ in: join(root, 'examples', name, 'main.ts'), out: `${name}/main` })),
  outdir: out,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  metafile: true,
  logLevel: 'warning',
});
// Pages and stylesheets are copied as they are; only TypeScript is bundled.
for (const name of EXAMPLES) {
  for (const file of readdirSync(join(root, 'examples', name))) {
    if (/\.(html|css)$/.test(file)) copyFileSync(join(root, 'examples', name, file), join(out, name, file));
  }
}
copyFileSync(join(root, 'examples', 'web-shared', 'style.css'), join(out, 'style.css'));
copyFileSync(join(root, 'examples', 'web-shared', 'index.html'), join(out, 'index.html'));
const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .map(([file, o]) => `${file.replace(/^.*dist\//, 'dist/')} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(`examples built: ${sizes.join(', ')}`);
