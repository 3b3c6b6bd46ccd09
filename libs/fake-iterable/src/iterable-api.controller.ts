import type { FakeDataCenter, FakeProject } from './fake-iterable.types';
import type { BulkSubscriber, FakeIterableState } from './fake-iterable.state';
import { FakeInputError } from './fake-iterable.state';
import { identifierChunks, visibleCount } from './list-reads';
import { apiResponse, bulkUpdateBody } from './responses.util';
import { bulkUpdateUsers } from './users-bulk-update';

export const API_ROUTES = ['getLists', 'createList', 'deleteList', 'getUsers', 'listSize', 'subscribe', 'unsubscribe', 'forget', 'bulkUpdate'] as const;
export type ApiRoute = (typeof API_ROUTES)[number];

export interface FakeResponse {
  status: number;
  /** JSON-serialized unless `contentType` says otherwise (then sent as the string it is). */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** A body sent as it is built, piece by piece (no Content-Length): `body` is then only what the request log shows. */
  chunks?: Iterable<string>;
}

/** Splits the DC prefix off: `/eu/api/...` is the EU data center, `/api/...` the US one. */
export function splitDataCenter(path: string): { dataCenter: FakeDataCenter; apiPath: string } {
  return path === '/eu' || path.startsWith('/eu/') ? { dataCenter: 'EU', apiPath: path.slice(3) || '/' } : { dataCenter: 'US', apiPath: path };
}

/** `path` without its trailing slashes (a loop: a `/\/+$/` pattern is quadratic on a run of slashes). */
export function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

/** The route an API request names, or undefined (answered with the HTML "Action not found" page). */
export function matchApiRoute(method: string, apiPath: string): { route: ApiRoute; listId?: number } | undefined {
  const path = apiPath.length > 1 ? trimTrailingSlashes(apiPath) : apiPath;
  const m = method.toUpperCase();
  if (path === '/api/lists') return m === 'GET' ? { route: 'getLists' } : m === 'POST' ? { route: 'createList' } : undefined;
  if (path === '/api/lists/subscribe' && m === 'POST') return { route: 'subscribe' };
  if (path === '/api/lists/unsubscribe' && m === 'POST') return { route: 'unsubscribe' };
  if (path === '/api/lists/getUsers' && m === 'GET') return { route: 'getUsers' };
  if (path === '/api/users/forget' && m === 'POST') return { route: 'forget' };
  if (path === '/api/users/bulkUpdate' && m === 'POST') return { route: 'bulkUpdate' };
  const size = /^\/api\/lists\/(\d+)\/size$/.exec(path);
  if (size && m === 'GET') return { route: 'listSize', listId: Number(size[1]) };
  const del = /^\/api\/lists\/(\d+)$/.exec(path);
  if (del && m === 'DELETE') return { route: 'deleteList', listId: Number(del[1]) };
  return undefined;
}

const badParams = (msg: string, params: Record<string, unknown> = {}): FakeResponse => ({
  status: 400,
  body: apiResponse(`Invalid params: ${msg}`, 'BadParams', params),
});

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class IterableApiController {
  constructor(private readonly state: FakeIterableState) {}

  handle(route: { route: ApiRoute; listId?: number }, project: FakeProject, query: URLSearchParams, body: unknown): FakeResponse {
    switch (route.route) {
      case 'getLists':
        return {
          status: 200,
          body: {
            lists: this.state.listsOf(project).map((list) => ({
              id: list.id,
              name: list.name,
              ...(list.description === undefined ? {} : { description: list.description }),
              listType: list.listType,
              createdAt: list.createdAt,
            })),
          },
        };
      case 'createList':
        return this.createList(project, body);
      case 'deleteList':
        return this.state.deleteList(project, route.listId as number)
          ? { status: 200, body: apiResponse(`Deleted list ${route.listId}`, 'Success', null) }
          : this.invalidListId(project, route.listId as number);
      case 'getUsers':
        return this.getUsers(project, query);
      case 'listSize': {
        const list = this.state.findList(project, route.listId as number);
        return list
          ? { status: 200, body: String(visibleCount(list, this.state.config.membershipVisibilityDelayMs)), contentType: 'text/plain; charset=utf-8' }
          : this.invalidListId(project, route.listId as number);
      }
      case 'subscribe':
      case 'unsubscribe':
        return this.bulk(route.route, project, body);
      case 'forget':
        return this.forget(project, body);
      case 'bulkUpdate':
        return bulkUpdateUsers(this.state, project, body);
    }
  }

  /** GDPR forget: `{email}` or `{userId}`; the user is deleted and refused from now on (also when unknown). */
  private forget(project: FakeProject, body: unknown): FakeResponse {
    if (!isObject(body)) return badParams('error.expected.jsobject');
    const email = typeof body.email === 'string' && body.email.trim() !== '' ? body.email : undefined;
    const userId = typeof body.userId === 'string' && body.userId.trim() !== '' ? body.userId : undefined;
    if (email === undefined && userId === undefined) return badParams('email or userId: error.path.missing');
    this.state.forget(project, email === undefined ? [] : [email], userId === undefined ? [] : [userId]);
    return { status: 200, body: apiResponse('User forgotten', 'Success', null) };
  }

  invalidListId(project: FakeProject, listId: unknown): FakeResponse {
    return {
      status: this.state.config.invalidListIdStatus,
      body: apiResponse(`error.lists.invalidListId(${String(listId)})`, this.state.config.invalidListIdCode, {
        projectId: project.projectId,
        listId,
      }),
    };
  }

  private createList(project: FakeProject, body: unknown): FakeResponse {
    if (!isObject(body) || typeof body.name !== 'string' || body.name.trim() === '') return badParams('name: error.path.missing');
    if (body.description !== undefined && typeof body.description !== 'string') return badParams('description: error.expected.jsstring');
    try {
      return { status: 200, body: { listId: this.state.createList(project, body.name, body.description).id } };
    } catch (error) {
      if (error instanceof FakeInputError) return badParams(error.message);
      throw error;
    }
  }

  private getUsers(project: FakeProject, query: URLSearchParams): FakeResponse {
    const raw = query.get('listId');
    if (raw === null || !/^\d+$/.test(raw)) return badParams('listId: error.path.missing');
    const list = this.state.findList(project, Number(raw));
    if (!list) return this.invalidListId(project, Number(raw));
    return {
      status: 200,
      body: `[getUsers of list ${list.id}, streamed]`,
      chunks: identifierChunks(project, list, query.get('preferUserId') === 'true', this.state.config.membershipVisibilityDelayMs),
      contentType: 'text/plain; charset=utf-8',
    };
  }

  private bulk(action: 'subscribe' | 'unsubscribe', project: FakeProject, body: unknown): FakeResponse {
    if (!isObject(body)) return badParams('error.expected.jsobject');
    const { listId, subscribers } = body;
    if (listId === undefined || listId === null) return badParams('listId: error.path.missing');
    if (!Number.isInteger(listId)) return badParams('listId: error.expected.jsnumber');
    if (subscribers === undefined || subscribers === null) return badParams('subscribers: error.path.missing');
    if (!Array.isArray(subscribers)) return badParams('subscribers: error.expected.jsarray');
    for (const [index, subscriber] of subscribers.entries()) {
      if (!isObject(subscriber)) return badParams(`subscribers(${index}): error.expected.jsobject`);
      for (const field of ['email', 'userId'] as const) {
        if (subscriber[field] !== undefined && subscriber[field] !== null && typeof subscriber[field] !== 'string') {
          return badParams(`subscribers(${index}).${field}: error.expected.jsstring`);
        }
      }
    }
    if (body.updateExistingUsersOnly !== undefined && typeof body.updateExistingUsersOnly !== 'boolean') {
      return badParams('updateExistingUsersOnly: error.expected.jsboolean');
    }
    const list = this.state.findList(project, listId as number, true);
    if (!list) return this.invalidListId(project, listId);
    const cleaned: BulkSubscriber[] = (subscribers as Record<string, unknown>[]).map((s) => ({
      ...(typeof s.email === 'string' ? { email: s.email } : {}),
      ...(typeof s.userId === 'string' ? { userId: s.userId } : {}),
      ...(action === 'subscribe' && s.dataFields !== undefined ? { dataFields: s.dataFields } : {}),
      ...(action === 'subscribe' && s.preferUserId === true ? { preferUserId: true } : {}),
      ...(action === 'subscribe' && s.mergeNestedObjects === true ? { mergeNestedObjects: true } : {}),
    }));
    const result =
      action === 'subscribe'
        ? this.state.subscribe(project, list, cleaned, body.updateExistingUsersOnly === true)
        : this.state.unsubscribe(project, list, cleaned);
    return { status: 200, body: bulkUpdateBody(result, this.state.config.omitEmptyArrays) };
  }
}
