// Team keys: `nb_gw_` + 32 random bytes in base64url (256 bits), so client code that checks
// the upstream's `nb_` prefix keeps working. Only the SHA-256 of a key is ever stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors } from '../errors.js';

export const TEAM_KEY_PREFIX = 'nb_gw_';

export function generateTeamKey(): string {
  return TEAM_KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function generateKeyId(): string {
  return 'key_' + randomBytes(8).toString('hex');
}

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Pulls the bearer token out of an Authorization header (case-insensitive scheme). */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/**
 * Refuses a request that carries more than one Authorization header (from Node's rawHeaders:
 * name, value, name, value...). Node keeps the first and drops the others, so a proxy or log
 * in front that reads another would see a different credential than the gateway uses.
 */
export function assertOneAuthorization(rawHeaders: string[]): void {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === 13 && rawHeaders[i].toLowerCase() === 'authorization' && ++seen > 1) {
      throw errors.badRequest('Send one Authorization header', { header: 'authorization' });
    }
  }
}

/** Compares two secrets in time that does not depend on where they differ. */
export function safeEqual(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison also hides the expected length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}
