/**
 * Links derived from bus messages are served to browsers (`/raw?meta=link`, plugin rows,
 * dashboards), and most interpolate message fields or pass a message's URL through. A
 * publisher must not be able to turn one into `javascript:…` or point it at a host of its
 * choosing (`https://mbs.fedoraproject.org${state}` with `state = "@evil.example"` is a link
 * to evil.example). So every link is checked here, once, against the hosts its rule set
 * builds links to: http(s) only, no credentials, host on the list; anything else is no link.
 */

/** An exact host name, or `*.` + a domain for any host below it (not the domain itself). */
export type HostPattern = string;

/** Links refused, for /metrics (process-wide: meta derivation is a pure function shared by every caller). */
export const linkStats = { refused: 0 };

const FEDORA_INFRA: readonly HostPattern[] = ['fedoraproject.org', '*.fedoraproject.org'];
const KOJI: readonly HostPattern[] = [
  'koji.fedoraproject.org',
  'koji.stg.fedoraproject.org',
  '*.koji.fedoraproject.org',
  '*.koji.stg.fedoraproject.org',
];
const KOJIPKGS: readonly HostPattern[] = ['kojipkgs.fedoraproject.org', 'kojipkgs.stg.fedoraproject.org'];
const APPS: readonly HostPattern[] = ['apps.fedoraproject.org', 'apps.stg.fedoraproject.org'];
const ADMIN: readonly HostPattern[] = ['admin.fedoraproject.org', 'admin.stg.fedoraproject.org'];
const BADGES: readonly HostPattern[] = ['badges.fedoraproject.org', 'badges.stg.fedoraproject.org'];
const DIST_GIT: readonly HostPattern[] = [
  'src.fedoraproject.org',
  'src.stg.fedoraproject.org',
  'pkgs.fedoraproject.org',
  'pkgs.stg.fedoraproject.org',
];
const TASKOTRON: readonly HostPattern[] = ['taskotron.fedoraproject.org', 'taskotron.stg.fedoraproject.org'];

/**
 * Category (4th topic token) → the hosts its rule set links to (src/meta/rules). A category
 * not listed uses the generic rule, which passes `link`/`url` through: Fedora hosts only.
 */
export const LINK_HOSTS: ReadonlyMap<string, readonly HostPattern[]> = new Map<string, readonly HostPattern[]>([
  ['allpackages', ['ci.centos.org', '*.ci.centos.org']],
  ['anitya', ['release-monitoring.org']],
  ['ansible', ['infrastructure.fedoraproject.org']],
  ['askbot', ['ask.fedoraproject.org', 'ask.stg.fedoraproject.org']],
  ['autocloud', [...APPS, ...KOJIPKGS]],
  ['bodhi', ['bodhi.fedoraproject.org', 'bodhi.stg.fedoraproject.org', 'download.fedoraproject.org']],
  ['bugzilla', ['bugzilla.redhat.com']],
  ['buildsys', KOJI],
  ['ci', ['ci.centos.org', '*.ci.centos.org']],
  ['compose', KOJIPKGS],
  ['copr', ['copr.fedoraproject.org', 'copr-be.cloud.fedoraproject.org']],
  ['faf', ['retrace.fedoraproject.org', 'retrace.stg.fedoraproject.org']],
  ['fas', ADMIN],
  ['fedbadges', BADGES],
  ['fedocal', APPS],
  ['fedora_elections', ADMIN],
  ['fedoratagger', APPS],
  ['fmn', APPS],
  ['git', DIST_GIT],
  ['github', ['github.com']],
  ['greenwave', TASKOTRON],
  ['hotness', ['bugzilla.redhat.com', 'release-monitoring.org']],
  ['irc', BADGES],
  ['jenkins', ['jenkins.cloud.fedoraproject.org']],
  ['kerneltest', APPS],
  ['koschei', APPS],
  ['mailman', ['lists.fedoraproject.org', 'lists.stg.fedoraproject.org']],
  ['mbs', ['mbs.fedoraproject.org', 'mbs.stg.fedoraproject.org']],
  ['mdapi', ['download.fedoraproject.org']],
  // A link posted in a meeting may point anywhere; only Fedora's own trackers are passed on.
  ['meetbot', [...FEDORA_INFRA, 'bugzilla.redhat.com', 'pagure.io']],
  ['mirrormanager', ['mirrors.fedoraproject.org']],
  ['nagios', ADMIN],
  ['nuancier', APPS],
  ['odcs', ['odcs.fedoraproject.org', 'odcs.stg.fedoraproject.org']],
  ['openqa', ['openqa.fedoraproject.org', 'openqa.stg.fedoraproject.org']],
  ['pagure', ['pagure.io', 'src.fedoraproject.org', 'src.stg.fedoraproject.org']],
  ['pdc', ['pdc.fedoraproject.org', 'pdc.stg.fedoraproject.org']],
  ['pkgdb', ADMIN],
  ['planet', FEDORA_INFRA],
  ['pungi', KOJIPKGS],
  ['rats', DIST_GIT],
  ['releng', ['download.fedoraproject.org']],
  ['summershum', DIST_GIT],
  ['taskotron', TASKOTRON],
  ['trac', ['fedorahosted.org', 'git.fedorahosted.org']],
  ['waiverdb', ['waiverdb-web-waiverdb.app.os.fedoraproject.org']],
  ['wiki', ['fedoraproject.org', 'stg.fedoraproject.org']],
  ['zanata', ['fedora.zanata.org']],
]);

/** The hosts links of `category` may point to. */
export function linkHostsOf(category: string): readonly HostPattern[] {
  return LINK_HOSTS.get(category) ?? FEDORA_INFRA;
}

function hostMatches(host: string, patterns: readonly HostPattern[]): boolean {
  for (const p of patterns)
    if (p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p) return true;
  return false;
}

/**
 * `url` when it is an absolute http(s) URL without credentials whose host is one of `hosts`;
 * otherwise undefined (counted when a link was given). The string is returned as given, not
 * normalised, so a link keeps the form its publisher wrote.
 */
export function safeLink(url: unknown, hosts: readonly HostPattern[]): string | undefined {
  if (url === undefined || url === null) return undefined;
  if (typeof url !== 'string' || url.length > 4096) return refuse();
  const text = url.trim();
  // WHATWG URL parsing forgives control characters and reads a backslash as a slash: refuse what a browser might read differently.
  if (!LINK_SHAPE.test(text)) return refuse();
  if (plainHostMatches(text, hosts)) return text;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return refuse();
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username !== '' || parsed.password !== '')
    return refuse();
  return hostMatches(parsed.hostname.toLowerCase(), hosts) ? text : refuse();
}

/** A link safeLink() may keep: http(s), then no backslash and no control character (C0 or DEL). Module-level: a literal in the function is a new RegExp object per call. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a link may not contain
const LINK_SHAPE = /^https?:\/\/[^\\\u0000-\u001f\u007f]*$/i;

const DOT = 0x2e;
const HYPHEN = 0x2d;

/** `text` holds an IDNA `xn--` label (either case) starting at `at`. */
function isXnLabel(text: string, at: number): boolean {
  return (
    (text.charCodeAt(at) | 0x20) === 0x78 &&
    (text.charCodeAt(at + 1) | 0x20) === 0x6e &&
    text.charCodeAt(at + 2) === HYPHEN &&
    text.charCodeAt(at + 3) === HYPHEN
  );
}

/**
 * Whether a link safeLink() has let through so far (LINK_SHAPE) is one the URL parser would
 * find on one of `hosts` with no further look: its host read by hand, as the parser hands it
 * back (lowercased; nothing to map, decode or convert in such a host; and no listed host's last
 * label is a number, which IPv4 parsing would rewrite or refuse: test/meta/safe-link.test.ts
 * holds LINK_HOSTS to that). Where it says false, the parser decides.
 * That host is an authority of letters, digits, dots and hyphens ending at `/`, `?`, `#` or the
 * end (so no port and no credentials, which need `:` or `@` before those), in labels none empty
 * and none an `xn--` label. Read in one pass by index: the two regular expressions it replaces
 * (an exec for the authority, a test for its labels) and the lowercase copy were half of this
 * check's cost, and `new URL` was a fifth of deriving meta and its largest allocation (~460 B
 * per message).
 */
function plainHostMatches(text: string, hosts: readonly HostPattern[]): boolean {
  // LINK_SHAPE passed: "http://" or "https://" in either case, so the 5th unit is "s" or ":".
  const start = (text.charCodeAt(4) | 0x20) === 0x73 ? 8 : 7;
  let upper = false;
  let label = start;
  let end = start;
  for (; end < text.length; end++) {
    const c = text.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
    if (end === label && isXnLabel(text, end)) return false;
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === HYPHEN) continue;
    if (c >= 0x41 && c <= 0x5a) {
      upper = true;
      continue;
    }
    if (c !== DOT || end === label) return false;
    label = end + 1;
  }
  // An empty host, or an empty last label (a trailing dot).
  if (end === label) return false;
  const host = text.slice(start, end);
  return hostMatches(upper ? host.toLowerCase() : host, hosts);
}

function refuse(): undefined {
  linkStats.refused++;
  return undefined;
}
