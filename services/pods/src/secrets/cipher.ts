/**
 * Where each of a pod's ciphertexts belongs (the kit's AES-256-GCM binds a value to its context as additional
 * authenticated data): a secret copied to another pod or another name fails to decrypt instead of leaking there.
 */
export { decrypt, encrypt, type Keyring } from '@agentpod/kit';

export const secretContext = (tenantId: string, podId: string, name: string): string =>
  `${tenantId}/${podId}/secret/${name}`;
export const tokenContext = (tenantId: string, podId: string): string => `${tenantId}/${podId}/access-token`;
