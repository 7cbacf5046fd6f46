/**
 * fedora-messaging carries usernames and packages only as header keys
 * (`fedora_messaging_user_<name>: true`, `fedora_messaging_rpm_<name>: true`). When a message
 * has any, they are the publisher's own answer and beat what the rules derive from the body.
 */
import { isObj } from './fields.js';

export const USER_HEADER = 'fedora_messaging_user_';
export const RPM_HEADER = 'fedora_messaging_rpm_';

/** Names under `prefix` in the envelope's headers, or undefined when it names none. */
export function namesFromHeaders(headers: unknown, prefix: string): string[] | undefined {
  if (!isObj(headers)) return undefined;
  let names: string[] | undefined;
  for (const key in headers) {
    if (!key.startsWith(prefix) || headers[key] === false) continue;
    const name = key.slice(prefix.length);
    if (name !== '') (names ??= []).push(name);
  }
  return names;
}
