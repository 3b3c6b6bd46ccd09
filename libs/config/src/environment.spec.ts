import { DomainError } from '@audience-bridge/domain';
import { CONFIG_DEFAULTS, validateEnvironment } from './environment';

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

  it('ignores variables it does not own', () => {
    expect(() => validateEnvironment({ HOME: '/root', PATH: '/bin' })).not.toThrow();
  });
});

describe('production secrets', () => {
  it('refuses to start in production without the three secrets, naming each', () => {
    expect(() => validateEnvironment({ NODE_ENV: 'production' })).toThrow(
      /MPARTICLE_INBOUND_TOKEN.*required.*ADMIN_TOKEN.*required.*ENCRYPTION_KEY.*required/,
    );
  });

  it('refuses an ENCRYPTION_KEY that is not 32 bytes of base64', () => {
    expect(() => validateEnvironment({ ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/ENCRYPTION_KEY=/);
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
