import { DomainError } from '@audience-bridge/domain';
import { CONFIG_DEFAULTS, redactUrlPassword, validateDatabaseEnvironment, validateEnvironment, validateKeyRotationEnvironment } from './environment';

describe('validateEnvironment', () => {
  it('fills every default on an empty environment', () => {
    expect({ ...validateEnvironment({}) }).toEqual({ ...CONFIG_DEFAULTS });
  });

  it('reads numbers and treats empty strings as unset', () => {
    const env = validateEnvironment({ PORT: '8080', LOG_LEVEL: '', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/ab' });
    expect(env.PORT).toBe(8080);
    expect(env.LOG_LEVEL).toBe('log');
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/ab');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['WORKER_PORT', '-1'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_FORMAT', 'xml'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'localhost:6379'],
    ['QUEUE_PREFIX', 'has space'],
    ['WORKER_HOST', 'every interface'],
    ['HTTP_KEEP_ALIVE_SECONDS', '0'],
    ['HTTP_KEEP_ALIVE_SECONDS', '1.5'],
    ['INGEST_GROUPS_IN_FLIGHT', '0'],
    ['INGEST_GROUPS_IN_FLIGHT', '17'],
    ['INGEST_GROUPS_IN_FLIGHT', 'two'],
  ])('refuses %s=%s and names it', (key, value) => {
    let error: unknown;
    try {
      validateEnvironment({ [key]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).message).toContain(`${key}=`);
    expect((error as DomainError).details?.map((d) => d.path)).toEqual([key]);
  });

  it('binds the worker to loopback unless told otherwise', () => {
    expect(validateEnvironment({}).WORKER_HOST).toBe('127.0.0.1');
    expect(validateEnvironment({ WORKER_HOST: '0.0.0.0' }).WORKER_HOST).toBe('0.0.0.0');
    expect(validateEnvironment({ WORKER_HOST: '::' }).WORKER_HOST).toBe('::');
  });

  it('ignores variables it does not own', () => {
    expect(() => validateEnvironment({ HOME: '/root', PATH: '/bin' })).not.toThrow();
  });
});

describe('production secrets', () => {
  it('refuses to start in production without the three secrets, naming each', () => {
    expect(() => validateEnvironment({ NODE_ENV: 'production' })).toThrow(/MPARTICLE_INBOUND_TOKEN.*required.*ADMIN_TOKEN.*required.*ENCRYPTION_KEY.*required/);
  });

  it('refuses an ENCRYPTION_KEY that is not 32 bytes of base64', () => {
    expect(() => validateEnvironment({ ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toThrow(
      /ENCRYPTION_KEY \(value hidden\): ENCRYPTION_KEY must be 32 bytes in base64/,
    );
  });

  it('starts in production with all three', () => {
    const env = validateEnvironment({
      NODE_ENV: 'production',
      MPARTICLE_INBOUND_TOKEN: 'm'.repeat(20),
      ADMIN_TOKEN: 'a'.repeat(20),
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(env.ADMIN_TOKEN).toBe('a'.repeat(20));
  });
});

describe('refusals never print a secret', () => {
  const refusal = (raw: Record<string, string>): DomainError => {
    try {
      validateEnvironment(raw);
    } catch (error) {
      return error as DomainError;
    }
    throw new Error('not refused');
  };

  it.each([
    ['MPARTICLE_INBOUND_TOKEN', 'tok en-s3cr3t-value', /MPARTICLE_INBOUND_TOKEN must be at least 16 characters/],
    ['ADMIN_TOKEN', 'adm1n-s3cr3t', /ADMIN_TOKEN must be at least 16 characters/],
    ['ENCRYPTION_KEY', Buffer.alloc(16, 9).toString('base64'), /ENCRYPTION_KEY must be 32 bytes in base64/],
    ['ENCRYPTION_KEY_PREVIOUS', Buffer.alloc(31, 9).toString('base64'), /ENCRYPTION_KEY_PREVIOUS must be 32 bytes in base64/],
  ])('names %s and its rule, not its value', (key, value, rule) => {
    const error = refusal({ [key]: value });
    expect(error.message).toContain(`Invalid configuration: ${key} (value hidden): `);
    expect(error.message).toMatch(rule);
    expect(error.message).not.toContain(value);
    expect(JSON.stringify(error.details)).not.toContain(value);
  });

  it.each([
    ['DATABASE_URL', 'mysql://app:hunter2-db@db.internal:3306/ab', 'DATABASE_URL="mysql://app:***@db.internal:3306/ab"'],
    ['DATABASE_URL', 'postgres:app:hunter2-db@db.internal/ab', 'DATABASE_URL="postgres:***@db.internal/ab"'],
    ['REDIS_URL', 'http://:hunter2-redis@cache:6379', 'REDIS_URL="http://:***@cache:6379"'],
    ['REDIS_URL', 'cache:hunter2-redis@cache', 'REDIS_URL="cache:***@cache"'],
  ])('shows a refused %s with its password as ***', (key, value, shown) => {
    const error = refusal({ [key]: value });
    expect(error.message).toContain(shown);
    expect(error.message).not.toMatch(/hunter2/);
  });

  it('still shows a non-secret value', () => {
    expect(refusal({ PORT: 'abc' }).message).toContain('PORT="abc": ');
    expect(refusal({ NODE_ENV: 'production' }).message).toMatch(/^Invalid configuration: MPARTICLE_INBOUND_TOKEN: MPARTICLE_INBOUND_TOKEN is required/);
  });

  it.each([
    ['postgres://app:s3cret@db/ab', 'postgres://app:***@db/ab'],
    ['postgres://app@db:5432/ab', 'postgres://app@db:5432/ab'],
    ['rediss://default:p%40ss@cache:6380', 'rediss://default:***@cache:6380'],
    ['sqlite:data/audience-bridge.sqlite', 'sqlite:data/audience-bridge.sqlite'],
    ['127.0.0.1:6379', '127.0.0.1:6379'],
  ])('redactUrlPassword(%s) = %s', (value, shown) => {
    expect(redactUrlPassword(value)).toBe(shown);
  });
});

describe('validateDatabaseEnvironment (npm run db:migrate)', () => {
  it("needs only DATABASE_URL in production, none of the apps' secrets", () => {
    expect(() => validateEnvironment({ NODE_ENV: 'production', DATABASE_URL: 'postgres://app@db/ab' })).toThrow(/required/);
    expect({ ...validateDatabaseEnvironment({ NODE_ENV: 'production', DATABASE_URL: 'postgres://app@db/ab' }) }).toEqual({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://app@db/ab',
    });
  });

  it('still refuses a bad DATABASE_URL or NODE_ENV, without the password', () => {
    expect(() => validateDatabaseEnvironment({ DATABASE_URL: 'mysql://app:hunter2@db/ab' })).toThrow(
      'Invalid configuration: DATABASE_URL="mysql://app:***@db/ab": DATABASE_URL must be sqlite:<path> or postgres://…',
    );
    expect(() => validateDatabaseEnvironment({ NODE_ENV: 'staging' })).toThrow(/NODE_ENV="staging"/);
  });

  it('ignores the other variables, valid or not', () => {
    expect(() => validateDatabaseEnvironment({ NODE_ENV: 'production', PORT: 'abc', ADMIN_TOKEN: 'short' })).not.toThrow();
  });
});

describe('validateKeyRotationEnvironment (npm run keys:rotate)', () => {
  const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

  it('needs DATABASE_URL and ENCRYPTION_KEY in production, ENCRYPTION_KEY_PREVIOUS optional', () => {
    expect(() => validateKeyRotationEnvironment({ NODE_ENV: 'production' })).toThrow(/ENCRYPTION_KEY: ENCRYPTION_KEY is required when NODE_ENV=production/);
    const env = validateKeyRotationEnvironment({ NODE_ENV: 'production', ENCRYPTION_KEY: key(1), ENCRYPTION_KEY_PREVIOUS: key(2) });
    expect(env.ENCRYPTION_KEY_PREVIOUS).toBe(key(2));
  });

  it('refuses a bad ENCRYPTION_KEY_PREVIOUS by name only', () => {
    expect(() => validateKeyRotationEnvironment({ ENCRYPTION_KEY_PREVIOUS: 'not-a-key' })).toThrow(
      'Invalid configuration: ENCRYPTION_KEY_PREVIOUS (value hidden): ENCRYPTION_KEY_PREVIOUS must be 32 bytes in base64',
    );
  });
});

describe('ITERABLE_API_BASE_URL in production', () => {
  const production = {
    NODE_ENV: 'production',
    MPARTICLE_INBOUND_TOKEN: 'm'.repeat(20),
    ADMIN_TOKEN: 'a'.repeat(20),
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  };

  it.each(['http://iterable-proxy.internal:8080', 'http://10.0.0.5/iterable', 'http://127.0.0.1.example.com'])(
    'refuses %s, naming the variable and the rule',
    (url) => {
      expect(() => validateEnvironment({ ...production, ITERABLE_API_BASE_URL: url })).toThrow(
        /ITERABLE_API_BASE_URL=".*": ITERABLE_API_BASE_URL must be https:\/\/ when NODE_ENV=production \(http:\/\/ only to a loopback host/,
      );
    },
  );

  it.each(['https://iterable-proxy.internal', 'http://127.0.0.1:4010', 'http://localhost:4010/x', 'http://[::1]:4010'])('accepts %s', (url) => {
    expect(validateEnvironment({ ...production, ITERABLE_API_BASE_URL: url }).ITERABLE_API_BASE_URL).toBe(url);
  });

  it('accepts any http(s) URL outside production', () => {
    expect(validateEnvironment({ ITERABLE_API_BASE_URL: 'http://iterable-proxy.internal:8080' }).ITERABLE_API_BASE_URL).toBe(
      'http://iterable-proxy.internal:8080',
    );
  });
});
