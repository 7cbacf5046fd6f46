import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeExport, type ExportPayload } from '../../src/commands/export-format.js';
import { loadConfig } from '../../src/config.js';
import { exportWithBytes } from '../helpers/crafted-export.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';
import { runCli } from './cli.js';

const VOLUME = 'volume-by-category-1d';
const PLACEHOLDER = 'typed-value-placeholder';

/**
 * msgpack that decodes to something other than plain data, as a hand-made export may hold it
 * (msgpackr never writes these for a plugin's value or a bus message): each with what it decodes to.
 */
const TYPED: readonly { what: string; bytes: number[] }[] = [
  // int64 7: a BigInt, which JSON.stringify throws on (every answer of its plugin was 500).
  { what: 'bigint', bytes: [0xd3, 0, 0, 0, 0, 0, 0, 0, 7] },
  // The timestamp extension: a Date.
  { what: 'Date', bytes: [0xd6, 0xff, 0, 0, 0, 0] },
  // bin 8: a Buffer.
  { what: 'Buffer', bytes: [0xc4, 2, 1, 2] },
];

/**
 * An export carries its checksum inside itself, so a hand-made one passes it; msgpack then
 * decodes more than JSON holds. A BigInt in a row was imported and made every answer of its
 * plugin `500 internal` on every start. Refused before anything is written, naming where.
 */
describe('snapshot import of an export holding values JSON does not', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  const exported = async (where: 'row' | 'tail') => {
    const data = join(dir.path, `data-${where}`);
    const config = loadConfig({
      env: {},
      flags: { dataDir: data, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'] },
    });
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    await dataDirSession(config, samples.slice(0, 20));
    const file = join(dir.path, `${where}.scx`);
    const made = await runCli(['snapshot', 'export', file, '--data-dir', data]);
    expect(made.code, made.stderr).toBe(0);
    const payload = decodeExport(readFileSync(file));
    const first = (payload.plugins[VOLUME]?.rows ?? [])[0] as [string, Record<string, unknown>];
    if (where === 'row') first[1]['category'] = PLACEHOLDER;
    else ((payload.journalTail[0] as Record<string, unknown>)['msg'] as Record<string, unknown>)['odd'] = PLACEHOLDER;
    return { data, payload, key: first[0] };
  };

  /** Each of TYPED in PLACEHOLDER's place is refused (exit 1, nothing written) with `detail(what)` in the error. */
  const refusesEach = async (where: string, data: string, payload: ExportPayload, detail: (what: string) => string) => {
    for (const { what, bytes } of TYPED) {
      const crafted = join(dir.path, `${where}-${what}.scx`);
      writeFileSync(crafted, exportWithBytes(payload, PLACEHOLDER, Buffer.from(bytes)));
      const imported = await runCli(['snapshot', 'import', crafted, '--data-dir', data]);
      expect({ what, code: imported.code, stderr: imported.stderr }).toEqual({
        what,
        code: 1,
        stderr: expect.stringContaining(`refusing to import ${crafted}: payload is malformed: ${detail(what)}`),
      });
      expect(imported.stderr).toMatch(/nothing was written/);
    }
  };

  it('refuses a plugin value holding a BigInt, a Date or a Buffer, naming the plugin, key and member', async () => {
    const { data, payload, key } = await exported('row');
    await refusesEach(
      'row',
      data,
      payload,
      (what) =>
        `plugin "${VOLUME}", store "rows", key ${JSON.stringify(key)}: its value: its member .category is a ${what}, not plain objects`,
    );
  }, 120_000);

  it('refuses a journal tail message holding one, naming the entry', async () => {
    const { data, payload } = await exported('tail');
    await refusesEach(
      'tail',
      data,
      payload,
      (what) => `journalTail entry 0: its member .msg.odd is a ${what}, not plain objects`,
    );
    // The same export with a plain value in that place is taken.
    const plain = join(dir.path, 'tail-plain.scx');
    writeFileSync(plain, exportWithBytes(payload, PLACEHOLDER, Buffer.from([0x07])));
    const imported = await runCli(['snapshot', 'import', plain, '--data-dir', join(dir.path, 'plain-target')]);
    expect(imported.code, imported.stderr).toBe(0);
  }, 120_000);
});
