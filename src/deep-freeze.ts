/**
 * Freezes a value and everything reachable through its own enumerable properties, walking
 * with a stack rather than recursion (a message body may nest as deep as --max-message-depth
 * allows). An object already frozen is taken as frozen all the way down and not walked again,
 * so a subtree shared by two messages is walked once.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const stack: object[] = [value];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (Array.isArray(next)) {
      for (const v of next) if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) stack.push(v);
    } else {
      for (const k in next) {
        if (!Object.hasOwn(next, k)) continue;
        const v = (next as Record<string, unknown>)[k];
        if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) stack.push(v);
      }
    }
    // After reading: a getter that caches on first read (a lazily decoded body) has then done so.
    Object.freeze(next);
  }
  return value;
}
