/** Injection token of the resolved secrets (see `resolveSecrets` in libs/config). */
export const SECRETS = Symbol('SECRETS');
