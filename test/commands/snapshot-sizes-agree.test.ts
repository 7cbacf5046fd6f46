/**
 * `snapshot take` and `snapshot list` on the same generation: take's `bytes` is what that
 * snapshot wrote (only what changed, 0 when nothing had), list's `bytes` the generation's whole
 * stored size, so an operator saw two figures for one generation. take now also reports
 * `generationBytes` and `generationEntries`, the figure list shows, from one helper.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

const TOKEN = 'correct-horse-battery-staple';

interface Taken {
  generation: number;
  bytes: number;
  written: number;
  generationBytes: number;
  generationEntries: number;
}
interface Listed {
  generations: { generation: number | null; entries: number; bytes: number }[];
}

describe('snapshot take and snapshot list report one size for one generation', () => {
  const dir = tempDir();
  const samples = recentSamples(Math.floor(Date.now() / 1000));
  let service: Service;
  let url = '';

  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      flags: { dataDir: dir.path, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'], adminToken: TOKEN },
    });
    service = await Service.build({ config, logger: createLogger('silent'), checkDataFile: false });
    await service.start();
    url = `http://127.0.0.1:${service.server?.port}`;
  });
  afterAll(async () => {
    await service.stop();
    dir.remove();
  });

  /** Feeds `messages`, takes a snapshot with the CLI, lists the data dir with the CLI (the service still running). */
  const takeAndList = async (messages: readonly unknown[]) => {
    for (const m of messages) service.accept(m as never);
    await service.settled();
    const took = await runCli(['snapshot', 'take', '--url', url, '--token', TOKEN]);
    expect(took.code, took.stderr).toBe(0);
    const taken = JSON.parse(took.stdout) as Taken;
    const listed = await runCli(['snapshot', 'list', '--json', '--data-dir', dir.path]);
    expect(listed.code, listed.stderr).toBe(0);
    const generation = (JSON.parse(listed.stdout) as Listed).generations.find((g) => g.generation === taken.generation);
    expect(generation).toBeDefined();
    return { taken, listed: generation as Listed['generations'][number] };
  };

  it('the first snapshot, an incremental one and one with nothing new: generationBytes is list bytes each time', async () => {
    const first = await takeAndList(samples.slice(0, 300));
    expect(first.taken.generationBytes).toBeGreaterThan(0);
    expect(first.taken.generationBytes).toBe(first.listed.bytes);
    expect(first.taken.generationEntries).toBe(first.listed.entries);

    // A later snapshot writes its slot whole (a fresh slot) or only what changed: bytes tells
    // that, generationBytes still what the generation holds.
    const second = await takeAndList(samples.slice(300, 320));
    expect(second.taken.generation).toBe(first.taken.generation + 1);
    expect(second.taken.generationBytes).toBe(second.listed.bytes);
    expect(second.taken.generationEntries).toBe(second.listed.entries);

    // Nothing new: no generation is written (bytes 0, the figure the operator saw disagree), the newest one is reported.
    const same = await takeAndList([]);
    expect(same.taken.generation).toBe(second.taken.generation);
    expect(same.taken.bytes).toBe(0);
    expect(same.taken.generationBytes).toBe(same.listed.bytes);
    expect(same.taken.generationBytes).toBe(second.taken.generationBytes);
  }, 60_000);
});
