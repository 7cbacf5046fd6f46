import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FANOUT } from '../../src/meta/fanout.js';
import { runCli } from '../commands/cli.js';

/**
 * `statscache meta` explains what `serve` derives, so it reads `serve`'s config file for the
 * setting it uses (--max-fanout): --config or STATSCACHE_CONFIG, below the environment and the
 * flag. It took no --config (commander refused the option), so a service cut at its config
 * file's maxFanout was explained with the default cut.
 */
const dir = mkdtempSync(join(tmpdir(), 'statscache-meta-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attendees = DEFAULT_MAX_FANOUT + 20;
const messages = join(dir, 'meeting.jsonl');
writeFileSync(
  messages,
  `${JSON.stringify({
    topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
    timestamp: 1_700_000_000,
    msg_id: 'meta-config-meeting',
    msg: {
      meeting_topic: 'config',
      owner: 'chair',
      chairs: {},
      attendees: Object.fromEntries(Array.from({ length: attendees }, (_, i) => [`person${i}`, 1])),
    },
  })}\n`,
);

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const usernamesOf = (stdout: string): string[] => (JSON.parse(stdout.trim()) as { usernames: string[] }).usernames;

describe('statscache meta --config', () => {
  it('cuts at the config file maxFanout, under the environment and the flag, as serve', async () => {
    const file = configFile('fanout-4.json', JSON.stringify({ maxFanout: 4 }));

    const fromFile = await runCli(['meta', '--config', file, messages]);
    expect(fromFile.stderr).toBe('');
    expect(fromFile.code).toBe(0);
    expect(usernamesOf(fromFile.stdout)).toHaveLength(4);

    // STATSCACHE_CONFIG names the file when --config does not, as for serve.
    const fromEnvFile = await runCli(['meta', messages], { STATSCACHE_CONFIG: file });
    expect(fromEnvFile.code).toBe(0);
    expect(usernamesOf(fromEnvFile.stdout)).toHaveLength(4);

    const envWins = await runCli(['meta', '--config', file, messages], { STATSCACHE_MAX_FANOUT: '6' });
    expect(usernamesOf(envWins.stdout)).toHaveLength(6);

    const flagWins = await runCli(['meta', '--config', file, '--max-fanout', '9', messages], {
      STATSCACHE_MAX_FANOUT: '6',
    });
    expect(usernamesOf(flagWins.stdout)).toHaveLength(9);

    // A file without the key leaves the default; the service's other settings, even bad ones
    // (which serve refuses), are not meta's concern, in the file or in the environment.
    const other = configFile('other.json', JSON.stringify({ port: 'not a port', dataDir: 'elsewhere' }));
    const byDefault = await runCli(['meta', '--config', other, messages], { STATSCACHE_WS_MAX_VIEWS: 'lots' });
    expect(byDefault.code).toBe(0);
    expect(usernamesOf(byDefault.stdout)).toHaveLength(DEFAULT_MAX_FANOUT);
  }, 60_000);

  it('refuses a bad config file with exit 2 and the very error serve gives for it, printing nothing', async () => {
    const bad = [
      configFile('not-json.json', '{"maxFanout": 4'),
      configFile('array.json', '[1, 2]'),
      configFile('zero.json', JSON.stringify({ maxFanout: 0 })),
      configFile('text.json', JSON.stringify({ maxFanout: 'many' })),
      configFile('typo.json', JSON.stringify({ maxFanOut: 4 })),
      join(dir, 'missing.json'),
      '',
    ];
    for (const file of bad) {
      const meta = await runCli(['meta', '--config', file, messages]);
      const serve = await runCli(['serve', '--config', file]);
      expect(serve.code, file).toBe(2);
      expect(serve.stderr, file).toContain('SC_CONFIG_INVALID');
      expect(meta.code, file).toBe(2);
      expect(meta.stdout, file).toBe('');
      expect(meta.stderr, file).toBe(serve.stderr);
    }
  }, 120_000);
});
