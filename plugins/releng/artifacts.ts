import type { PluginMessage } from '../../actors/plugin-api.js';
import { at, isObj, strAt } from '../fields.js';
import { TOKEN, type ReleaseSource } from './event.js';
import { linkHostsOf, safeLink } from '../../src/meta/safe-link.js';

const TOPIC = /^org\.fedoraproject\.prod\.buildsys\.task\.state\.change$/;
const METHODS: ReadonlySet<string> = new Set(['appliance', 'livecd']);
/** koji's TASK_STATES, for publishers that send the number instead of the name. */
const KOJI_TASK_STATES = ['free', 'open', 'closed', 'canceled', 'assigned', 'failed'];
const TASK_FILES = 'https://kojipkgs.fedoraproject.org/work/tasks/';
const KOJIPKGS_HOSTS = linkHostsOf('compose');

/**
 * The task state as the dashboard's `status_class_map` spells it (`closed`, `failed`,
 * `open`…): koji sends `CLOSED`, older publishers the state number.
 */
function statusOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim().toLowerCase();
  if (typeof value === 'number' && Number.isInteger(value)) return KOJI_TASK_STATES[value] ?? String(value);
  return undefined;
}

/** `<srpm> (<format>) (<rawhide|branched>)`: the image name plus what the task request tells. */
function displayName(srpm: string, info: unknown): string {
  const request = at(info, 'request');
  if (!Array.isArray(request)) return srpm;
  let name = srpm;
  const options: unknown = request[request.length - 1];
  const format = strAt(options, 'format');
  if (format !== undefined) name += ` (${format})`;
  const target: unknown = request[1];
  if (typeof target === 'string' && target !== '') name += ` (${target === 'rawhide' ? 'rawhide' : 'branched'})`;
  return name;
}

/**
 * Where a finished livecd's image lands: `<tasks>/<bucket>/<child task id>/<name>-<version>-<release><ext>`.
 * Only computable for a closed task with exactly one child whose result path names the bucket;
 * anything else yields no link rather than an error.
 */
function imageLink(status: string, info: unknown): string | undefined {
  const children = at(info, 'children');
  if (status !== 'closed' || !Array.isArray(children) || children.length !== 1) return undefined;
  const childId = at(children[0], 'id');
  const result = strAt(info, 'result');
  const request = at(info, 'request');
  if (typeof childId !== 'number' || result === undefined || !Array.isArray(request)) return undefined;
  const bucket = (result.split(' ').pop() ?? '').split('/')[5];
  const [name, version] = request as unknown[];
  const options: unknown = request[5];
  const release = at(options, 'release');
  if (
    bucket === undefined ||
    !/^\d+$/.test(bucket) ||
    typeof name !== 'string' ||
    typeof version !== 'string' ||
    (typeof release !== 'string' && typeof release !== 'number')
  ) {
    return undefined;
  }
  const format = strAt(options, 'format');
  const ext = format === undefined ? '.iso' : format === 'qcow2' ? '-sda.qcow2' : format === 'raw' ? '-sda.raw.xz' : '';
  return safeLink(
    `${TASK_FILES}${bucket}/${childId}/${encodeURIComponent(`${name}-${version}-${release}${ext}`)}`,
    KOJIPKGS_HOSTS,
  );
}

function taskLink(message: PluginMessage): string | undefined {
  // meta.link was checked against buildsys's hosts already; checked again here against koji's own, as this plugin promises.
  const link = message.meta.link;
  if (link !== null) return safeLink(link, linkHostsOf('buildsys'));
  const id = at(message.body, 'id');
  return typeof id === 'number' && Number.isInteger(id)
    ? `https://koji.fedoraproject.org/koji/taskinfo?taskID=${id}`
    : undefined;
}

/**
 * Appliance and live-CD images built by the masher: category `artifact-<method>_<arch>`
 * (the arch is the last `-` token of the srpm field, which for image tasks is the image
 * name). Messages without `info` are common and must not crash (a reported bug of the original).
 */
export const artifactsSource: ReleaseSource = (message) => {
  if (!TOPIC.test(message.topic)) return null;
  const body = message.body;
  if (!isObj(body) || body['owner'] !== 'masher') return null;
  const method = body['method'];
  const srpm = strAt(body, 'srpm');
  const status = statusOf(body['new']);
  if (typeof method !== 'string' || !METHODS.has(method) || srpm === undefined || status === undefined) return null;
  const arch = srpm.split('-').pop() ?? '';
  if (!TOKEN.test(arch)) return null;
  const info = isObj(body['info']) ? body['info'] : undefined;
  const name = displayName(srpm, info);
  const link = method === 'livecd' ? imageLink(status, info) : undefined;
  const details = taskLink(message);
  return {
    category: `artifact-${method}_${arch}`,
    constraint: name,
    message: {
      name,
      status,
      ...(link === undefined ? {} : { link }),
      extra_text: '(details)',
      ...(details === undefined ? {} : { extra_link: details }),
    },
  };
};
