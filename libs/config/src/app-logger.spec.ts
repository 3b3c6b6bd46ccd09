import { bootFailureMessage, logLevelsFrom } from './app-logger';

describe('logLevelsFrom', () => {
  it.each([
    ['error', ['fatal', 'error']],
    ['log', ['fatal', 'error', 'warn', 'log']],
    ['verbose', ['fatal', 'error', 'warn', 'log', 'debug', 'verbose']],
  ] as const)('%s prints %j', (level, levels) => {
    expect(logLevelsFrom(level)).toEqual(levels);
  });
});

describe('bootFailureMessage', () => {
  const env = {
    ADMIN_TOKEN: 'admin-token-s3cret-0001',
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    ENCRYPTION_KEY_PREVIOUS: Buffer.alloc(32, 4).toString('base64'),
    DATABASE_URL: 'postgres://app:p%40ss-w0rd@db/ab',
  };

  it('hides the secrets of the environment and URL passwords that an error message carries', () => {
    const message = bootFailureMessage(
      new Error(
        `cannot use ${env.ADMIN_TOKEN} / ${env.ENCRYPTION_KEY} / ${env.ENCRYPTION_KEY_PREVIOUS}; connect p@ss-w0rd to ${env.DATABASE_URL}; redis://u:other@cache`,
      ),
      env,
    );
    expect(message).toBe('cannot use *** / *** / ***; connect *** to postgres://app:***@db/ab; redis://u:***@cache');
  });

  it('leaves a message without secrets as it is', () => {
    expect(bootFailureMessage(new Error('Invalid configuration: PORT="abc": PORT must not be greater than 65535'), env)).toBe(
      'Invalid configuration: PORT="abc": PORT must not be greater than 65535',
    );
    expect(bootFailureMessage('plain', env)).toBe('plain');
  });
});
