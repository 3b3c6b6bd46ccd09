import type { FakeList, FakeProject, FakeUser } from './fake-iterable.types';

/**
 * The list read endpoints (`getUsers`, `size`) as Iterable has them: a budget of N requests per project and per
 * endpoint in any 60 s span (429 with Retry-After past it), and reads that lag writes (a member changed
 * lately still shows as it was). See docs/iterable-api.md §8.
 */
export const LIST_READ_WINDOW_MS = 60_000;

/** Accepted list reads per project and endpoint, over a sliding minute. */
export class ListReadBudget {
  private readonly times = new Map<string, number[]>();

  /** 0 when the read may go ahead (it is counted), else how many seconds until one may (Retry-After). */
  take(projectId: number, route: string, perMinute: number, now = Date.now()): number {
    if (perMinute <= 0) return 0;
    const key = `${projectId}:${route}`;
    const recent = (this.times.get(key) ?? []).filter((t) => t > now - LIST_READ_WINDOW_MS);
    if (recent.length >= perMinute) {
      this.times.set(key, recent);
      return Math.max(1, Math.ceil(((recent[0] as number) + LIST_READ_WINDOW_MS - now) / 1000));
    }
    recent.push(now);
    this.times.set(key, recent);
    return 0;
  }

  clear(): void {
    this.times.clear();
  }
}

/**
 * Adds or removes a member. With a visibility delay, the change is remembered: reads show the member as it was
 * before the first change of a burst until `delayMs` after its last change.
 */
export function changeMembership(list: FakeList, uid: number, present: boolean, delayMs: number, now = Date.now()): boolean {
  const was = list.members.has(uid);
  if (was === present) return false;
  if (delayMs > 0) {
    const recent = (list.recent ??= new Map());
    const entry = recent.get(uid);
    if (entry && entry.atMs > now - delayMs) entry.atMs = now;
    else recent.set(uid, { before: was, atMs: now });
  }
  if (present) list.members.add(uid);
  else list.members.delete(uid);
  return true;
}

/** The uids a read sees now: members, except those added lately, plus those removed lately. */
export function* visibleMembers(list: FakeList, delayMs: number, now = Date.now()): Generator<number> {
  const recent = list.recent;
  if (delayMs <= 0 || !recent || recent.size === 0) {
    yield* list.members;
    return;
  }
  for (const uid of list.members) {
    const entry = recent.get(uid);
    if (!entry || entry.atMs <= now - delayMs || entry.before) yield uid;
  }
  for (const [uid, entry] of recent) {
    if (entry.atMs <= now - delayMs) recent.delete(uid);
    else if (entry.before && !list.members.has(uid)) yield uid;
  }
}

/** What getUsers names a user by: the userId in userId-based projects and (with preferUserId) hybrid ones, else the email. */
export function readIdentifier(project: FakeProject, user: FakeUser, preferUserId: boolean): string | undefined {
  return project.type === 'userId' || (preferUserId && project.type === 'hybrid') ? (user.userId ?? user.email) : (user.email ?? user.userId);
}

/** getUsers' body in pieces of about `chunkChars` characters, one identifier per line, built as it is sent. */
export function* identifierChunks(project: FakeProject, list: FakeList, preferUserId: boolean, delayMs: number, chunkChars = 64 * 1024): Generator<string> {
  let chunk = '';
  for (const uid of visibleMembers(list, delayMs)) {
    const user = project.users.get(uid);
    const identifier = user === undefined ? undefined : readIdentifier(project, user, preferUserId);
    if (identifier === undefined) continue;
    chunk += `${identifier}\n`;
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/** How many members a read sees now (`size`). */
export function visibleCount(list: FakeList, delayMs: number): number {
  let n = 0;
  for (const _uid of visibleMembers(list, delayMs)) n++;
  return n;
}

/**
 * A streamed answer cut as a faulty proxy cuts it, ending cleanly all the same: after `truncateAtChars`
 * characters (the tail dropped, maybe mid-line), and/or without its final newline.
 */
export function* cutChunks(chunks: Iterable<string>, cut: { truncateAtChars?: number; dropFinalNewline?: boolean }): Generator<string> {
  let left = cut.truncateAtChars ?? Number.POSITIVE_INFINITY;
  let held = '';
  for (const chunk of chunks) {
    if (left <= 0) return;
    const piece = chunk.length > left ? chunk.slice(0, left) : chunk;
    left -= piece.length;
    if (held !== '') yield held;
    held = piece;
  }
  if (cut.dropFinalNewline && held.endsWith('\n')) held = held.slice(0, -1);
  if (held !== '') yield held;
}
