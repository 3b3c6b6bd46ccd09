/** No message we accept nests deeper than 10 levels; 32 leaves room and stops pathological bodies early. */
export const MAX_JSON_DEPTH = 32;

/** Keys that mean something to JavaScript objects: refused anywhere in a body, so they never reach a transform. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonShapeIssue {
  path: string;
  message: string;
}

/** An object or array still to look into, with how it was reached (its path is spelled only for a problem). */
interface Pending {
  value: object;
  depth: number;
  parent: Pending | undefined;
  key: string | number;
}

/**
 * Checks a parsed JSON body before any validation or transformation sees it: nesting no deeper than
 * `maxDepth`, and no prototype key at any level. Iterative (an explicit stack), so a body nested
 * thousands of levels deep costs a loop, not the call stack; only objects and arrays are stacked, and a
 * path is spelled only for the problem it reports. Returns the first problem, or undefined.
 */
export function checkJsonShape(body: unknown, maxDepth = MAX_JSON_DEPTH): JsonShapeIssue | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const stack: Pending[] = [{ value: body, depth: 0, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const pending = stack.pop() as Pending;
    const { value, depth } = pending;
    if (depth >= maxDepth) {
      const at = pathOf(pending) || '(body)';
      return { path: at, message: `request body nests deeper than ${maxDepth} levels (the limit) at ${at}` };
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        const item: unknown = value[i];
        if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: depth + 1, parent: pending, key: i });
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        const at = spell(pathOf(pending), key);
        return { path: at, message: `${at} is not allowed: "${key}" is never a field of a message` };
      }
      const item: unknown = (value as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: depth + 1, parent: pending, key });
    }
  }
  return undefined;
}

/** `user_profiles[0].audiences`: the path of a pending value, from the root. */
function pathOf(pending: Pending): string {
  return pending.parent === undefined ? '' : spell(pathOf(pending.parent), pending.key);
}

function spell(parentPath: string, key: string | number): string {
  return typeof key === 'number' ? `${parentPath}[${key}]` : parentPath ? `${parentPath}.${key}` : key;
}
