import { randomBytes } from 'node:crypto';

import type {
  CreateProjectInput,
  FailedUpdateCategory,
  FakeConfig,
  FakeDataCenter,
  FakeList,
  FakeProject,
  FakeUser,
  FaultConfig,
  KeyStats,
  LoggedRequest,
  ProjectType,
  SeedUserInput,
} from './fake-iterable.types';
import { DEFAULT_CONFIG, FAKE_DATA_CENTERS } from './fake-iterable.types';
import { normalizeFaultConfig, seededRandom } from './faults.util';
import { isValidEmail, isValidUserId, normalizeEmail } from './identifiers.util';
import { changeMembership, ListReadBudget, readIdentifier, visibleMembers } from './list-reads';
import type { BulkUpdateResult } from './responses.util';
import { emptyFailedUpdates } from './responses.util';

/** A control-API input the fake refuses (answered 400). */
export class FakeInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FakeInputError';
  }
}

export function parseProjectType(value: unknown): ProjectType | undefined {
  if (typeof value !== 'string') return undefined;
  switch (value.toLowerCase()) {
    case 'email':
    case 'email-based':
      return 'email';
    case 'userid':
    case 'userid-based':
      return 'userId';
    case 'hybrid':
      return 'hybrid';
    default:
      return undefined;
  }
}

export interface BulkSubscriber {
  email?: string;
  userId?: string;
  dataFields?: unknown;
  preferUserId?: boolean;
  mergeNestedObjects?: boolean;
}

type Outcome = { ok: true; createdFields?: string[] } | { ok: false; category: FailedUpdateCategory; echo: string };

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const jsonType = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** Everything the fake knows, in memory. One instance per server. */
export class FakeIterableState {
  config: FakeConfig = { ...DEFAULT_CONFIG };
  faults: FaultConfig = normalizeFaultConfig({});
  random: () => number = seededRandom(Math.floor(Math.random() * 2 ** 31));
  readonly projects = new Map<string, FakeProject>();
  readonly lists = new Map<number, FakeList>();
  readonly requests: LoggedRequest[] = [];
  readonly stats = new Map<string, KeyStats>();
  /** Accepted request times per API key, for the sliding-second rate limit. */
  readonly acceptedTimes = new Map<string, number[]>();
  /** Accepted getUsers and size requests per project, for their per-minute budget. */
  readonly listReads = new ListReadBudget();
  private nextProjectId = 1000;
  private nextListId = 10_000;
  private nextUid = 1;
  private nextRequestId = 1;

  reset(): void {
    this.config = { ...DEFAULT_CONFIG };
    this.setFaults({});
    this.projects.clear();
    this.lists.clear();
    this.requests.length = 0;
    this.stats.clear();
    this.acceptedTimes.clear();
    this.listReads.clear();
    this.nextProjectId = 1000;
    this.nextListId = 10_000;
    this.nextUid = 1;
    this.nextRequestId = 1;
  }

  // ---- configuration and faults ------------------------------------------------------------

  setConfig(patch: Partial<FakeConfig>): FakeConfig {
    const next = { ...this.config, ...patch };
    if (typeof next.omitEmptyArrays !== 'boolean') throw new FakeInputError('omitEmptyArrays must be a boolean');
    if (typeof next.invalidListIdCode !== 'string') throw new FakeInputError('invalidListIdCode must be a string');
    if (!Number.isInteger(next.invalidListIdStatus)) throw new FakeInputError('invalidListIdStatus must be an HTTP status');
    if (!(typeof next.newListInvalidForMs === 'number' && next.newListInvalidForMs >= 0)) {
      throw new FakeInputError('newListInvalidForMs must be a non-negative number');
    }
    if (!(Number.isInteger(next.maxLoggedRequests) && next.maxLoggedRequests > 0)) {
      throw new FakeInputError('maxLoggedRequests must be a positive integer');
    }
    if (!(Number.isInteger(next.listReadsPerMinute) && next.listReadsPerMinute >= 0))
      throw new FakeInputError('listReadsPerMinute must be a non-negative integer');
    if (!(typeof next.membershipVisibilityDelayMs === 'number' && next.membershipVisibilityDelayMs >= 0)) {
      throw new FakeInputError('membershipVisibilityDelayMs must be a non-negative number');
    }
    this.config = next;
    return this.config;
  }

  /** Replaces the fault configuration (validate it with `validateFaultConfig` first). */
  setFaults(faults: FaultConfig): void {
    this.faults = normalizeFaultConfig(faults);
    this.random = seededRandom(faults.seed ?? Math.floor(Math.random() * 2 ** 31));
    this.acceptedTimes.clear();
  }

  statsFor(apiKey: string): KeyStats {
    let stats = this.stats.get(apiKey);
    if (!stats) {
      stats = { requests: 0, inFlight: 0, maxInFlight: 0, rateLimited: 0 };
      this.stats.set(apiKey, stats);
    }
    return stats;
  }

  /** Zeroes the counters (in-flight requests stay counted). */
  resetStats(): void {
    for (const stats of this.stats.values()) {
      stats.requests = 0;
      stats.rateLimited = 0;
      stats.maxInFlight = stats.inFlight;
    }
  }

  logRequest(entry: Omit<LoggedRequest, 'id'>): LoggedRequest {
    const logged = { id: this.nextRequestId++, ...entry };
    this.requests.push(logged);
    const excess = this.requests.length - this.config.maxLoggedRequests;
    if (excess > 0) this.requests.splice(0, excess);
    return logged;
  }

  // ---- projects, lists, users ---------------------------------------------------------------

  createProject(input: CreateProjectInput): FakeProject {
    if (typeof input.apiKey !== 'string' || input.apiKey.length === 0) throw new FakeInputError('apiKey must be a non-empty string');
    if (this.projects.has(input.apiKey)) throw new FakeInputError('a project with this apiKey exists already');
    const type = parseProjectType(input.type);
    if (!type) throw new FakeInputError('type must be one of email, userId, hybrid');
    const dataCenter = (input.dataCenter ?? 'US').toUpperCase() as FakeDataCenter;
    if (!FAKE_DATA_CENTERS.includes(dataCenter)) throw new FakeInputError('dataCenter must be US or EU');
    if (type === 'email' && dataCenter === 'EU') {
      throw new FakeInputError('email-based projects exist only in the US data center');
    }
    if (input.projectId !== undefined && !Number.isInteger(input.projectId)) throw new FakeInputError('projectId must be an integer');
    const project: FakeProject = {
      projectId: input.projectId ?? this.nextProjectId++,
      apiKey: input.apiKey,
      type,
      dataCenter,
      users: new Map(),
      emailIndex: new Map(),
      userIdIndex: new Map(),
      forgottenEmails: new Set(),
      forgottenUserIds: new Set(),
      fieldTypes: new Map(),
    };
    this.projects.set(project.apiKey, project);
    for (const list of input.lists ?? []) this.createList(project, list.name, list.description, list.id);
    return project;
  }

  projectFor(apiKey: string): FakeProject {
    const project = this.projects.get(apiKey);
    if (!project) throw new FakeInputError('no project has this apiKey');
    return project;
  }

  createList(project: FakeProject, name: unknown, description?: unknown, id?: number): FakeList {
    if (typeof name !== 'string' || name.trim().length === 0) throw new FakeInputError('name must be a non-empty string');
    if (description !== undefined && typeof description !== 'string') throw new FakeInputError('description must be a string');
    if (id !== undefined && (!Number.isInteger(id) || this.lists.has(id))) throw new FakeInputError('id must be an unused integer');
    const list: FakeList = {
      id: id ?? this.nextListId++,
      projectId: project.projectId,
      name,
      ...(description === undefined ? {} : { description }),
      listType: 'Standard',
      createdAt: Date.now(),
      members: new Set(),
    };
    this.lists.set(list.id, list);
    return list;
  }

  listsOf(project: FakeProject): FakeList[] {
    return [...this.lists.values()].filter((list) => list.projectId === project.projectId);
  }

  /** The list when it exists in this project (and is not inside its "just created" window when `forWrites`). */
  findList(project: FakeProject, listId: number, forWrites = false): FakeList | undefined {
    const list = this.lists.get(listId);
    if (!list || list.projectId !== project.projectId) return undefined;
    if (forWrites && Date.now() - list.createdAt < this.config.newListInvalidForMs) return undefined;
    return list;
  }

  deleteList(project: FakeProject, listId: number): boolean {
    const list = this.findList(project, listId);
    if (!list) return false;
    this.lists.delete(listId);
    return true;
  }

  seedUsers(project: FakeProject, users: SeedUserInput[]): FakeUser[] {
    return users.map((input) => {
      const email = input.email === undefined ? undefined : normalizeEmail(input.email);
      if (email === undefined && input.userId === undefined) throw new FakeInputError('a user needs an email or a userId');
      if (email !== undefined && this.findByEmail(project, email)) throw new FakeInputError(`email ${email} exists already`);
      if (input.userId !== undefined && project.type !== 'email' && this.findByUserId(project, input.userId)) {
        throw new FakeInputError(`userId ${input.userId} exists already`);
      }
      const user = this.addUser(project, email, input.userId, input.dataFields ?? {});
      for (const listId of input.listIds ?? []) {
        const list = this.findList(project, listId);
        if (!list) throw new FakeInputError(`list ${listId} is not in this project`);
        changeMembership(list, user.uid, true, this.config.membershipVisibilityDelayMs);
      }
      return user;
    });
  }

  /** GDPR-forget: the users are deleted and their identifiers are refused from now on. */
  forget(project: FakeProject, emails: string[] = [], userIds: string[] = []): number {
    let removed = 0;
    for (const email of emails.map(normalizeEmail)) {
      project.forgottenEmails.add(email);
      const user = this.findByEmail(project, email);
      if (user) removed += this.removeUser(project, user);
    }
    for (const userId of userIds) {
      project.forgottenUserIds.add(userId);
      for (const user of [...project.users.values()].filter((u) => u.userId === userId)) removed += this.removeUser(project, user);
    }
    return removed;
  }

  members(listId: number): { email: string | null; userId: string | null }[] | undefined {
    const list = this.lists.get(listId);
    if (!list) return undefined;
    const project = [...this.projects.values()].find((p) => p.projectId === list.projectId);
    return [...list.members].map((uid) => {
      const user = project?.users.get(uid);
      return { email: user?.email ?? null, userId: user?.userId ?? null };
    });
  }

  /** `getUsers`: one identifier per member a read sees now (hybrid + preferUserId: the userId when there is one). */
  listUserIdentifiers(project: FakeProject, list: FakeList, preferUserId: boolean): string[] {
    return [...visibleMembers(list, this.config.membershipVisibilityDelayMs)].flatMap((uid) => {
      const user = project.users.get(uid);
      const identifier = user === undefined ? undefined : readIdentifier(project, user, preferUserId);
      return identifier === undefined ? [] : [identifier];
    });
  }

  /**
   * Someone edits a list behind our back (Iterable's UI, another tool): `add` puts users on it (created when
   * unknown, by email or userId), `remove` takes them off. Applied at once, like any membership change.
   */
  operatorEdit(
    listId: number,
    edits: { add?: { email?: string; userId?: string }[]; remove?: { email?: string; userId?: string }[] },
  ): { added: number; removed: number; created: number } {
    const list = this.lists.get(listId);
    if (!list) throw new FakeInputError(`no list ${listId}`);
    const project = [...this.projects.values()].find((p) => p.projectId === list.projectId) as FakeProject;
    const delay = this.config.membershipVisibilityDelayMs;
    const find = (who: { email?: string; userId?: string }): FakeUser | undefined =>
      (who.email === undefined ? undefined : this.findByEmail(project, who.email)) ??
      (who.userId === undefined ? undefined : this.findByUserId(project, who.userId));
    const counts = { added: 0, removed: 0, created: 0 };
    for (const who of edits.add ?? []) {
      if (who.email === undefined && who.userId === undefined) throw new FakeInputError('an added user needs an email or a userId');
      let user = find(who);
      if (!user) {
        user = this.addUser(project, who.email === undefined ? undefined : normalizeEmail(who.email), who.userId, {});
        counts.created++;
      }
      if (changeMembership(list, user.uid, true, delay)) counts.added++;
    }
    for (const who of edits.remove ?? []) {
      const user = find(who);
      if (user && changeMembership(list, user.uid, false, delay)) counts.removed++;
    }
    return counts;
  }

  // ---- lists/subscribe and lists/unsubscribe --------------------------------------------------

  subscribe(project: FakeProject, list: FakeList, subscribers: BulkSubscriber[], updateExistingUsersOnly: boolean): BulkUpdateResult {
    return this.bulk(subscribers, (subscriber) => this.subscribeOne(project, list, subscriber, updateExistingUsersOnly));
  }

  unsubscribe(project: FakeProject, list: FakeList, subscribers: BulkSubscriber[]): BulkUpdateResult {
    return this.bulk(subscribers, (subscriber) => this.unsubscribeOne(project, list, subscriber));
  }

  private bulk(subscribers: BulkSubscriber[], apply: (subscriber: BulkSubscriber) => Outcome): BulkUpdateResult {
    const result: BulkUpdateResult = {
      successCount: 0,
      failCount: 0,
      failedUpdates: emptyFailedUpdates(),
      createdFields: [],
      filteredOutFields: [],
    };
    for (const subscriber of subscribers) {
      const outcome = apply(subscriber);
      if (outcome.ok) {
        result.successCount++;
        for (const field of outcome.createdFields ?? []) if (!result.createdFields.includes(field)) result.createdFields.push(field);
      } else {
        result.failCount++;
        result.failedUpdates[outcome.category].push(outcome.echo);
      }
    }
    return result;
  }

  // ---- users/bulkUpdate --------------------------------------------------------------------------

  /**
   * `users/bulkUpdate`: per user, the identifiers are checked as for subscribe, an unknown user is created
   * (userId-only in an email-based project needs `preferUserId`), and the fields are merged, each keeping the
   * type it first had in the project: a user whose fields do not fit is refused whole (`invalidData*`).
   */
  bulkUpdateUsers(project: FakeProject, users: BulkSubscriber[]): BulkUpdateResult {
    return this.bulk(users, (subscriber) => this.updateOne(project, subscriber));
  }

  /** A user's fields as the fake holds them (undefined: no such user), for tests. */
  userFields(project: FakeProject, who: { email?: string; userId?: string }): Record<string, unknown> | undefined {
    const user = who.email !== undefined ? this.findByEmail(project, who.email) : who.userId !== undefined ? this.findByUserId(project, who.userId) : undefined;
    return user ? { ...user.dataFields } : undefined;
  }

  private updateOne(project: FakeProject, subscriber: BulkSubscriber): Outcome {
    const { email, userId } = subscriber;
    const failed = this.precheck(project, email, userId);
    if (failed) return failed;
    const resolved = this.resolve(project, email, userId);
    if (resolved.conflict) return resolved.conflict;
    if (subscriber.dataFields !== undefined && !this.dataFieldsFit(project, subscriber.dataFields)) {
      return email !== undefined
        ? { ok: false, category: 'invalidDataEmails', echo: normalizeEmail(email) }
        : { ok: false, category: 'invalidDataUserIds', echo: userId as string };
    }
    let user = resolved.user;
    if (!user) {
      if (project.type === 'email' && email === undefined && !subscriber.preferUserId)
        return { ok: false, category: 'notFoundUserIds', echo: userId as string };
      const placeholder = project.type === 'email' && email === undefined ? `${randomBytes(8).toString('hex')}@placeholder.email` : undefined;
      user = this.addUser(project, email === undefined ? placeholder : normalizeEmail(email), userId, {});
    }
    const createdFields =
      subscriber.dataFields === undefined ? [] : this.mergeDataFields(project, user, subscriber.dataFields as Record<string, unknown>, false);
    return { ok: true, createdFields };
  }

  /** Identifier checks shared by subscribe and unsubscribe: format, presence, GDPR-forgotten. */
  private precheck(project: FakeProject, email: string | undefined, userId: string | undefined): Outcome | undefined {
    if (email !== undefined && !isValidEmail(email)) return { ok: false, category: 'invalidEmails', echo: normalizeEmail(email) };
    if (userId !== undefined && !isValidUserId(userId)) return { ok: false, category: 'invalidUserIds', echo: userId };
    if (project.type === 'userId' && userId === undefined) return { ok: false, category: 'invalidUserIds', echo: '' };
    if (email === undefined && userId === undefined) return { ok: false, category: 'invalidEmails', echo: '' };
    if (email !== undefined && project.forgottenEmails.has(normalizeEmail(email))) {
      return { ok: false, category: 'forgottenEmails', echo: normalizeEmail(email) };
    }
    if (userId !== undefined && project.forgottenUserIds.has(userId)) return { ok: false, category: 'forgottenUserIds', echo: userId };
    return undefined;
  }

  /** Finds the user a subscriber names, following the project type's identity rules. */
  private resolve(project: FakeProject, email: string | undefined, userId: string | undefined): { user?: FakeUser; conflict?: Outcome } {
    switch (project.type) {
      case 'email':
        return { user: email !== undefined ? this.findByEmail(project, email) : this.findByUserId(project, userId as string) };
      case 'userId':
        return { user: this.findByUserId(project, userId as string) };
      case 'hybrid': {
        const byEmail = email === undefined ? undefined : this.findByEmail(project, email);
        const byUserId = userId === undefined ? undefined : this.findByUserId(project, userId);
        const conflict = (): { conflict: Outcome } => ({
          conflict:
            email !== undefined
              ? { ok: false, category: 'conflictEmails', echo: normalizeEmail(email) }
              : { ok: false, category: 'conflictUserIds', echo: userId as string },
        });
        if (byEmail && byUserId && byEmail !== byUserId) return conflict();
        const user = byEmail ?? byUserId;
        if (user && email !== undefined && user.email !== undefined && user.email !== normalizeEmail(email)) return conflict();
        if (user && userId !== undefined && user.userId !== undefined && user.userId !== userId) return conflict();
        return { user };
      }
    }
  }

  private subscribeOne(project: FakeProject, list: FakeList, subscriber: BulkSubscriber, updateExistingUsersOnly: boolean): Outcome {
    const { email, userId } = subscriber;
    const failed = this.precheck(project, email, userId);
    if (failed) return failed;
    const resolved = this.resolve(project, email, userId);
    if (resolved.conflict) return resolved.conflict;
    const dataFailure = (): Outcome =>
      email !== undefined
        ? { ok: false, category: 'invalidDataEmails', echo: normalizeEmail(email) }
        : { ok: false, category: 'invalidDataUserIds', echo: userId as string };
    if (subscriber.dataFields !== undefined && !this.dataFieldsFit(project, subscriber.dataFields)) return dataFailure();

    let user = resolved.user;
    if (!user) {
      if (project.type === 'email') {
        if (email === undefined && !subscriber.preferUserId) return { ok: false, category: 'notFoundUserIds', echo: userId as string };
        const placeholder = `${randomBytes(8).toString('hex')}@placeholder.email`;
        user = this.addUser(project, email === undefined ? placeholder : normalizeEmail(email), userId, {});
      } else {
        if (updateExistingUsersOnly) {
          return project.type === 'hybrid' && email !== undefined
            ? { ok: false, category: 'notFoundEmails', echo: normalizeEmail(email) }
            : { ok: false, category: 'notFoundUserIds', echo: userId as string };
        }
        user = this.addUser(project, email === undefined ? undefined : normalizeEmail(email), userId, {});
      }
    } else {
      // Email-based: the email identifies, the userId is overwritten. Others: fill the missing identifier.
      if (project.type === 'email' && userId !== undefined) this.setUserId(project, user, userId);
      if (project.type !== 'email' && email !== undefined && user.email === undefined) this.setEmail(project, user, normalizeEmail(email));
      if (project.type === 'hybrid' && userId !== undefined && user.userId === undefined) this.setUserId(project, user, userId);
    }
    const createdFields =
      subscriber.dataFields === undefined
        ? []
        : this.mergeDataFields(project, user, subscriber.dataFields as Record<string, unknown>, !!subscriber.mergeNestedObjects);
    changeMembership(list, user.uid, true, this.config.membershipVisibilityDelayMs);
    return { ok: true, createdFields };
  }

  private unsubscribeOne(project: FakeProject, list: FakeList, subscriber: BulkSubscriber): Outcome {
    const { email, userId } = subscriber;
    const failed = this.precheck(project, email, userId);
    if (failed) return failed;
    const resolved = this.resolve(project, email, userId);
    if (resolved.conflict) return resolved.conflict;
    if (!resolved.user) {
      return email !== undefined && project.type !== 'userId'
        ? { ok: false, category: 'notFoundEmails', echo: normalizeEmail(email) }
        : { ok: false, category: 'notFoundUserIds', echo: userId as string };
    }
    changeMembership(list, resolved.user.uid, false, this.config.membershipVisibilityDelayMs);
    return { ok: true };
  }

  /** dataFields must be an object whose fields keep the type they first had in this project. */
  private dataFieldsFit(project: FakeProject, dataFields: unknown): boolean {
    if (!isPlainObject(dataFields)) return false;
    return Object.entries(dataFields).every(([field, value]) => {
      const known = project.fieldTypes.get(field);
      return known === undefined || value === null || known === jsonType(value);
    });
  }

  private mergeDataFields(project: FakeProject, user: FakeUser, dataFields: Record<string, unknown>, mergeNested: boolean): string[] {
    const created: string[] = [];
    for (const [field, value] of Object.entries(dataFields)) {
      if (!project.fieldTypes.has(field) && value !== null) {
        project.fieldTypes.set(field, jsonType(value));
        created.push(field);
      }
      const current = user.dataFields[field];
      user.dataFields[field] = mergeNested && isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
    }
    return created;
  }

  private addUser(project: FakeProject, email: string | undefined, userId: string | undefined, dataFields: Record<string, unknown>): FakeUser {
    const user: FakeUser = { uid: this.nextUid++, dataFields: { ...dataFields } };
    project.users.set(user.uid, user);
    if (email !== undefined) this.setEmail(project, user, email);
    if (userId !== undefined) this.setUserId(project, user, userId);
    for (const [field, value] of Object.entries(dataFields)) {
      if (!project.fieldTypes.has(field) && value !== null) project.fieldTypes.set(field, jsonType(value));
    }
    return user;
  }

  private setEmail(project: FakeProject, user: FakeUser, email: string): void {
    if (user.email !== undefined && project.emailIndex.get(user.email) === user.uid) project.emailIndex.delete(user.email);
    user.email = email;
    project.emailIndex.set(email, user.uid);
  }

  private setUserId(project: FakeProject, user: FakeUser, userId: string): void {
    if (user.userId !== undefined && project.userIdIndex.get(user.userId) === user.uid) project.userIdIndex.delete(user.userId);
    user.userId = userId;
    if (!project.userIdIndex.has(userId)) project.userIdIndex.set(userId, user.uid);
  }

  private removeUser(project: FakeProject, user: FakeUser): number {
    project.users.delete(user.uid);
    if (user.email !== undefined && project.emailIndex.get(user.email) === user.uid) project.emailIndex.delete(user.email);
    if (user.userId !== undefined && project.userIdIndex.get(user.userId) === user.uid) project.userIdIndex.delete(user.userId);
    for (const list of this.listsOf(project)) list.members.delete(user.uid);
    return 1;
  }

  private findByEmail(project: FakeProject, email: string): FakeUser | undefined {
    const uid = project.emailIndex.get(normalizeEmail(email));
    return uid === undefined ? undefined : project.users.get(uid);
  }

  private findByUserId(project: FakeProject, userId: string): FakeUser | undefined {
    const uid = project.userIdIndex.get(userId);
    if (uid !== undefined) return project.users.get(uid);
    // Email-based projects: userIds are not unique, the index holds only the first holder.
    return project.type === 'email' ? [...project.users.values()].find((user) => user.userId === userId) : undefined;
  }
}
