/**
 * Subjects' names and ID numbers are stored encrypted (AES-256-GCM, random 96-bit IV, stored as
 * iv ‖ tag ‖ ciphertext), so a plain database dump shows neither. ID numbers also get a keyed hash
 * (HMAC-SHA-256) for exact look-up. The key comes from PII_KEY, or a key file under DATA_DIR.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class PiiCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('PII key must be 32 bytes');
  }

  encrypt(plain: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  decrypt(blob: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, blob.subarray(0, 12));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Keyed hash for equality look-ups; normalised so `x` and `X` check digits match. */
  lookupHash(value: string): string {
    return createHmac('sha256', this.key).update(value.trim().toUpperCase()).digest('hex');
  }
}

/** The configured key, or one kept in DATA_DIR/pii.key (created on first start, mode 0600). */
export async function loadPiiKey(configured: Buffer | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return configured;
  const file = path.resolve(dataDir, 'pii.key');
  try {
    const k = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (k.length === 32) return k;
  } catch {
    // first start: fall through and create it
  }
  await mkdir(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' }).catch(async () => {
    // Another process created it first: use theirs.
  });
  await chmod(file, 0o600).catch(() => {});
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
}
