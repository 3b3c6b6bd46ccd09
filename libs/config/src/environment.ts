import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { DomainError, DomainErrorCode } from '@audience-bridge/domain';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;

/** Defaults a newcomer gets (DESIGN.md "Defaults a newcomer gets"); the README's configuration table lists them. */
export const CONFIG_DEFAULTS = {
  NODE_ENV: 'development',
  PORT: 3000,
  WORKER_PORT: 3001,
  LOG_LEVEL: 'log',
  LOG_FORMAT: 'text',
  DATABASE_URL: 'sqlite:data/audience-bridge.sqlite',
  REDIS_URL: 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: 'audience-bridge',
} as const;

/**
 * The environment both apps read, validated at boot: a bad value stops the process with a message that
 * names the variable. Every value has a development default, so `npm start` works on a fresh clone.
 */
export class Environment {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = CONFIG_DEFAULTS.NODE_ENV;

  /** HTTP port of the API. */
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = CONFIG_DEFAULTS.PORT;

  /** HTTP port of the worker's health and metrics endpoints. */
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_PORT: number = CONFIG_DEFAULTS.WORKER_PORT;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevelName = CONFIG_DEFAULTS.LOG_LEVEL;

  /** `json` writes one JSON object per line (for log shippers); `text` is for people. */
  @IsIn(LOG_FORMATS)
  LOG_FORMAT: (typeof LOG_FORMATS)[number] = CONFIG_DEFAULTS.LOG_FORMAT;

  /** `sqlite:<path>` or `postgres://user:password@host:port/database`. */
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, { message: 'DATABASE_URL must be sqlite:<path> or postgres://…' })
  DATABASE_URL: string = CONFIG_DEFAULTS.DATABASE_URL;

  @Matches(/^rediss?:\/\/[^\s]+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL: string = CONFIG_DEFAULTS.REDIS_URL;

  /** Prefix of every Redis key the queues use, so several deployments can share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]{1,64}$/, { message: 'QUEUE_PREFIX must be 1-64 letters, digits, ":", "_" or "-"' })
  QUEUE_PREFIX: string = CONFIG_DEFAULTS.QUEUE_PREFIX;

  @IsOptional()
  @IsString()
  ITERABLE_API_BASE_URL?: string;
}

const NUMERIC_KEYS: readonly (keyof Environment)[] = ['PORT', 'WORKER_PORT'];

/**
 * Validates raw environment variables (`process.env`) and returns the typed configuration with defaults
 * filled in. Empty strings count as unset. Throws a `DomainError` naming every bad variable.
 */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const given: Record<string, unknown> = {};
  const known = Object.keys(new Environment());
  for (const key of [...known, 'ITERABLE_API_BASE_URL']) {
    const value = raw[key];
    if (value === undefined || value === '') continue;
    given[key] = NUMERIC_KEYS.includes(key as keyof Environment) && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  }
  const env = plainToInstance(Environment, given);
  const errors = validateSync(env, { skipMissingProperties: false });
  if (errors.length > 0) {
    const problems = errors.map((e) => `${e.property}=${JSON.stringify(given[e.property])}: ${Object.values(e.constraints ?? {}).join(', ')}`);
    throw new DomainError(DomainErrorCode.InvalidConfiguration, `Invalid configuration: ${problems.join('; ')}`, errors.map((e) => ({
      path: e.property,
      message: Object.values(e.constraints ?? {}).join(', '),
    })));
  }
  return env;
}
