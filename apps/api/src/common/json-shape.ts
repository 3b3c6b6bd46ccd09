import type { NextFunction, Request, Response } from 'express';

/** No message we accept nests deeper than 10 levels; 32 leaves room and stops pathological bodies early. */
export const MAX_JSON_DEPTH = 32;

/** Keys that mean something to JavaScript objects: refused anywhere in a body, so they never reach a transform. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonShapeIssue {
  path: string;
  message: string;
}

/**
 * Checks a parsed JSON body before any validation or transformation sees it: nesting no deeper than
 * `maxDepth`, and no prototype key at any level. Iterative (an explicit stack), so a body nested
 * thousands of levels deep costs a loop, not the call stack. Returns the first problem, or undefined.
 */
export function checkJsonShape(body: unknown, maxDepth = MAX_JSON_DEPTH): JsonShapeIssue | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= maxDepth) {
      return { path: path || '(body)', message: `request body nests deeper than ${maxDepth} levels (the limit) at ${path || '(body)'}` };
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) return { path: at, message: `${at} is not allowed: "${key}" is never a field of a message` };
      stack.push({ value: (value as Record<string, unknown>)[key], path: at, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Express middleware after the JSON parser: a body of the wrong shape is answered 400 and goes no further. */
export function rejectHostileJson(req: Request, res: Response, next: NextFunction): void {
  const issue = checkJsonShape(req.body);
  if (issue === undefined) {
    next();
    return;
  }
  res.status(400).json({ statusCode: 400, error: 'Bad Request', message: issue.message, details: { code: 'INVALID_MESSAGE', fields: [issue] } });
}
