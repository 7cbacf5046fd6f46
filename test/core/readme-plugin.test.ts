import { describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { queryView } from '../../actors/view-query.js';
import buildsByOwner from '../../examples/readme-plugin/builds-by-owner.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

describe("the README's example plugin", () => {
  it('registers, counts completed builds per owner per hour, and filters by its parameter', () => {
    const [plugin] = registerPlugins([buildsByOwner]);
    expect(plugin?.ident).toBe('builds-by-owner-1h');
    const host = new PluginHost(registerPlugins([buildsByOwner]), (_i, e) => {
      throw e;
    });
    const rt = host.runtimes[0]!;
    const send = (owner: unknown, state: number, t: number) =>
      rt.send(
        createPluginMessage(
          {
            topic: 'org.fedoraproject.prod.buildsys.build.state.change',
            timestamp: t,
            msg: { owner, new: state, name: 'kernel' },
          },
          deriveMeta,
        ),
      );
    send('ralph', 1, 10);
    send('ralph', 1, 20);
    send('ralph', 0, 30); // BUILDING, not counted
    send('kevin', 1, 3_700);
    send(42, 1, 40); // malformed owner: ignored
    const all = queryView(rt, { order: 'asc', page: 1, rowsPerPage: 100, params: {} }).rows;
    expect(all).toEqual([
      { timestamp: 3_600, owner: 'ralph', builds: 2 },
      { timestamp: 7_200, owner: 'kevin', builds: 1 },
    ]);
    expect(queryView(rt, { order: 'desc', page: 1, rowsPerPage: 100, params: { owner: 'kevin' } }).rows).toEqual([
      { timestamp: 7_200, owner: 'kevin', builds: 1 },
    ]);
    expect(rt.inspect().stores['totals']?.get('ralph')).toBe(2);
    host.stop();
  });
});
