import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min, ValidateBy, ValidationError, ValidationOptions, validateSync } from 'class-validator';
import { DomainError, DomainErrorCode } from '@audience-bridge/domain';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;

/** Defaults a newcomer gets (DESIGN.md "Defaults a newcomer gets"); the README's configuration table lists them. */
export const CONFIG_DEFAULTS = {
  NODE_ENV: 'development',
  PORT: 3000,
  API_PROCESSES: 1,
  INGEST_GROUPS_IN_FLIGHT: 2,
  HTTP_KEEP_ALIVE_SECONDS: 65,
  WORKER_PORT: 3001,
  WORKER_HOST: '127.0.0.1',
  WORKER_CONCURRENCY: 4,
  ITERABLE_REQUESTS_PER_SECOND: 10,
  ITERABLE_MAX_CONCURRENT: 4,
  ITERABLE_TIMEOUT_MS: 10_000,
  DELIVERY_MAX_AGE_HOURS: 168,
  DELIVERY_RETRY_BASE_MS: 1000,
  DELIVERY_RETRY_MAX_MS: 300_000,
  ITERABLE_LATE_APPLY_WINDOW_MS: 120_000,
  LIST_LEASE_TTL_MS: 30_000,
  SWEEP_INTERVAL_MS: 5000,
  AUDIT_RETENTION_DAYS: 30,
  DRIFT_SETTLE_MS: 300_000,
  DRIFT_CHECK_CONCURRENCY: 2,
  ITERABLE_LIST_READS_PER_MINUTE: 5,
  LOG_LEVEL: 'log',
  LOG_FORMAT: 'text',
  DATABASE_URL: 'sqlite:data/audience-bridge.sqlite',
  REDIS_URL: 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: 'audience-bridge',
  MAX_BODY_BYTES: 10 * 1024 * 1024,
} as const;

function IsBase64Key32(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isBase64Key32',
      validator: { validate: (v) => typeof v === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(v) && Buffer.from(v, 'base64').length === 32 },
    },
    options,
  );
}

/** Secrets production must be given; development generates them once (see `resolveSecrets`). */
export const SECRET_KEYS = ['MPARTICLE_INBOUND_TOKEN', 'ADMIN_TOKEN', 'ENCRYPTION_KEY'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/**
 * Every variable whose value is a secret: a refused one is named with its rule, its value never printed.
 * (The password of DATABASE_URL and REDIS_URL is printed as `***`.)
 */
export const SECRET_VARIABLES: readonly string[] = [...SECRET_KEYS, 'ENCRYPTION_KEY_PREVIOUS'];

const ENCRYPTION_KEY_RULE = 'must be 32 bytes in base64 (openssl rand -base64 32)';

/** What migrating needs (`npm run db:migrate`): the database, and nothing of the apps' secrets. */
export class DatabaseEnvironment {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = CONFIG_DEFAULTS.NODE_ENV;

  /** `sqlite:<path>` or `postgres://user:password@host:port/database`. */
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, { message: 'DATABASE_URL must be sqlite:<path> or postgres://…' })
  DATABASE_URL: string = CONFIG_DEFAULTS.DATABASE_URL;
}

/**
 * What re-encrypting the stored API keys needs (`npm run keys:rotate`): the database and both encryption keys.
 * ENCRYPTION_KEY is required in production.
 */
export class KeyRotationEnvironment extends DatabaseEnvironment {
  @IsOptional()
  @IsBase64Key32({ message: `ENCRYPTION_KEY ${ENCRYPTION_KEY_RULE}` })
  ENCRYPTION_KEY?: string;

  @IsOptional()
  @IsBase64Key32({ message: `ENCRYPTION_KEY_PREVIOUS ${ENCRYPTION_KEY_RULE}` })
  ENCRYPTION_KEY_PREVIOUS?: string;
}

/**
 * The environment both apps read, validated at boot: a bad value stops the process with a message that
 * names the variable. Every value has a development default, so `npm start` works on a fresh clone.
 */
export class Environment extends DatabaseEnvironment {
  /** HTTP port of the API. */
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = CONFIG_DEFAULTS.PORT;

  /** How many API processes share PORT (node:cluster); 1 runs the API in this process. */
  @IsInt()
  @Min(1)
  @Max(64)
  API_PROCESSES: number = CONFIG_DEFAULTS.API_PROCESSES;

  /**
   * Group statements one API process has in flight on PostgreSQL at once (group commit: messages arriving while
   * they run go out together in the next). Fewer make bigger groups, each paying one statement's start and one
   * commit; more overlap round trips to a distant database. Two measured best of 1, 2 and 4 over both bench shapes
   * on two cores (README "Where the targets stand").
   */
  @IsInt()
  @Min(1)
  @Max(16)
  INGEST_GROUPS_IN_FLIGHT: number = CONFIG_DEFAULTS.INGEST_GROUPS_IN_FLIGHT;

  /**
   * How long the API keeps an idle keep-alive connection open, in seconds. Longer than the idle timeout of
   * whatever sends to it (a load balancer's is often 60 s), so the sender, not the API, closes an idle
   * connection: otherwise a request sent on it as the API closes it is reset instead of answered.
   */
  @IsInt()
  @Min(1)
  @Max(3600)
  HTTP_KEEP_ALIVE_SECONDS: number = CONFIG_DEFAULTS.HTTP_KEEP_ALIVE_SECONDS;

  /** HTTP port of the worker's health and metrics endpoints. */
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_PORT: number = CONFIG_DEFAULTS.WORKER_PORT;

  /**
   * The address the worker's health and metrics server binds: loopback by default, so its metrics are not
   * on the network; `0.0.0.0` where a scraper or an orchestrator's probe must reach it from outside.
   */
  @Matches(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+|localhost)$/, { message: 'WORKER_HOST must be an IP address or localhost' })
  WORKER_HOST: string = CONFIG_DEFAULTS.WORKER_HOST;

  /** Lists the worker process delivers to at once (each list still has one writer across all workers). */
  @IsInt()
  @Min(1)
  @Max(256)
  WORKER_CONCURRENCY: number = CONFIG_DEFAULTS.WORKER_CONCURRENCY;

  /** Iterable requests per second per API key, summed over every worker process (shared Redis limiter). */
  @IsInt()
  @Min(1)
  @Max(10_000)
  ITERABLE_REQUESTS_PER_SECOND: number = CONFIG_DEFAULTS.ITERABLE_REQUESTS_PER_SECOND;

  /** Iterable requests in flight at once per API key, summed over every worker process. */
  @IsInt()
  @Min(1)
  @Max(1000)
  ITERABLE_MAX_CONCURRENT: number = CONFIG_DEFAULTS.ITERABLE_MAX_CONCURRENT;

  /** Timeout of one Iterable request, in ms. */
  @IsInt()
  @Min(100)
  @Max(300_000)
  ITERABLE_TIMEOUT_MS: number = CONFIG_DEFAULTS.ITERABLE_TIMEOUT_MS;

  /**
   * How long a list keeps retrying transient errors (429, 5xx, timeouts, resets) before its waiting changes
   * are marked failed, in hours. Only permanent answers fail a change sooner.
   */
  @IsInt()
  @Min(1)
  @Max(24 * 90)
  DELIVERY_MAX_AGE_HOURS: number = CONFIG_DEFAULTS.DELIVERY_MAX_AGE_HOURS;

  /**
   * First retry delay after a transient error, in ms; doubles per attempt (with jitter) up to
   * DELIVERY_RETRY_MAX_MS. A Retry-After from Iterable is honoured, never below this floor.
   */
  @IsInt()
  @Min(10)
  @Max(600_000)
  DELIVERY_RETRY_BASE_MS: number = CONFIG_DEFAULTS.DELIVERY_RETRY_BASE_MS;

  /** The longest wait between two tries of a failing list, in ms. */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  DELIVERY_RETRY_MAX_MS: number = CONFIG_DEFAULTS.DELIVERY_RETRY_MAX_MS;

  /**
   * After a call whose answer never came (a timeout, a reset, a 504), Iterable may still apply it later: this
   * long after it, the newest state of its users is sent once more, so a late apply is never the last word.
   */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  ITERABLE_LATE_APPLY_WINDOW_MS: number = CONFIG_DEFAULTS.ITERABLE_LATE_APPLY_WINDOW_MS;

  /** A worker's lease on a list lapses after this long without renewal (a crashed worker's lists free up then). */
  @IsInt()
  @Min(1000)
  @Max(600_000)
  LIST_LEASE_TTL_MS: number = CONFIG_DEFAULTS.LIST_LEASE_TTL_MS;

  /** How often each worker re-enqueues every list with due pending changes (the safety net for lost signals). */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  SWEEP_INTERVAL_MS: number = CONFIG_DEFAULTS.SWEEP_INTERVAL_MS;

  /** Delivery audit rows older than this many days are pruned daily. */
  @IsInt()
  @Min(1)
  @Max(3650)
  AUDIT_RETENTION_DAYS: number = CONFIG_DEFAULTS.AUDIT_RETENTION_DAYS;

  /**
   * A drift check leaves out members whose change is pending, unanswered, or was delivered less than this long
   * before the list was read (Iterable's list reads lag its writes), in ms.
   */
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  DRIFT_SETTLE_MS: number = CONFIG_DEFAULTS.DRIFT_SETTLE_MS;

  /** Drift checks one worker process runs at once (their own queue: they never hold up delivery). */
  @IsInt()
  @Min(1)
  @Max(16)
  DRIFT_CHECK_CONCURRENCY: number = CONFIG_DEFAULTS.DRIFT_CHECK_CONCURRENCY;

  /** Iterable list reads (`getUsers`) per minute per API key, summed over every worker: Iterable allows 5 per project. */
  @IsInt()
  @Min(1)
  @Max(600)
  ITERABLE_LIST_READS_PER_MINUTE: number = CONFIG_DEFAULTS.ITERABLE_LIST_READS_PER_MINUTE;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevelName = CONFIG_DEFAULTS.LOG_LEVEL;

  /** `json` writes one JSON object per line (for log shippers); `text` is for people. */
  @IsIn(LOG_FORMATS)
  LOG_FORMAT: (typeof LOG_FORMATS)[number] = CONFIG_DEFAULTS.LOG_FORMAT;

  @Matches(/^rediss?:\/\/[^\s]+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL: string = CONFIG_DEFAULTS.REDIS_URL;

  /** Prefix of every Redis key the queues use, so several deployments can share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]{1,64}$/, { message: 'QUEUE_PREFIX must be 1-64 letters, digits, ":", "_" or "-"' })
  QUEUE_PREFIX: string = CONFIG_DEFAULTS.QUEUE_PREFIX;

  /**
   * Replaces the Iterable base URL of both data centers (tests, proxies). In production it must be https://
   * unless its host is loopback (see `validateEnvironment`): the API key travels in every request.
   */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'ITERABLE_API_BASE_URL must be an http(s) URL' })
  ITERABLE_API_BASE_URL?: string;

  /** Largest mParticle request body accepted, in bytes; larger ones are answered 413. */
  @IsInt()
  @Min(1024)
  MAX_BODY_BYTES: number = CONFIG_DEFAULTS.MAX_BODY_BYTES;

  /** The token mParticle sends as `Authorization: Token <token>`. Required in production. */
  @IsOptional()
  @Matches(/^\S{16,}$/, { message: 'MPARTICLE_INBOUND_TOKEN must be at least 16 characters without spaces' })
  MPARTICLE_INBOUND_TOKEN?: string;

  /** The bearer token of the admin and audit API. Required in production. */
  @IsOptional()
  @Matches(/^\S{16,}$/, { message: 'ADMIN_TOKEN must be at least 16 characters without spaces' })
  ADMIN_TOKEN?: string;

  /** 32 random bytes in base64 (`openssl rand -base64 32`): encrypts Iterable API keys at rest. Required in production. */
  @IsOptional()
  @IsBase64Key32({ message: `ENCRYPTION_KEY ${ENCRYPTION_KEY_RULE}` })
  ENCRYPTION_KEY?: string;

  /**
   * The ENCRYPTION_KEY before a rotation: still accepted for reading stored API keys until `npm run keys:rotate`
   * has re-encrypted them under ENCRYPTION_KEY. Optional.
   */
  @IsOptional()
  @IsBase64Key32({ message: `ENCRYPTION_KEY_PREVIOUS ${ENCRYPTION_KEY_RULE}` })
  ENCRYPTION_KEY_PREVIOUS?: string;
}

const NUMERIC_KEYS: readonly (keyof Environment)[] = [
  'PORT',
  'API_PROCESSES',
  'INGEST_GROUPS_IN_FLIGHT',
  'HTTP_KEEP_ALIVE_SECONDS',
  'WORKER_PORT',
  'WORKER_CONCURRENCY',
  'ITERABLE_REQUESTS_PER_SECOND',
  'ITERABLE_MAX_CONCURRENT',
  'ITERABLE_TIMEOUT_MS',
  'DELIVERY_MAX_AGE_HOURS',
  'DELIVERY_RETRY_BASE_MS',
  'DELIVERY_RETRY_MAX_MS',
  'ITERABLE_LATE_APPLY_WINDOW_MS',
  'LIST_LEASE_TTL_MS',
  'SWEEP_INTERVAL_MS',
  'AUDIT_RETENTION_DAYS',
  'DRIFT_SETTLE_MS',
  'DRIFT_CHECK_CONCURRENCY',
  'ITERABLE_LIST_READS_PER_MINUTE',
  'MAX_BODY_BYTES',
];
const OPTIONAL_KEYS = ['ITERABLE_API_BASE_URL', 'MPARTICLE_INBOUND_TOKEN', 'ADMIN_TOKEN', 'ENCRYPTION_KEY', 'ENCRYPTION_KEY_PREVIOUS'];

/** Hosts an `http://` ITERABLE_API_BASE_URL may name in production (nothing leaves the machine). */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '[::1]', 'localhost'];

/**
 * A URL with its password replaced by `***` (`postgres://app:***@db/ab`); anything else as it is. A value
 * that is not a URL with a host but has credentials-like text (`scheme:user:secret@…`, `user:secret@…`) has
 * everything between its first `:` (after `://`, if any) and its last `@` replaced: better too much hidden
 * than a password shown.
 */
export function redactUrlPassword(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && url.password !== '') {
    const shown = value.replace(/^([^:/]+:\/\/[^:/@]*:)[^/]*@/, '$1***@');
    if (shown !== value) return shown;
    url.password = '***';
    return url.toString();
  }
  if (url && url.host !== '') return value;
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const scheme = value.indexOf('://');
  const start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  const colon = value.indexOf(':', start);
  return colon >= 0 && colon < at ? `${value.slice(0, colon + 1)}***${value.slice(at)}` : value;
}

/** How a refused variable is named in the message: `KEY="value"`, but a secret by its name alone and URLs without their password. */
export function describeVariable(key: string, value: unknown): string {
  if (value === undefined) return key;
  if (SECRET_VARIABLES.includes(key)) return `${key} (value hidden)`;
  return `${key}=${JSON.stringify(typeof value === 'string' ? redactUrlPassword(value) : value)}`;
}

function refusal(property: string, rule: string): ValidationError {
  return Object.assign(new ValidationError(), { property, constraints: { rule } });
}

/** In production the Iterable API key must not cross a network in clear: http:// only to this machine. */
function iterableBaseUrlProblems(env: Environment): ValidationError[] {
  const url = env.ITERABLE_API_BASE_URL;
  if (env.NODE_ENV !== 'production' || url === undefined || !/^http:/i.test(url)) return [];
  let host: string | undefined;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    host = undefined;
  }
  if (host !== undefined && LOOPBACK_HOSTS.includes(host)) return [];
  return [
    refusal(
      'ITERABLE_API_BASE_URL',
      `ITERABLE_API_BASE_URL must be https:// when NODE_ENV=production (http:// only to a loopback host: ${LOOPBACK_HOSTS.join(', ')})`,
    ),
  ];
}

/**
 * Validates `raw` into `type`: empty strings count as unset, digits become numbers for the numeric variables,
 * `requiredInProduction` must be set when NODE_ENV=production. Throws a `DomainError` naming every bad
 * variable and its rule; a secret's value is never part of it, nor a URL's password.
 */
function validateAs<T extends DatabaseEnvironment>(
  type: new () => T,
  raw: Record<string, unknown>,
  optional: readonly string[],
  requiredInProduction: readonly string[],
  extraChecks: (env: T) => ValidationError[] = () => [],
): T {
  const given: Record<string, unknown> = {};
  const known = Object.keys(new type());
  for (const key of [...known, ...optional]) {
    const value = raw[key];
    if (value === undefined || value === '') continue;
    given[key] = NUMERIC_KEYS.includes(key as keyof Environment) && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  }
  const env = plainToInstance(type, given);
  const errors = validateSync(env, { skipMissingProperties: false });
  if (env.NODE_ENV === 'production') {
    for (const key of requiredInProduction) {
      if ((env as unknown as Record<string, unknown>)[key] === undefined && !errors.some((e) => e.property === key)) {
        errors.push(refusal(key, `${key} is required when NODE_ENV=production`));
      }
    }
  }
  errors.push(...extraChecks(env).filter((extra) => !errors.some((e) => e.property === extra.property)));
  if (errors.length > 0) {
    const rules = (e: ValidationError) => Object.values(e.constraints ?? {}).join(', ');
    const problems = errors.map((e) => `${describeVariable(e.property, given[e.property])}: ${rules(e)}`);
    throw new DomainError(
      DomainErrorCode.InvalidConfiguration,
      `Invalid configuration: ${problems.join('; ')}`,
      errors.map((e) => ({ path: e.property, message: rules(e) })),
    );
  }
  return env;
}

/**
 * Validates raw environment variables (`process.env`) and returns the typed configuration with defaults
 * filled in. Empty strings count as unset. Throws a `DomainError` naming every bad variable and its rule
 * (never a secret's value, nor a URL's password).
 */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  return validateAs(Environment, raw, OPTIONAL_KEYS, SECRET_KEYS, iterableBaseUrlProblems);
}

/**
 * Only what migrating needs (NODE_ENV, DATABASE_URL): `npm run db:migrate` runs as a release step with the
 * database's credentials and none of the apps' tokens, in production too.
 */
export function validateDatabaseEnvironment(raw: Record<string, unknown>): DatabaseEnvironment {
  return validateAs(DatabaseEnvironment, raw, [], []);
}

/** What `npm run keys:rotate` needs: the database and the encryption keys (ENCRYPTION_KEY required in production). */
export function validateKeyRotationEnvironment(raw: Record<string, unknown>): KeyRotationEnvironment {
  return validateAs(KeyRotationEnvironment, raw, ['ENCRYPTION_KEY', 'ENCRYPTION_KEY_PREVIOUS'], ['ENCRYPTION_KEY']);
}
