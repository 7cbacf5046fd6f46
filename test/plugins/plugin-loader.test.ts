import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { loadExternalPlugins, pluginsForConfig } from '../../src/plugin-loader.js';
import { tempDir } from '../helpers/service-process.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/plugins/bodhi-karma.js', import.meta.url));
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function workspace() {
  const d = tempDir('statscache-plugins-');
  dirs.push(d);
  return d.path;
}

const plugin = (name: string) =>
  `export default { name: ${JSON.stringify(name)}, summary: 's', description: 'd', columns: ['n'], key: ['n'], update() {} };\n`;

describe('external plugin loading', () => {
  it('loads a file relative to the config file and registers it after the built-ins', async () => {
    const dir = workspace();
    const configFile = join(dir, 'config.json');
    const spec = relative(dir, EXAMPLE).startsWith('.') ? relative(dir, EXAMPLE) : `./${relative(dir, EXAMPLE)}`;
    const all = await pluginsForConfig({ plugins: [spec] }, configFile);
    const idents = registerPlugins(all).map((p) => p.ident);
    expect(idents.slice(0, builtinPlugins().length)).toEqual(registerPlugins(builtinPlugins()).map((p) => p.ident));
    expect(idents.at(-1)).toBe('bodhi-karma-1d');
  });

  it('without a config file (STATSCACHE_PLUGINS), loads a path relative to the working directory', async () => {
    const fromCwd = relative(process.cwd(), EXAMPLE);
    const spec = fromCwd.startsWith('.') ? fromCwd : `./${fromCwd}`;
    const all = await pluginsForConfig({ plugins: [spec] }, undefined);
    expect(
      registerPlugins(all)
        .map((p) => p.ident)
        .at(-1),
    ).toBe('bodhi-karma-1d');
    // The same spec from another folder's config file points elsewhere, and fails naming it.
    await expect(pluginsForConfig({ plugins: [spec] }, join(workspace(), 'config.json'))).rejects.toMatchObject({
      code: 'SC_PLUGIN_LOAD_FAILED',
    });
  });

  it('loads an npm package by name from the config directory, and arrays of definitions', async () => {
    const dir = workspace();
    const pkg = join(dir, 'node_modules', 'statscache-plugin-foo');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'statscache-plugin-foo', type: 'module', main: 'index.js' }),
    );
    writeFileSync(
      join(pkg, 'index.js'),
      `const a = ${plugin('Foo one').replace('export default ', '').trim()}\nconst b = ${plugin('Foo two').replace('export default ', '').trim()}\nexport default [a, b];\n`,
    );
    const loaded = await loadExternalPlugins(['statscache-plugin-foo'], dir);
    expect(loaded.map((l) => (l.definition as { name: string }).name)).toEqual(['Foo one', 'Foo two']);
    expect(loaded[0]?.url).toMatch(/node_modules\/statscache-plugin-foo\/index\.js$/);
  });

  it('names the spec in every failure, with the coded errors of the registry', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'no-default.mjs'), 'export const plugin = {};\n');
    writeFileSync(
      join(dir, 'bad.mjs'),
      'export default { name: "Bad", summary: "s", description: "d", columns: ["n"], key: ["n"] };\n',
    );
    writeFileSync(join(dir, 'throws.mjs'), 'throw new Error("boom at import");\n');
    await expect(loadExternalPlugins(['./missing.js'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_LOAD_FAILED',
      message: expect.stringContaining('"./missing.js"'),
    });
    await expect(loadExternalPlugins(['statscache-plugin-nope'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_LOAD_FAILED',
      message: expect.stringContaining('statscache-plugin-nope'),
    });
    await expect(loadExternalPlugins(['./throws.mjs'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_LOAD_FAILED',
      message: expect.stringContaining('boom at import'),
    });
    await expect(loadExternalPlugins(['./no-default.mjs'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_LOAD_FAILED',
      message: expect.stringContaining('no default export'),
    });
    await expect(loadExternalPlugins(['./bad.mjs'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_FIELD_MISSING',
      message: expect.stringMatching(
        /^SC_PLUGIN_FIELD_MISSING: in plugin module "\.\/bad\.mjs": plugin "Bad" has no "update"/,
      ),
    });
  });

  it('refuses a definition that throws when read, or an array with a hole, with a coded error naming the module', async () => {
    const dir = workspace();
    writeFileSync(
      join(dir, 'getter.mjs'),
      'export default { get name() { throw new Error("boom from a getter"); } };\n',
    );
    writeFileSync(
      join(dir, 'proxy.mjs'),
      'export default new Proxy({}, { get() { throw new TypeError("trap"); }, has() { throw new TypeError("trap"); } });\n',
    );
    writeFileSync(
      join(dir, 'hole.mjs'),
      `const a = ${plugin('Holed').replace('export default ', '').trim()}\nexport default [a, , a];\n`,
    );
    // Before: a bare Error (exit 1 with a stack naming no module) for the first two, and the hole
    // passed here to be refused later as "plugin #28 is undefined" (its index among all plugins).
    await expect(loadExternalPlugins(['./getter.mjs'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_INVALID',
      message: expect.stringMatching(
        /in plugin module "\.\/getter\.mjs".*reading its definition threw: boom from a getter/,
      ),
    });
    await expect(loadExternalPlugins(['./proxy.mjs'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_INVALID',
      message: expect.stringMatching(/in plugin module "\.\/proxy\.mjs".*trap/),
    });
    await expect(loadExternalPlugins(['./hole.mjs'], dir)).rejects.toMatchObject({
      code: 'SC_PLUGIN_INVALID',
      message: expect.stringMatching(/^SC_PLUGIN_INVALID: in plugin module "\.\/hole\.mjs": plugin #1 is undefined/),
    });
  });

  it('an external plugin clashing with a built-in ident is refused when loaded, naming both and where each came from', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'clash.mjs'), plugin('Top users'));
    await expect(pluginsForConfig({ plugins: ['./clash.mjs'] }, join(dir, 'config.json'))).rejects.toThrow(
      'SC_PLUGIN_IDENT_DUPLICATE: plugins "Top users" (built-in) and "Top users" (module "./clash.mjs") both have the ident "top-users"',
    );
    // Two modules clashing with each other.
    writeFileSync(join(dir, 'one.mjs'), plugin('Mine'));
    writeFileSync(join(dir, 'two.mjs'), plugin('Mine'));
    await expect(pluginsForConfig({ plugins: ['./one.mjs', './two.mjs'] }, join(dir, 'config.json'))).rejects.toThrow(
      /plugins "Mine" \(module "\.\/one\.mjs"\) and "Mine" \(module "\.\/two\.mjs"\)/,
    );
  });

  it('refuses a misspelt field, naming it, the field it most likely meant and the module', async () => {
    const dir = workspace();
    // Accepted before: rows were kept for ever and every message was routed to the plugin.
    writeFileSync(
      join(dir, 'typo.mjs'),
      "export default { name: 'Typo', summary: 's', description: 'd', interval: '1d', retension: '7d', columns: ['n'], key: ['n'], update() {} };\n",
    );
    await expect(pluginsForConfig({ plugins: ['./typo.mjs'] }, join(dir, 'config.json'))).rejects.toMatchObject({
      code: 'SC_PLUGIN_FIELD_INVALID',
      message: expect.stringContaining(
        'in plugin module "./typo.mjs": plugin "Typo": unknown field "retension" (did you mean "retention"?)',
      ),
    });
    writeFileSync(
      join(dir, 'topic.mjs'),
      "export default { name: 'Topic', summary: 's', description: 'd', topic: ['org.x'], columns: ['n'], key: ['n'], update() {} };\n",
    );
    await expect(loadExternalPlugins(['./topic.mjs'], dir)).rejects.toThrow(
      /unknown field "topic" \(did you mean "topics"\?\)/,
    );
    // Every built-in and the shipped example keep to the fields a definition has.
    expect(registerPlugins(builtinPlugins())).toHaveLength(builtinPlugins().length);
    await expect(loadExternalPlugins([EXAMPLE], dir)).resolves.toHaveLength(1);
  });

  it("lets a plugin outside the repository import the author's helpers from statscache/plugin-api", async () => {
    const dir = workspace();
    // As `npm install statscache` (or a link to a checkout) leaves it beside the plugin.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(fileURLToPath(new URL('../..', import.meta.url)), join(dir, 'node_modules', 'statscache'), 'dir');
    writeFileSync(
      join(dir, 'top.mjs'),
      [
        "import { definePlugin, store, windowedCounter } from 'statscache/plugin-api';",
        'export default definePlugin({',
        "  name: 'Top packages by commits', summary: 's', description: 'd', columns: ['package', 'commits'], key: ['package'],",
        "  stores: { week: windowedCounter('7d', { slices: 168 }), seen: store({ expireAfter: '30d' }) },",
        '  update(m, { stores }) { for (const p of m.meta.packages) stores.week.add(p, m.timestamp); },',
        '});',
        '',
      ].join('\n'),
    );
    const [loaded] = await loadExternalPlugins(['./top.mjs'], dir);
    const [registered] = registerPlugins([loaded?.definition]);
    expect(registered?.storePlans).toEqual({
      week: { kind: 'windowedCounter', span: 604_800, slices: 168 },
      seen: { kind: 'store', expireAfter: 2_592_000 },
    });
  });
});
