/**
 * Turning the identifiers publishers use into Fedora account names and package names.
 * No directory lookups happen here (functions stay pure), so only forms that carry
 * the account name themselves are understood.
 */

const FEDORA_EMAIL = /^([A-Za-z0-9][A-Za-z0-9._-]*)@fedoraproject\.org$/i;
const FEDORA_OPENID = /^(?:https?:\/\/)?([A-Za-z0-9][A-Za-z0-9._-]*)\.id\.fedoraproject\.org\/?$/i;
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Longest "Name <address>" read for an account name. */
const MAX_EMAIL = 512;

/** "user@fedoraproject.org" → "user"; any other address has no known account. */
export function fasFromEmail(email: string | undefined): string | undefined {
  // No address is this long (RFC 5321: 254), and the pattern below backtracks quadratically in
  // the length of a string of many '<'.
  if (email === undefined || email.length > MAX_EMAIL) return undefined;
  const m = FEDORA_EMAIL.exec(email.trim().replace(/^.*<([^>]+)>.*$/, '$1'));
  return m?.[1];
}

/** "http://user.id.fedoraproject.org/" → "user". */
export function fasFromOpenid(openid: string | undefined): string | undefined {
  if (openid === undefined) return undefined;
  return FEDORA_OPENID.exec(openid.trim())?.[1];
}

/**
 * A free-form "who" field (anitya agents, nagios ack authors) can be an account name,
 * a Fedora OpenID URL or an e-mail address; foreign addresses map to nobody.
 */
export function fasFromIdentity(who: string | undefined): string | undefined {
  if (who === undefined) return undefined;
  const openid = fasFromOpenid(who);
  if (openid !== undefined) return openid;
  if (who.includes('@')) return fasFromEmail(who);
  return ACCOUNT.test(who) ? who : undefined;
}

/** Explicit "@name" mentions in free text (bodhi comments use "/cc @user"). */
export function mentions(text: string | undefined): string[] {
  if (text === undefined) return [];
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[^\w@.])@([A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9])/g)) {
    if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/**
 * Package name of an N-V-R ("foo-bar-1.2-3.fc30" → "foo-bar"). A string without a
 * version-release tail is already a name (bodhi test data uses bare "foo").
 */
export function nvrName(nvr: string | undefined): string | undefined {
  if (nvr === undefined) return undefined;
  const s = nvr.trim();
  if (s === '') return undefined;
  const parts = s.split('-');
  if (parts.length < 3) return s;
  return parts.slice(0, -2).join('-');
}

/** Bodhi titles and masher lists join several N-V-Rs with spaces or commas. */
export function nvrNames(list: string | undefined): string[] {
  if (list === undefined) return [];
  const out: string[] = [];
  for (const nvr of list.split(/[\s,]+/)) {
    const name = nvrName(nvr);
    if (name !== undefined) out.push(name);
  }
  return out;
}
