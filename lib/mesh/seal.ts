/**
 * Sealing of the mesh's packets with MESH_SECRET: AES-256-GCM, a fresh random 96-bit nonce per
 * packet, and the packet's type as associated data (a sealed response cannot be passed off as a
 * request). Pure functions; lib/mesh/middleware.ts puts them on Moleculer's transmit path.
 *
 * A sealed packet is `version (1 byte) | nonce (12) | ciphertext | tag (16)`.
 */
import { scryptSync } from "node:crypto";
import { aeadOpen, aeadSeal, MIN_AEAD_BYTES } from "../crypto/aead";

const VERSION = 1;
/** The smallest packet that can be a sealed one: the version byte, then the AEAD's nonce and tag around an empty plaintext. */
export const MIN_SEALED_BYTES = 1 + MIN_AEAD_BYTES;

/** A fixed context: the same secret used elsewhere (another program, another Berth key) gives another key. */
const KEY_CONTEXT = "berth.mesh.packets.v1";

/** The 256-bit packet key for a secret. scrypt, so a guessable secret costs a guesser memory and time. */
export function deriveMeshKey(secret: string): Buffer {
	if (!secret) throw new Error("MESH_SECRET is empty");
	return scryptSync(secret, KEY_CONTEXT, 32, { N: 2 ** 14, r: 8, p: 1 });
}

/** Encrypts and authenticates one packet; `type` (REQ, RES, INFO, …) is bound to it, not hidden. */
export function sealPacket(key: Buffer, plaintext: Buffer, type: string): Buffer {
	return Buffer.concat([Buffer.from([VERSION]), aeadSeal(key, plaintext, Buffer.from(type, "utf8"))]);
}

/**
 * The plaintext of a sealed packet, or undefined when it is not one sealed with this key for this
 * type: tampered, truncated, sealed with another secret, not sealed at all, or of another version.
 */
export function openPacket(key: Buffer, sealed: Buffer, type: string): Buffer | undefined {
	if (sealed.length < MIN_SEALED_BYTES || sealed[0] !== VERSION) return undefined;
	return aeadOpen(key, sealed.subarray(1), Buffer.from(type, "utf8"));
}
