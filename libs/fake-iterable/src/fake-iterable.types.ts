/** The Iterable project types (see the reference, section 4). */
export const PROJECT_TYPES = ['email', 'userId', 'hybrid'] as const;
export type ProjectType = (typeof PROJECT_TYPES)[number];

export const FAKE_DATA_CENTERS = ['US', 'EU'] as const;
export type FakeDataCenter = (typeof FAKE_DATA_CENTERS)[number];

/** The ten per-identifier failure arrays of Iterable's `FailedUserUpdates`. */
export const FAILED_UPDATE_CATEGORIES = [
  'invalidEmails',
  'invalidUserIds',
  'notFoundEmails',
  'notFoundUserIds',
  'forgottenEmails',
  'forgottenUserIds',
  'conflictEmails',
  'conflictUserIds',
  'invalidDataEmails',
  'invalidDataUserIds',
] as const;
export type FailedUpdateCategory = (typeof FAILED_UPDATE_CATEGORIES)[number];
export type FailedUpdates = Record<FailedUpdateCategory, string[]>;

export interface FakeUser {
  /** Internal id, never shown to clients. */
  uid: number;
  email?: string;
  userId?: string;
  dataFields: Record<string, unknown>;
}

export interface FakeList {
  id: number;
  projectId: number;
  name: string;
  description?: string;
  listType: 'Standard';
  createdAt: number;
  /** uids of the members. */
  members: Set<number>;
  /** With `membershipVisibilityDelayMs`: members changed lately, and whether each was a member before (list-reads.ts). */
  recent?: Map<number, { before: boolean; atMs: number }>;
}

export interface FakeProject {
  projectId: number;
  apiKey: string;
  type: ProjectType;
  dataCenter: FakeDataCenter;
  users: Map<number, FakeUser>;
  /** Lookup indexes: lower-cased email → uid, userId → uid (email-based projects: the first user with it). */
  emailIndex: Map<string, number>;
  userIdIndex: Map<string, number>;
  forgottenEmails: Set<string>;
  forgottenUserIds: Set<string>;
  /** Project-wide data field types: a field keeps the type it was first written with. */
  fieldTypes: Map<string, string>;
}

export interface CreateProjectInput {
  apiKey: string;
  /** `email` | `userId` | `hybrid` (also accepted: `email-based`, `userId-based`, `userid`). */
  type: string;
  /** `US` (default) or `EU`. */
  dataCenter?: string;
  projectId?: number;
  lists?: { name: string; description?: string; id?: number }[];
}

export interface SeedUserInput {
  email?: string;
  userId?: string;
  dataFields?: Record<string, unknown>;
  /** Lists the user is already a member of. */
  listIds?: number[];
}

/** Behaviour switches that are not faults. */
export interface FakeConfig {
  /** Omit empty failure arrays (and empty createdFields/filteredOutFields) from bulk answers, as some real answers do. */
  omitEmptyArrays: boolean;
  /** `code` of the unknown-list answer: Iterable sometimes says "Success" on this error. */
  invalidListIdCode: string;
  /** HTTP status of the unknown-list answer (400; some clients have seen 500). */
  invalidListIdStatus: number;
  /** A list answers `invalidListId` on subscribe/unsubscribe for this long after its creation (eventual consistency). */
  newListInvalidForMs: number;
  /** Request log cap (oldest entries dropped first). */
  maxLoggedRequests: number;
  /** Iterable's budget of `getUsers` (and, apart, of `size`): per project, in any 60 s span; past it 429 with Retry-After. 0 = no limit. */
  listReadsPerMinute: number;
  /** A membership change shows in `getUsers` and `size` only this long after the member's last change (Iterable's reads lag its writes). */
  membershipVisibilityDelayMs: number;
}

export const DEFAULT_CONFIG: FakeConfig = {
  omitEmptyArrays: false,
  invalidListIdCode: 'BadParams',
  invalidListIdStatus: 400,
  newListInvalidForMs: 0,
  maxLoggedRequests: 10_000,
  listReadsPerMinute: 5,
  membershipVisibilityDelayMs: 0,
};

export type RetryAfterFormat = 'seconds' | 'http-date';

/** A rule that answers the next `times` matching requests in a fixed way. */
export interface ForcedFault {
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** API path without the `/eu` prefix, e.g. `/api/lists/subscribe`; absent = any path. */
  path?: string;
  method?: string;
  apiKey?: string;
  /** Only requests whose body contains this text (e.g. one user's email: a fault aimed at the calls that carry that user). */
  bodyContains?: string;
  /** Answer with this status; the body defaults to Iterable's body for that status. */
  status?: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  retryAfterSeconds?: number;
  retryAfterFormat?: RetryAfterFormat;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
  /** Wait this long first (alone: a slow but otherwise normal answer). */
  delayMs?: number;
  /** A streamed answer (getUsers) ends cleanly after this many characters, as a proxy dropping its tail would (mid-line: no last newline). */
  truncateBodyAtChars?: number;
  /** A streamed answer (getUsers) is sent without its last newline. */
  dropFinalNewline?: boolean;
}

export interface FaultConfig {
  /** Seed of the generator behind the probabilistic faults (chaos tests repeatable). */
  seed?: number;
  /** Per API key, at most N accepted requests in any sliding second; more answer 429 RateLimitExceeded. */
  rateLimit?: {
    requestsPerSecond: number;
    retryAfterSeconds?: number;
    retryAfterFormat?: RetryAfterFormat;
    /** Limit only these API paths (default: every API path). */
    paths?: string[];
  };
  /** Fractions (0..1) of API requests answering 500 GenericError / 503. */
  errorRates?: { status500?: number; status503?: number };
  /** Fraction (0..1) of API requests whose socket is destroyed. */
  resetRate?: number;
  /** Delay `fraction` (default 1) of API requests by `delayMs`. */
  slow?: { delayMs: number; fraction?: number };
  forced?: ForcedFault[];
}

export interface LoggedRequest {
  id: number;
  time: string;
  timeMs: number;
  method: string;
  /** The path as received, query string included. */
  path: string;
  /** The API path without the DC prefix (`/api/...`), or the raw path when no route matched. */
  apiPath: string;
  dataCenter: FakeDataCenter;
  apiKey?: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** null while in flight, and for a reset connection. */
  status: number | null;
  response: unknown;
  durationMs: number | null;
  /** Which injected fault shaped the answer, if any. */
  fault?: string;
}

export interface KeyStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  rateLimited: number;
}
