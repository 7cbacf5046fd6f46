import { anitya, hotness } from './anitya.js';
import { bodhi } from './bodhi.js';
import { buildsys } from './buildsys.js';
import {
  askbot,
  badges,
  elections,
  fedocal,
  fmn,
  kerneltest,
  nuancier,
  planet,
  summershum,
  tagger,
} from './community.js';
import { copr } from './copr.js';
import { fas } from './fas.js';
import { github } from './github.js';
import { mailman } from './mailman.js';
import { irc, meetbot } from './meetbot.js';
import { bugzilla, faf, mdapi } from './package-data.js';
import { pagure } from './pagure.js';
import { pkgdb } from './pkgdb.js';
import {
  ansible,
  autocloud,
  compose,
  datanommer,
  fedimg,
  mbs,
  mirrormanager,
  nagios,
  odcs,
  pdc,
  pungi,
  releng,
  zanata,
} from './releng.js';
import { scm } from './scm.js';
import { ci, greenwave, jenkins, koschei, openqa, rats, taskotron, waiverdb } from './testing.js';
import { trac } from './trac.js';
import type { RuleSet } from './types.js';
import { wiki } from './wiki.js';

/** Category (4th topic token) → rule set; one lookup per message. Unlisted categories use the generic rules. */
export const RULES: ReadonlyMap<string, RuleSet> = new Map<string, RuleSet>([
  ['allpackages', ci],
  ['anitya', anitya],
  ['ansible', ansible],
  ['askbot', askbot],
  ['autocloud', autocloud],
  ['bodhi', bodhi],
  ['bugzilla', bugzilla],
  ['buildsys', buildsys],
  ['ci', ci],
  ['compose', compose],
  ['copr', copr],
  ['datanommer', datanommer],
  ['faf', faf],
  ['fas', fas],
  ['fedbadges', badges],
  ['fedimg', fedimg],
  ['fedocal', fedocal],
  ['fedora_elections', elections],
  ['fedoratagger', tagger],
  ['fmn', fmn],
  ['git', scm],
  ['github', github],
  ['greenwave', greenwave],
  ['hotness', hotness],
  ['irc', irc],
  ['jenkins', jenkins],
  ['kerneltest', kerneltest],
  ['koschei', koschei],
  ['mailman', mailman],
  ['mbs', mbs],
  ['mdapi', mdapi],
  ['meetbot', meetbot],
  ['mirrormanager', mirrormanager],
  ['nagios', nagios],
  ['nuancier', nuancier],
  ['odcs', odcs],
  ['openqa', openqa],
  ['pagure', pagure],
  ['pdc', pdc],
  ['pkgdb', pkgdb],
  ['planet', planet],
  ['pungi', pungi],
  ['rats', rats],
  ['releng', releng],
  ['summershum', summershum],
  ['taskotron', taskotron],
  ['trac', trac],
  ['waiverdb', waiverdb],
  ['wiki', wiki],
  ['zanata', zanata],
]);
