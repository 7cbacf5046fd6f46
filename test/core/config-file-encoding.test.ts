import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runCli } from '../commands/cli.js';
import { CLI, tempDir } from '../helpers/service-process.js';

const dir = tempDir();
afterAll(() => dir.remove());

const BOM = '\ufeff';
const write = (name: string, bytes: string | Buffer): string => {
  const file = join(dir.path, name);
  writeFileSync(file, bytes);
  return file;
};
const refusal = (file: string): string => {
  try {
    loadConfig({ env: {}, file });
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

/**
 * Notepad and some IDEs on Windows save UTF-8 with a byte order mark; npm (package.json) and
 * tsc (tsconfig.json) read such a file. The config file was refused at position 0 ("not valid
 * JSON"), and a UTF-16 file got the same parse error, which named no encoding.
 */
describe('configuration: the config file as bytes', () => {
  it('takes one leading UTF-8 byte order mark, as npm and tsc do, in process and through the CLI', async () => {
    const file = write('bom.json', `${BOM}{"port": 1234, "topic": ["org.fedoraproject.prod.é"]}`);
    const c = loadConfig({ env: {}, file });
    expect([c.port, c.topic]).toEqual([1234, ['org.fedoraproject.prod.é']]);
    // serve reads it: the refusal is the bad setting's, not the file's.
    const bad = write('bom-bad-port.json', `${BOM}{"port": "x"}`);
    const serve = spawnSync(process.execPath, [CLI, 'serve', '--config', bad], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: serve.status, stderr: serve.stderr.slice(0, 120) }).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(
        /^statscache: SC_CONFIG_INVALID: setting "port" \(config file .*bom-bad-port\.json\)/,
      ),
    });
    // An operator command reading serve's config file takes the setting from it.
    const messages = write('one.jsonl', '');
    const meta = await runCli(['meta', '--config', write('bom-fanout.json', `${BOM}{"maxFanout": 4}`), messages]);
    expect({ code: meta.code, stderr: meta.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('stays as strict about the rest: a second mark, one inside the text, or bytes that are not UTF-8', () => {
    expect(refusal(write('two-boms.json', `${BOM}${BOM}{"port": 1234}`))).toMatch(
      /^SC_CONFIG_INVALID: setting "config": .*two-boms\.json is not valid JSON/,
    );
    expect(refusal(write('inner-bom.json', `{"port":${BOM} 1234}`))).toMatch(/inner-bom\.json is not valid JSON/);
    // Inside a string it is a character like any other, as before.
    const inString = write('bom-in-string.json', `{"topic": ["org.a${BOM}b."]}`);
    expect(loadConfig({ env: {}, file: inString }).topic).toEqual([`org.a${BOM}b.`]);
    // Latin-1 (Windows-1252) é: read as U+FFFD, the service subscribed to a topic nobody publishes.
    const latin1 = Buffer.concat([Buffer.from('{"topic": ["org.caf'), Buffer.from([0xe9]), Buffer.from('."]}')]);
    expect(refusal(write('latin1.json', latin1))).toMatch(
      /^SC_CONFIG_INVALID: setting "config": .*latin1\.json is not UTF-8 JSON: it holds bytes UTF-8 has no reading for/,
    );
  });

  it('names UTF-16 as the reason, marked or not, instead of a parse error at position 0', () => {
    const text = '{"port": 1234}';
    const cases: [string, Buffer, string][] = [
      ['utf16le-bom.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'UTF-16 LE'],
      [
        'utf16be-bom.json',
        Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]),
        'UTF-16 BE',
      ],
      ['utf16le.json', Buffer.from(text, 'utf16le'), 'UTF-16'],
    ];
    for (const [name, bytes, encoding] of cases)
      expect(refusal(write(name, bytes)), name).toMatch(
        new RegExp(
          `^SC_CONFIG_INVALID: setting "config": .*${name.replace('.', '\\.')} is not UTF-8 JSON: .*${encoding}.*save it as UTF-8`,
        ),
      );
    const cli = spawnSync(process.execPath, [CLI, 'serve', '--config', join(dir.path, 'utf16le-bom.json')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: cli.status, stderr: cli.stderr.slice(0, 200) }).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(
        /^statscache: SC_CONFIG_INVALID: setting "config": .*utf16le-bom\.json is not UTF-8 JSON/,
      ),
    });
  });
});
