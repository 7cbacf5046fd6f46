import { strAt } from '../fields.js';
import { TOKEN, type ReleaseSource } from './event.js';

/** `<prefix>.(start|complete)` for the rawhide/branched composes and their mash, pungify and rsync steps. */
const TOPIC = /^org\.fedoraproject\.prod\.compose\.(rawhide|branched)(?:\.(mash|pungify|rsync))?\.(start|complete)$/;

const titleCase = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();

/**
 * Compose progress: category `compose-<branch>_<arch>` (`primary` when the message has no
 * arch), one entry per step, the step being the last token of the topic prefix.
 */
export const composeSource: ReleaseSource = (message) => {
  const m = TOPIC.exec(message.topic);
  if (!m) return null;
  const [, branch, step, status] = m as unknown as [string, string, string | undefined, string];
  const rawArch = strAt(message.body, 'arch');
  const arch = rawArch === undefined ? 'primary' : rawArch;
  if (!TOKEN.test(arch)) return null;
  const constraint = step ?? branch;
  return { category: `compose-${branch}_${arch}`, constraint, message: { name: titleCase(constraint), status } };
};
