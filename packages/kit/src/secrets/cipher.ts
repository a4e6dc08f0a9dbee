import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError, type Encrypted } from '@agentpod/contracts';

/**
 * AES-256-GCM for secret values and pod access tokens. Each value gets a random 96-bit IV and is bound to where
 * it belongs (its "context", e.g. `acme/web/secret/API_KEY`) as additional authenticated data, so a ciphertext
 * copied to another pod or another name fails to decrypt instead of leaking there.
 */

/** The keys by version; `current` encrypts, every listed version decrypts (a rotated key keeps old data readable). */
export type Keyring = { current: number; keys: ReadonlyMap<number, Buffer> };

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

export function keyringOf(key: Buffer, version = 1): Keyring {
  if (key.length !== 32) throw new Error(`a secrets key is 32 bytes, not ${key.length}`);
  return { current: version, keys: new Map([[version, key]]) };
}

export function encrypt(keyring: Keyring, plaintext: string, context: string): Encrypted {
  const key = keyring.keys.get(keyring.current);
  if (!key) throw new Error(`the secrets keyring has no key version ${keyring.current}`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    v: keyring.current,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** The plaintext; `internal` when the key is unknown or the value was altered (never a partial or wrong value). */
export function decrypt(keyring: Keyring, value: Encrypted, context: string): string {
  const key = keyring.keys.get(value.v);
  if (!key) throw new AppError('internal', `no secrets key of version ${value.v} is configured`);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(value.iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(value.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(value.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new AppError('internal', `a stored secret (${context}) does not decrypt: wrong key or altered data`, {
      cause: error,
    });
  }
}
