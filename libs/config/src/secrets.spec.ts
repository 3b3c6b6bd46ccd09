import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEnvironment } from './environment';
import { resolveSecrets } from './secrets';

describe('resolveSecrets', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'ab-secrets-')), 'data', 'dev-secrets.json');

  it('generates missing development secrets once, keeps them private, and reads the same ones back', () => {
    const path = file();
    const first = resolveSecrets(validateEnvironment({}), path);
    expect(first.generated).toEqual(['MPARTICLE_INBOUND_TOKEN', 'ADMIN_TOKEN', 'ENCRYPTION_KEY']);
    expect(Buffer.from(first.secrets.ENCRYPTION_KEY, 'base64')).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const second = resolveSecrets(validateEnvironment({}), path);
    expect(second.generated).toEqual([]);
    expect(second.secrets).toEqual(first.secrets);
  });

  it('prefers the environment and generates only what is missing', () => {
    const path = file();
    const { secrets, generated } = resolveSecrets(validateEnvironment({ ADMIN_TOKEN: 'admin-token-from-env' }), path);
    expect(secrets.ADMIN_TOKEN).toBe('admin-token-from-env');
    expect(generated).toEqual(['MPARTICLE_INBOUND_TOKEN', 'ENCRYPTION_KEY']);
    expect(JSON.parse(readFileSync(path, 'utf8'))).not.toHaveProperty('ADMIN_TOKEN');
  });
});

describe('resolveSecrets and the process environment', () => {
  const saved = process.env['ENCRYPTION_KEY'];
  afterEach(() => {
    if (saved === undefined) delete process.env['ENCRYPTION_KEY'];
    else process.env['ENCRYPTION_KEY'] = saved;
  });

  it('sets ENCRYPTION_KEY from the development file when the environment has none (what the Redis names of API keys are keyed with)', () => {
    delete process.env['ENCRYPTION_KEY'];
    const { secrets } = resolveSecrets(validateEnvironment({}), join(mkdtempSync(join(tmpdir(), 'ab-secrets-')), 's.json'));
    expect(process.env['ENCRYPTION_KEY']).toBe(secrets.ENCRYPTION_KEY);
  });

  it('leaves a given ENCRYPTION_KEY as it is', () => {
    const given = Buffer.alloc(32, 5).toString('base64');
    process.env['ENCRYPTION_KEY'] = given;
    resolveSecrets(validateEnvironment({ ENCRYPTION_KEY: given }), join(mkdtempSync(join(tmpdir(), 'ab-secrets-')), 's.json'));
    expect(process.env['ENCRYPTION_KEY']).toBe(given);
  });
});
