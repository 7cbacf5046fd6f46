import { publisher } from './bus.js';
import type { Logger } from './logger.js';

/**
 * Realistic fedmsg traffic for the demo: the shapes of the busiest real topics (koji
 * builds, bodhi updates, dist-git pushes, copr, wiki, FAS, pagure), random people and
 * packages, current timestamps. Made up here; the real captured samples stay test-only.
 */
const USERS = [
  'ralph',
  'kevin',
  'pingou',
  'adamwill',
  'mattdm',
  'churchyard',
  'ignatenkobrain',
  'sgallagh',
  'decathorpe',
  'limb',
];
const PACKAGES = [
  'kernel',
  'firefox',
  'python3',
  'gnome-shell',
  'systemd',
  'rpm',
  'glibc',
  'nodejs',
  'rust',
  'golang',
  'podman',
  'mesa',
];
const RELEASES = ['F41', 'F42', 'F43', 'EPEL-9'];

type Pick = <T>(xs: readonly T[]) => T;

const TEMPLATES: ReadonlyArray<(pick: Pick) => { topic: string; msg: Record<string, unknown> }> = [
  (pick) => ({
    topic: 'org.fedoraproject.prod.buildsys.build.state.change',
    msg: {
      owner: pick(USERS),
      name: pick(PACKAGES),
      version: '1.0',
      release: '1.fc43',
      new: pick([0, 1, 1, 1, 3]),
      old: 0,
      build_id: Math.floor(Math.random() * 1e7),
      instance: 'primary',
    },
  }),
  (pick) => ({
    topic: 'org.fedoraproject.prod.buildsys.task.state.change',
    msg: {
      owner: pick(USERS),
      method: 'build',
      srpm: `${pick(PACKAGES)}-1.0-1.fc43.src.rpm`,
      new: 'CLOSED',
      old: 'OPEN',
      id: Math.floor(Math.random() * 1e8),
    },
  }),
  (pick) => ({
    topic: 'org.fedoraproject.prod.bodhi.update.comment',
    msg: {
      comment: {
        user: { name: pick(USERS) },
        text: 'works for me',
        karma: 1,
        update_title: `${pick(PACKAGES)}-1.0-1.fc43`,
      },
    },
  }),
  (pick) => ({
    topic: 'org.fedoraproject.prod.bodhi.update.request.testing',
    msg: { agent: pick(USERS), update: { title: `${pick(PACKAGES)}-1.0-1.fc43`, release: { name: pick(RELEASES) } } },
  }),
  (pick) => {
    const pkg = pick(PACKAGES);
    return {
      topic: 'org.fedoraproject.prod.git.receive',
      msg: {
        commit: {
          username: pick(USERS),
          repo: pkg,
          branch: 'rawhide',
          summary: 'Rebuilt for the mass rebuild',
          rev: Math.random().toString(16).slice(2),
        },
      },
    };
  },
  (pick) => ({
    topic: 'org.fedoraproject.prod.copr.build.end',
    msg: { user: pick(USERS), copr: 'playground', pkg: pick(PACKAGES), status: 1, chroot: 'fedora-rawhide-x86_64' },
  }),
  (pick) => ({
    topic: 'org.fedoraproject.prod.wiki.article.edit',
    msg: { user: pick(USERS), title: 'Changes/Demo', summary: 'typo' },
  }),
  (pick) => ({
    topic: 'org.fedoraproject.prod.fas.user.update',
    msg: { agent: pick(USERS), user: pick(USERS), fields: ['timezone'] },
  }),
  (pick) => ({
    topic: 'io.pagure.prod.pagure.issue.comment.added',
    msg: { agent: pick(USERS), project: { name: pick(PACKAGES) }, issue: { id: 7 } },
  }),
];

export interface SimulateOptions {
  readonly connect: string;
  readonly ratePerSecond: number;
  readonly log?: Logger;
}

/** Publishes until the process exits; returns once the first message is on its way. */
export async function simulate(options: SimulateOptions): Promise<void> {
  const pub = await publisher({ connect: options.connect });
  const pick: Pick = (xs) => xs[Math.floor(Math.random() * xs.length)] as (typeof xs)[number];
  let i = 0;
  const timer = setInterval(
    () => {
      const { topic, msg } = (TEMPLATES[Math.floor(Math.random() * TEMPLATES.length)] as (typeof TEMPLATES)[number])(
        pick,
      );
      i++;
      const envelope = {
        i,
        msg,
        msg_id: `${new Date().getUTCFullYear()}-${crypto.randomUUID()}`,
        timestamp: Math.floor(Date.now() / 1000),
        topic,
        username: 'apache',
      };
      pub
        .send(topic, JSON.stringify(envelope))
        .catch((err) => options.log?.warn({ err: String(err) }, 'simulator send failed'));
    },
    Math.max(1, Math.round(1000 / options.ratePerSecond)),
  );
  timer.unref();
}
