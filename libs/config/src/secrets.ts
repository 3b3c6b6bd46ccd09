import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Environment, SECRET_KEYS, SecretKey } from './environment';

export type Secrets = Record<SecretKey, string>;

/** Where development keeps the secrets it generated, so a restart can still read what it encrypted. */
export const DEV_SECRETS_FILE = 'data/dev-secrets.json';

function generate(key: SecretKey): string {
  return key === 'ENCRYPTION_KEY' ? randomBytes(32).toString('base64') : randomBytes(24).toString('base64url');
}

/**
 * The three secrets, from the environment. In production they are required (validateEnvironment already
 * refused to start without them). Elsewhere a missing one is generated once and kept in
 * `data/dev-secrets.json` (mode 0600); `generated` names those created by this call, so the caller can
 * print them at the first start. An ENCRYPTION_KEY from that file is also set as this process's
 * `ENCRYPTION_KEY` variable, for what derives keys from it there (the keyed Redis names of API keys,
 * `apiKeyFingerprint` in iterable-client), so development keys them like production.
 */
export function resolveSecrets(env: Environment, file = DEV_SECRETS_FILE): { secrets: Secrets; generated: SecretKey[] } {
  const resolved = resolveAll(env, file);
  if (!process.env['ENCRYPTION_KEY']) process.env['ENCRYPTION_KEY'] = resolved.secrets.ENCRYPTION_KEY;
  return resolved;
}

function resolveAll(env: Environment, file: string): { secrets: Secrets; generated: SecretKey[] } {
  const given = Object.fromEntries(SECRET_KEYS.filter((k) => env[k] !== undefined).map((k) => [k, env[k] as string])) as Partial<Secrets>;
  if (SECRET_KEYS.every((k) => given[k] !== undefined)) return { secrets: given as Secrets, generated: [] };
  if (env.NODE_ENV === 'production') throw new Error(`missing secrets: ${SECRET_KEYS.filter((k) => !given[k]).join(', ')}`);

  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  const stored = readStored(path);
  const generated: SecretKey[] = [];
  for (const key of SECRET_KEYS) {
    if (given[key] === undefined && stored[key] === undefined) {
      stored[key] = generate(key);
      generated.push(key);
    }
  }
  if (generated.length > 0) {
    try {
      // 'wx' when the file is new: of two processes starting together, one writes and the other re-reads.
      writeFileSync(path, JSON.stringify(stored, null, 2), { mode: 0o600, flag: Object.keys(stored).length === generated.length ? 'wx' : 'w' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return resolveAll(env, file);
    }
  }
  return { secrets: { ...stored, ...given } as Secrets, generated };
}

function readStored(path: string): Partial<Secrets> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<Secrets>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${path} is not readable JSON: delete it to generate new development secrets`, { cause: error });
  }
}

/**
 * At the first development start, whichever process generated the secrets prints the two tokens an
 * operator needs (they stay in data/dev-secrets.json; the encryption key is never printed).
 */
export function announceGeneratedSecrets(log: (message: string) => void, generated: SecretKey[], secrets: Secrets): void {
  if (generated.length === 0) return;
  log(
    `generated development secrets (kept in ${DEV_SECRETS_FILE}): ` +
      `ADMIN_TOKEN=${secrets.ADMIN_TOKEN} MPARTICLE_INBOUND_TOKEN=${secrets.MPARTICLE_INBOUND_TOKEN}`,
  );
}

/** The development secrets kept in `file`, without generating any (for commands such as `npm run keys:rotate`). */
export function storedDevelopmentSecrets(file = DEV_SECRETS_FILE): Partial<Secrets> {
  return readStored(resolve(file));
}
