import type { CreateProjectInput, FakeConfig, FakeProject, FaultConfig, SeedUserInput } from './fake-iterable.types';
import type { FakeIterableState } from './fake-iterable.state';
import { FakeInputError } from './fake-iterable.state';
import type { FakeResponse } from './iterable-api.controller';
import { trimTrailingSlashes } from './iterable-api.controller';
import { validateFaultConfig } from './faults.util';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const stringArray = (value: unknown, name: string): string[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new FakeInputError(`${name} must be an array of strings`);
  return value;
};

export const describeProject = (state: FakeIterableState, project: FakeProject) => ({
  projectId: project.projectId,
  apiKey: project.apiKey,
  type: project.type,
  dataCenter: project.dataCenter,
  lists: state.listsOf(project).map((list) => ({ id: list.id, name: list.name })),
  users: project.users.size,
});

/** The `/_fake/...` control API: no Api-Key, JSON in and out. */
export class ControlApiController {
  constructor(private readonly state: FakeIterableState) {}

  handle(method: string, path: string, query: URLSearchParams, body: unknown): FakeResponse {
    try {
      return this.route(method.toUpperCase(), trimTrailingSlashes(path), query, body);
    } catch (error) {
      if (error instanceof FakeInputError) return { status: 400, body: { error: error.message } };
      throw error;
    }
  }

  private route(method: string, path: string, query: URLSearchParams, body: unknown): FakeResponse {
    const state = this.state;
    const ok = (payload: unknown, status = 200): FakeResponse => ({ status, body: payload });
    const members = /^\/_fake\/lists\/(\d+)\/members$/.exec(path);
    const edit = /^\/_fake\/lists\/(\d+)\/operator-edit$/.exec(path);
    switch (`${method} ${members ? '/_fake/lists/:id/members' : edit ? '/_fake/lists/:id/operator-edit' : path}`) {
      case 'POST /_fake/reset':
        state.reset();
        return ok({ reset: true });
      case 'GET /_fake/projects':
        return ok({ projects: [...state.projects.values()].map((project) => describeProject(state, project)) });
      case 'POST /_fake/projects': {
        if (!isObject(body)) throw new FakeInputError('body must be a JSON object');
        const project = state.createProject(body as unknown as CreateProjectInput);
        return ok(describeProject(state, project), 201);
      }
      case 'POST /_fake/lists': {
        if (!isObject(body)) throw new FakeInputError('body must be a JSON object');
        const project = state.projectFor(String(body.apiKey));
        const list = state.createList(project, body.name, body.description, body.id === undefined ? undefined : Number(body.id));
        return ok({ id: list.id, name: list.name, projectId: list.projectId }, 201);
      }
      case 'GET /_fake/lists/:id/members': {
        const listId = Number((members as RegExpExecArray)[1]);
        const found = state.members(listId);
        return found ? ok({ listId, members: found }) : { status: 404, body: { error: `no list ${listId}` } };
      }
      case 'POST /_fake/lists/:id/operator-edit': {
        if (!isObject(body)) throw new FakeInputError('body must be {add?: [{email?, userId?}], remove?: [{email?, userId?}]}');
        const who = (value: unknown, name: string) => {
          if (value === undefined) return [];
          if (!Array.isArray(value) || !value.every((w) => isObject(w) && ['email', 'userId'].every((k) => w[k] === undefined || typeof w[k] === 'string'))) {
            throw new FakeInputError(`${name} must be an array of {email?, userId?}`);
          }
          return value as { email?: string; userId?: string }[];
        };
        return ok(state.operatorEdit(Number((edit as RegExpExecArray)[1]), { add: who(body.add, 'add'), remove: who(body.remove, 'remove') }));
      }
      case 'POST /_fake/users': {
        if (!isObject(body) || !Array.isArray(body.users)) throw new FakeInputError('body must be {apiKey, users: [...]}');
        const project = state.projectFor(String(body.apiKey));
        const users = state.seedUsers(project, body.users as SeedUserInput[]);
        return ok({ created: users.length }, 201);
      }
      case 'POST /_fake/forgotten': {
        if (!isObject(body)) throw new FakeInputError('body must be a JSON object');
        const project = state.projectFor(String(body.apiKey));
        const removed = state.forget(project, stringArray(body.emails, 'emails'), stringArray(body.userIds, 'userIds'));
        return ok({ removedUsers: removed });
      }
      case 'GET /_fake/requests': {
        const wantedPath = query.get('path');
        const wantedMethod = query.get('method')?.toUpperCase();
        const requests = state.requests.filter(
          (r) => (wantedPath === null || r.apiPath === wantedPath) && (wantedMethod === undefined || r.method === wantedMethod),
        );
        return ok({ requests });
      }
      case 'DELETE /_fake/requests':
        state.requests.length = 0;
        return ok({ cleared: true });
      case 'GET /_fake/faults':
        return ok(state.faults);
      case 'PUT /_fake/faults': {
        const problems = validateFaultConfig(body);
        if (problems.length > 0) return { status: 400, body: { error: problems.join('; ') } };
        state.setFaults(body as FaultConfig);
        return ok(state.faults);
      }
      case 'DELETE /_fake/faults':
        state.setFaults({});
        return ok(state.faults);
      case 'GET /_fake/config':
        return ok(state.config);
      case 'PUT /_fake/config': {
        if (!isObject(body)) throw new FakeInputError('body must be a JSON object');
        return ok(state.setConfig(body as Partial<FakeConfig>));
      }
      case 'GET /_fake/stats':
        return ok({ keys: Object.fromEntries(state.stats) });
      case 'DELETE /_fake/stats':
        state.resetStats();
        return ok({ keys: Object.fromEntries(state.stats) });
      default:
        return { status: 404, body: { error: `no control route ${method} ${path}` } };
    }
  }
}
