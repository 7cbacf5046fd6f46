import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { loadConfig } from '../../src/config.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { Service } from '../../src/service.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/**
 * An older version accepted a message dated years ahead and snapshotted the row it made; that
 * row kept every retention watermark ahead of the clock. A start with today's code drops it.
 */
describe('rows restored from ahead of the clock', () => {
  it('are dropped at start and gone from the next snapshot', async () => {
    const d = tempDir();
    dirs.push(d);
    const now = Math.floor(Date.now() / 1000);
    const old = openSession(d.path, builtinPlugins(), { slots: 3, journalSeq: () => 0 });
    const daily = old.host.get('volume-by-category-1d')!;
    daily.send(createPluginMessage({ topic: 'org.fedoraproject.prod.buildsys.tag', timestamp: now - 3600, msg: {} }, deriveMeta));
    daily.send(createPluginMessage({ topic: 'org.fedoraproject.prod.buildsys.tag', timestamp: now + 30 * 86_400, msg: {} }, deriveMeta));
    expect(daily.state.rows.size).toBe(2);
    await old.snapshotter.take();
    await old.close();

    const config = loadConfig({ env: {}, flags: { dataDir: d.path, port: 0 } });
    const service = Service.build({ config, logger: pino({ level: 'silent' }) as never });
    const rows = [...service.host.get('volume-by-category-1d')!.state.rows.values()];
    expect(rows.map((r) => r.timestamp)).toEqual([(Math.floor((now - 3600) / 86_400) + 1) * 86_400]);
    expect(service.futureRowsDropped).toEqual({ 'volume-by-category-1d': 1 });
    await service.snapshot();
    await service.close();

    const again = Service.build({ config, logger: pino({ level: 'silent' }) as never });
    expect(again.futureRowsDropped).toEqual({});
    expect(again.host.get('volume-by-category-1d')!.state.rows.size).toBe(1);
    await again.close();
  });
});
