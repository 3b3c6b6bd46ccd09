import type { CreateProjectInput } from './fake-iterable.types';
import type { FakeIterableOptions } from './fake-iterable.server';

export const DEFAULT_FAKE_ITERABLE_PORT = 4010;

/**
 * Options of the runnable fake from its environment:
 * FAKE_ITERABLE_PORT (default 4010, 0 = a free port), FAKE_ITERABLE_HOST (default 127.0.0.1),
 * FAKE_ITERABLE_PROJECTS (a JSON array of projects to create at start, as `POST /_fake/projects` takes them).
 */
export function optionsFromEnv(env: Record<string, string | undefined>): FakeIterableOptions {
  const rawPort = env.FAKE_ITERABLE_PORT?.trim();
  const port = rawPort === undefined || rawPort === '' ? DEFAULT_FAKE_ITERABLE_PORT : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`FAKE_ITERABLE_PORT must be a port number (0-65535), not "${rawPort}"`);
  const host = env.FAKE_ITERABLE_HOST?.trim() || '127.0.0.1';
  let projects: CreateProjectInput[] = [];
  if (env.FAKE_ITERABLE_PROJECTS?.trim()) {
    const parsed: unknown = JSON.parse(env.FAKE_ITERABLE_PROJECTS);
    if (!Array.isArray(parsed)) throw new Error('FAKE_ITERABLE_PROJECTS must be a JSON array of projects');
    projects = parsed as CreateProjectInput[];
  }
  return { port, host, projects };
}
