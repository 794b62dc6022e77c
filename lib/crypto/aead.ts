/**
 * AES-256-GCM with a fresh random 96-bit nonce per message, the one cipher construction Berth uses
 * (the mesh's packets, secret values at rest). A sealed message is `nonce (12) | ciphertext | tag (16)`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** The smallest sealed message: nonce and tag around an empty plaintext. */
export const MIN_AEAD_BYTES = NONCE_BYTES + TAG_BYTES;

/** Encrypts and authenticates `plaintext`; `aad` is bound to it (authenticated, not hidden). */
export function aeadSeal(key: Buffer, plaintext: Buffer, aad?: Buffer): Buffer {
	const nonce = randomBytes(NONCE_BYTES);
	const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
	if (aad) cipher.setAAD(aad);
	return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or undefined when `sealed` was not sealed with this key and `aad`: tampered, truncated or foreign. */
export function aeadOpen(key: Buffer, sealed: Buffer, aad?: Buffer): Buffer | undefined {
	if (sealed.length < MIN_AEAD_BYTES) return undefined;
	try {
		const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
		if (aad) decipher.setAAD(aad);
		decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
		return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
	} catch {
		return undefined;
	}
}
