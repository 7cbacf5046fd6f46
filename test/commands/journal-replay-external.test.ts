import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { joinedPublisher } from '../helpers/probes.js';
import { runCli } from './cli.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/plugins/bodhi-karma.js', import.meta.url));

type KarmaRow = { timestamp: number; update: string; karma: number; comments: number };

describe('journal replay rebuilds external plugins too', () => {
  const dir = tempDir();
  const config = join(dir.path, 'config.json');
  const dataDir = join(dir.path, 'data');
  writeFileSync(config, JSON.stringify({ plugins: [EXAMPLE], dataDir }));
  let svc: RunningService | null = null;

  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('keeps bodhi-karma rows after `journal replay --from 0` and a restart', async () => {
    svc = await startService(['--config', config]);
    const s = svc;
    const pub = await joinedPublisher(s);
    const now = Math.floor(Date.now() / 1000);
    const comment = (n: number, karma: number) => ({
      topic: 'org.fedoraproject.prod.bodhi.update.comment',
      timestamp: now - 100 + n,
      msg_id: `2026-karma-${n}`,
      msg: { comment: { karma, user: { name: `tester${n}` }, update_alias: 'FEDORA-2026-0a1b2c' } },
    });
    const sent = [comment(1, 1), comment(2, 1), comment(3, -1), comment(4, 0)];
    let want: KarmaRow[] = [];
    await eventually(
      async () => {
        for (const m of sent) await pub.send(m.topic, JSON.stringify(m));
        const rows = (await getJson(`${s.base}/api/bodhi-karma-1d`)).body as KarmaRow[];
        if (rows.length === 1 && rows[0]!.comments === 4) want = rows;
        return want.length === 1 ? true : undefined;
      },
      15_000,
      'four comments counted (repeats are de-duplicated)',
    );
    expect(want[0]).toMatchObject({ update: 'FEDORA-2026-0a1b2c', karma: 1, comments: 4 });
    pub.close();
    expect(await s.stop('SIGTERM')).toBe(0);
    svc = null;

    const replay = await runCli(['journal', 'replay', '--from', '0', '--config', config]);
    expect(replay.stderr + replay.stdout).not.toContain('Error');
    expect(replay.code).toBe(0);

    svc = await startService(['--config', config]);
    const t = svc;
    await eventually(
      async () => ((await getJson(`${t.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    expect((await getJson(`${t.base}/api/bodhi-karma-1d`)).body).toEqual(want);
  }, 60_000);
});
