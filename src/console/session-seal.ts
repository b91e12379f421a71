// Seals a console credential into the session cookie: AES-256-GCM under a key derived from the
// bootstrap admin token (every replica has it, so any replica opens the cookie; a new admin
// token ends every session), with the session's expiry inside. The credential never leaves sealed.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SessionSeal {
  private readonly key: Buffer;

  constructor(
    rootSecret: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', rootSecret, 'elumenta-gateway', 'console-session', 32));
  }

  seal(credential: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const plain = JSON.stringify({ credential, expires: this.now() + this.ttlMs });
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The credential in a sealed value, or null when it is missing, tampered with or expired. */
  open(value: string | undefined): string | null {
    if (!value) return null;
    const raw = Buffer.from(value, 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      const session = JSON.parse(plain.toString('utf8')) as { credential?: unknown; expires?: unknown };
      if (typeof session.credential !== 'string' || typeof session.expires !== 'number') return null;
      return session.expires > this.now() ? session.credential : null;
    } catch {
      return null;
    }
  }

  get ttlSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}
