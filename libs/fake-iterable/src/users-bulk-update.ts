import type { FakeProject } from './fake-iterable.types';
import type { BulkSubscriber, FakeIterableState } from './fake-iterable.state';
import { apiResponse, bulkUpdateBody } from './responses.util';

/** Iterable's ceiling of users per `users/bulkUpdate` body (it refuses larger ones). */
export const MAX_BULK_UPDATE_USERS = 1000;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `POST /api/users/bulkUpdate`: `{users: [{email?, userId?, dataFields?, preferUserId?}]}`, answered like a list call. */
export function bulkUpdateUsers(state: FakeIterableState, project: FakeProject, body: unknown): { status: number; body: unknown } {
  const bad = (msg: string) => ({ status: 400, body: apiResponse(`Invalid params: ${msg}`, 'BadParams', {}) });
  if (!isObject(body)) return bad('error.expected.jsobject');
  const { users } = body;
  if (users === undefined || users === null) return bad('users: error.path.missing');
  if (!Array.isArray(users)) return bad('users: error.expected.jsarray');
  if (users.length > MAX_BULK_UPDATE_USERS) return bad(`users: at most ${MAX_BULK_UPDATE_USERS}`);
  const cleaned: BulkSubscriber[] = [];
  for (const [index, user] of users.entries()) {
    if (!isObject(user)) return bad(`users(${index}): error.expected.jsobject`);
    for (const field of ['email', 'userId'] as const) {
      if (user[field] !== undefined && user[field] !== null && typeof user[field] !== 'string') return bad(`users(${index}).${field}: error.expected.jsstring`);
    }
    if (user.dataFields !== undefined && !isObject(user.dataFields)) return bad(`users(${index}).dataFields: error.expected.jsobject`);
    cleaned.push({
      ...(typeof user.email === 'string' ? { email: user.email } : {}),
      ...(typeof user.userId === 'string' ? { userId: user.userId } : {}),
      ...(user.dataFields === undefined ? {} : { dataFields: user.dataFields }),
      ...(user.preferUserId === true ? { preferUserId: true } : {}),
    });
  }
  return { status: 200, body: bulkUpdateBody(state.bulkUpdateUsers(project, cleaned), state.config.omitEmptyArrays) };
}
