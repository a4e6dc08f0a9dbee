import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { type Encrypted, Encrypted as EncryptedSchema } from '@agentpod/contracts';
import { keyringOf } from '@agentpod/kit';
import { refusedWith, thrown } from '../testing/given.ts';
import { decrypt, encrypt, secretContext } from './cipher.ts';

const keyring = keyringOf(randomBytes(32));
const here = secretContext('acme', 'web', 'API_KEY');

/** Flips one bit of a base64 field. */
function flip(value: Encrypted, field: 'iv' | 'tag' | 'data'): Encrypted {
  const bytes = Buffer.from(value[field], 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  return { ...value, [field]: bytes.toString('base64') };
}

describe('secrets encryption (AES-256-GCM)', () => {
  test('round trip, with a fresh 96-bit IV each time and the key version recorded', () => {
    const text = 'sk-live-1234 ünïcødé ✓';
    const a = encrypt(keyring, text, here);
    const b = encrypt(keyring, text, here);
    assert.equal(decrypt(keyring, a, here), text);
    assert.equal(EncryptedSchema.parse(a).v, 1);
    assert.equal(Buffer.from(a.iv, 'base64').length, 12);
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.data, b.data);
    assert.ok(!JSON.stringify(a).includes('sk-live'));
    assert.equal(decrypt(keyring, encrypt(keyring, '', here), here), '');
  });

  test('any altered bit of IV, tag or data is detected, never decrypted to something else', () => {
    const sealed = encrypt(keyring, 'the secret', here);
    for (const field of ['iv', 'tag', 'data'] as const) {
      refusedWith(
        thrown(() => decrypt(keyring, flip(sealed, field), here)),
        'internal',
        /wrong key or altered data/,
      );
    }
  });

  test('a ciphertext moved to another pod or another name does not decrypt', () => {
    const sealed = encrypt(keyring, 'the secret', here);
    for (const elsewhere of [secretContext('acme', 'api', 'API_KEY'), secretContext('acme', 'web', 'OTHER')]) {
      refusedWith(
        thrown(() => decrypt(keyring, sealed, elsewhere)),
        'internal',
      );
    }
  });

  test('another key, or an unknown key version, does not decrypt', () => {
    const sealed = encrypt(keyring, 'the secret', here);
    refusedWith(
      thrown(() => decrypt(keyringOf(randomBytes(32)), sealed, here)),
      'internal',
    );
    refusedWith(
      thrown(() => decrypt(keyring, { ...sealed, v: 2 }, here)),
      'internal',
      /version 2/,
    );
  });

  test('a key must be 32 bytes', () => {
    assert.throws(() => keyringOf(randomBytes(16)), /32 bytes/);
  });
});
