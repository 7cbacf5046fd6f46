import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FANOUT } from '../../src/meta/fanout.js';
import { runCli } from '../commands/cli.js';

/**
 * `statscache meta` cuts usernames and packages where `serve` does: at --max-fanout (the same
 * setting, default and bounds). It had no such flag: its lists were cut at the default only,
 * whatever the service it is meant to explain was told.
 */
const dir = mkdtempSync(join(tmpdir(), 'statscache-meta-fanout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A meeting naming `n` attendees: meetbot's rules name every one of them. */
function meetingFile(n: number): string {
  const people = Array.from({ length: n }, (_, i) => `person${i}`);
  const meeting = {
    topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
    timestamp: 1_700_000_000,
    msg_id: 'meta-fanout-meeting',
    msg: {
      meeting_topic: 'fanout',
      owner: 'chair',
      chairs: {},
      attendees: Object.fromEntries(people.map((p) => [p, 1])),
    },
  };
  const file = join(dir, `meeting-${n}.jsonl`);
  writeFileSync(file, `${JSON.stringify(meeting)}\n`);
  return file;
}

const usernamesOf = (stdout: string): string[] => (JSON.parse(stdout.trim()) as { usernames: string[] }).usernames;

describe('statscache meta --max-fanout', () => {
  const file = meetingFile(DEFAULT_MAX_FANOUT + 50);

  it('cuts usernames at the flag, at the default without it, and keeps all under it', async () => {
    const cut = await runCli(['meta', '--max-fanout', '7', file]);
    expect(cut.stderr).toBe('');
    expect(cut.code).toBe(0);
    expect(usernamesOf(cut.stdout)).toHaveLength(7);

    const byDefault = await runCli(['meta', file]);
    expect(byDefault.code).toBe(0);
    expect(usernamesOf(byDefault.stdout)).toHaveLength(DEFAULT_MAX_FANOUT);

    const all = await runCli(['meta', '--max-fanout', String(DEFAULT_MAX_FANOUT + 100), file]);
    expect(all.code).toBe(0);
    expect(usernamesOf(all.stdout)).toHaveLength(DEFAULT_MAX_FANOUT + 50);

    // The environment variable serve reads, below the flag.
    const env = await runCli(['meta', file], { STATSCACHE_MAX_FANOUT: '3' });
    expect(usernamesOf(env.stdout)).toHaveLength(3);
    const flagWins = await runCli(['meta', '--max-fanout', '5', file], { STATSCACHE_MAX_FANOUT: '3' });
    expect(usernamesOf(flagWins.stdout)).toHaveLength(5);
  }, 60_000);

  it('refuses a bad value with exit 2 and an error naming the flag, printing nothing', async () => {
    for (const bad of ['0', '-1', 'abc', '100001', '2.5']) {
      const r = await runCli(['meta', '--max-fanout', bad, file]);
      expect(r.code, bad).toBe(2);
      expect(r.stdout, bad).toBe('');
      expect(r.stderr, bad).toContain('--max-fanout');
      expect(r.stderr, bad).toContain('SC_CONFIG_INVALID');
    }
  }, 60_000);
});
