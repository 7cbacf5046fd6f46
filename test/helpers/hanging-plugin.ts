import { pluginService } from './plugin-service.js';
import { type BusPublisher, joinedPublisher } from './probes.js';
import { eventually, getJson, type RunningService } from './service-process.js';

/**
 * A plugin module (source text) whose `update` never returns on a message with `hang: true` in
 * its body, holds one with `holdUntil: <path>` until that file exists (60 s at most, in
 * Atomics.wait: blocked without using the CPU, as a synchronous update waiting on something;
 * slow-message-stop counted loop turns instead, `spin: <n>`, ~1.5 s of CPU a message), and
 * counts every other message in one daily row: what the hang watch tests feed.
 */
export const HANGING_PLUGIN = `import { existsSync } from 'node:fs';
const nap = new Int32Array(new SharedArrayBuffer(4));
export default {
  name: 'Hangs on odd', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp'],
  update(message, { rows, bucket }) {
    if (message.body !== null && typeof message.body === 'object' && message.body.hang === true) for (;;) {}
    const holdUntil = message.body !== null && typeof message.body === 'object' ? message.body.holdUntil : undefined;
    if (typeof holdUntil === 'string')
      for (let i = 0; i < 12000 && !existsSync(holdUntil); i++) Atomics.wait(nap, 0, 0, 5);
    const before = rows.get(rows.keyOf({ timestamp: bucket }));
    rows.put({ timestamp: bucket, n: (before?.n ?? 0) + 1 });
  },
};`;
export const HANGING_IDENT = 'hangs-on-odd-1d';
export const HANGING_TOPIC = 'org.fedoraproject.prod.buildsys.build.state.change';

/** Message `i` on HANGING_TOPIC, dated now, its id under `idPrefix`. */
export const hangingEnvelope = (i: number, body: Record<string, unknown>, idPrefix: string): string =>
  JSON.stringify({
    topic: HANGING_TOPIC,
    timestamp: Math.floor(Date.now() / 1000),
    msg_id: `${idPrefix}-${i}`,
    i,
    msg: { owner: 'ralph', name: 'kernel', ...body },
  });

export const hangingRows = async (svc: Pick<RunningService, 'base'>): Promise<{ n: number }[]> =>
  (await getJson(`${svc.base}/api/${HANGING_IDENT}`)).body as { n: number }[];

/** A service loading HANGING_PLUGIN with a hang timeout of one second (pluginService's data dir and serve()). */
export const hangingPluginService = (): ReturnType<typeof pluginService> =>
  pluginService({ 'hangs.mjs': HANGING_PLUGIN }, { args: ['--plugin-hang-timeout', '1'] });

/** A publisher joined to `svc` that has fed it message 1 (no hang), seen applied: the hang tests' common start. */
export async function publisherPastFirst(
  svc: Pick<RunningService, 'bound' | 'base'>,
  envelope: (i: number, body: Record<string, unknown>) => string,
): Promise<BusPublisher> {
  const pub = await joinedPublisher(svc);
  await pub.send(HANGING_TOPIC, envelope(1, {}));
  await eventually(async () => ((await hangingRows(svc))[0]?.n === 1 ? true : undefined), 15_000, 'the first message');
  return pub;
}

/**
 * A plugin module whose view counts to its parameter `n` two by two: an odd n is never reached
 * (a view that hangs on some parameters only). Its ident is LOOPING_VIEW_IDENT.
 */
export const LOOPING_VIEW_PLUGIN = `export default {
  name: 'Loops on seven', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp'],
  params: { n: { type: 'integer', description: 'a number', min: 0, max: 100 } },
  update() {},
  view(ctx, params) {
    const n = params.n ?? 0;
    for (let i = 0; i !== n; i += 2) {}
    return [{ timestamp: 1000, n }];
  },
};`;
export const LOOPING_VIEW_IDENT = 'loops-on-seven-1d';
