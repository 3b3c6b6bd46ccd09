import { ValidateBy, ValidationOptions, buildMessage } from 'class-validator';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** mParticle sends the mpid as a signed 64-bit integer in a string (it can be negative). */
export function isMpid(value: unknown): value is string {
  if (typeof value !== 'string' || !/^-?\d{1,19}$/.test(value)) return false;
  const n = BigInt(value);
  return n >= INT64_MIN && n <= INT64_MAX;
}

export function IsMpid(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMpid',
      validator: {
        validate: (value) => isMpid(value),
        defaultMessage: buildMessage((each) => `${each}$property must be a signed 64-bit integer in a string`, options),
      },
    },
    options,
  );
}

/** A positive integer written as a string, as mParticle sends integer settings (`"12345"`). */
export function isPositiveIntegerString(value: unknown): value is string {
  return typeof value === 'string' && /^[1-9]\d*$/.test(value) && Number.isSafeInteger(Number(value));
}

/** mParticle settings maps: string keys, string (or null) values. */
export function isSettingsMap(value: unknown): value is Record<string, string | null> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => v === null || (typeof v === 'string' && !v.includes('\u0000')));
}

/** A settings map of string (or null) values, none holding a NUL (see `HasNoNul`). */
export function IsSettingsMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSettingsMap',
      validator: {
        validate: (value) => isSettingsMap(value),
        defaultMessage: buildMessage((each) => `${each}$property must be an object of string values (without a NUL character)`, options),
      },
    },
    options,
  );
}

/**
 * The `listId` entry of a settings map, when present, is a positive integer string. The error is reported
 * on the path `<property>.listId` (see `LIST_ID_SUBPATH` in the error flattening).
 */
export function HasValidListId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'hasValidListId',
      validator: {
        validate: (value) => !isSettingsMap(value) || value['listId'] == null || isPositiveIntegerString(value['listId']),
        defaultMessage: () => 'must be a positive integer string',
      },
    },
    { ...options, context: { subPath: 'listId' } },
  );
}

/** The largest integer id we store exactly (JavaScript numbers; PostgreSQL bigint holds more). */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A message time may lead our clock by at most this much: a time far ahead would win "newest wins" for ever. */
export const MAX_CLOCK_LEAD_MS = 24 * 60 * 60 * 1000;

/** A `timestamp_ms` no later than a day after now (`MAX_CLOCK_LEAD_MS`); the type checks are IsInt's. */
export function IsNotFarFuture(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotFarFuture',
      validator: {
        validate: (value) => typeof value !== 'number' || value <= Date.now() + MAX_CLOCK_LEAD_MS,
        defaultMessage: buildMessage((each) => `${each}$property must not be more than a day (86400000 ms) ahead of the partner's clock`, options),
      },
    },
    options,
  );
}

/**
 * Text that is stored must hold no NUL (U+0000): PostgreSQL cannot store one in text, so such a message could only
 * ever fail; it is refused with a 400 naming the field instead (mParticle never sends one).
 */
export function HasNoNul(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'hasNoNul',
      validator: {
        validate: (value) => typeof value !== 'string' || !value.includes('\u0000'),
        defaultMessage: buildMessage((each) => `${each}$property must not contain a NUL character (U+0000)`, options),
      },
    },
    options,
  );
}

/** `subject_identities` of a data subject request: an object keyed by identity type, each `{encoding, value}`. */
export function isSubjectIdentities(value: unknown): value is Record<string, { encoding: string; value: string }> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (identity) =>
      typeof identity === 'object' &&
      identity !== null &&
      ['raw', 'md5', 'sha1', 'sha256'].includes((identity as { encoding?: unknown }).encoding as string) &&
      typeof (identity as { value?: unknown }).value === 'string' &&
      (identity as { value: string }).value.length <= 320 &&
      !(identity as { value: string }).value.includes('\u0000'),
  );
}

export function IsSubjectIdentities(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSubjectIdentities',
      validator: {
        validate: (value) => isSubjectIdentities(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be an object of {encoding: raw|md5|sha1|sha256, value: string of at most 320 characters}`,
          options,
        ),
      },
    },
    options,
  );
}
