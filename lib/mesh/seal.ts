/**
 * Sealing of the mesh's packets with MESH_SECRET: AES-256-GCM, a fresh random 96-bit nonce per
 * packet, and the packet's type as associated data (a sealed response cannot be passed off as a
 * request). Pure functions; lib/mesh/middleware.ts puts them on Moleculer's transmit path.
 *
 * A sealed packet is `version (1 byte) | nonce (12) | ciphertext | tag (16)`.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;
/** The smallest packet that can be a sealed one: header and tag around an empty plaintext. */
export const MIN_SEALED_BYTES = HEADER_BYTES + TAG_BYTES;

/** A fixed context: the same secret used elsewhere (another program, another Berth key) gives another key. */
const KEY_CONTEXT = "berth.mesh.packets.v1";

/** The 256-bit packet key for a secret. scrypt, so a guessable secret costs a guesser memory and time. */
export function deriveMeshKey(secret: string): Buffer {
	if (!secret) throw new Error("MESH_SECRET is empty");
	return scryptSync(secret, KEY_CONTEXT, 32, { N: 2 ** 14, r: 8, p: 1 });
}

/** Encrypts and authenticates one packet; `type` (REQ, RES, INFO, …) is bound to it, not hidden. */
export function sealPacket(key: Buffer, plaintext: Buffer, type: string): Buffer {
	const nonce = randomBytes(NONCE_BYTES);
	const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
	cipher.setAAD(Buffer.from(type, "utf8"));
	const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
	return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
}

/**
 * The plaintext of a sealed packet, or undefined when it is not one sealed with this key for this
 * type: tampered, truncated, sealed with another secret, not sealed at all, or of another version.
 */
export function openPacket(key: Buffer, sealed: Buffer, type: string): Buffer | undefined {
	if (sealed.length < MIN_SEALED_BYTES || sealed[0] !== VERSION) return undefined;
	const nonce = sealed.subarray(1, HEADER_BYTES);
	const tag = sealed.subarray(sealed.length - TAG_BYTES);
	try {
		const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
		decipher.setAAD(Buffer.from(type, "utf8"));
		decipher.setAuthTag(tag);
		return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
	} catch {
		return undefined;
	}
}
