/**
 * Secret values at rest: AES-256-GCM with a random 96-bit nonce per value, in a versioned envelope
 * `enc:v1:<key id>:<base64url(nonce | ciphertext | tag)>` that names the key it was sealed under, so
 * that a rotation knows what to re-seal. Pure functions: the keys come in (lib/secrets/keyring.ts
 * finds them), nothing is read or written here. A value without the envelope is plain text an
 * older Berth stored; the start's pass seals it.
 */
import { createHash, randomBytes } from "node:crypto";
import { aeadOpen, aeadSeal } from "../crypto/aead";

export const ENVELOPE = "enc:v1:";
const KEY_BYTES = 32;

/** A 256-bit key and the id envelopes name it by (a hash of it: the id gives nothing of the key away). */
export interface SealingKey {
	id: string;
	key: Buffer;
}

/** The key new values are sealed under, and the earlier ones values may still be sealed under. */
export interface Keyring {
	current: SealingKey;
	previous: SealingKey[];
}

/** A sealed value that cannot be opened: its key is not in the keyring, or it was tampered with. The message holds no value. */
export class SealedValueError extends Error {
	constructor(message: string, readonly keyId?: string) {
		super(message);
		this.name = "SealedValueError";
	}
}

export function sealingKey(key: Buffer): SealingKey {
	if (key.length !== KEY_BYTES) throw new SealedValueError(`A sealing key is ${KEY_BYTES} bytes, not ${key.length}`);
	return { id: createHash("sha256").update("berth-sealing-key:").update(key).digest("hex").slice(0, 12), key };
}

/** A new random key, as the text a key file or SECRETS_KEY holds (base64). */
export function newKeyText(): string {
	return randomBytes(KEY_BYTES).toString("base64");
}

/**
 * A key from its text: 32 bytes in base64 (`openssl rand -base64 32`) or 64 hex digits. `name`
 * (SECRETS_KEY, a file) is what the error names; the text itself never appears in it.
 */
export function parseKey(text: string, name: string): SealingKey {
	const t = text.trim();
	const bytes = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, "hex") : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, "base64") : undefined;
	if (!bytes || bytes.length !== KEY_BYTES) throw new SealedValueError(`${name} must be a 32-byte key, in base64 (openssl rand -base64 32) or as 64 hex digits`);
	return sealingKey(bytes);
}

export function isSealed(value: unknown): value is string {
	return typeof value === "string" && value.startsWith(ENVELOPE);
}

/** The id of the key a sealed value names; undefined for a plain one. */
export function sealedKeyId(value: string): string | undefined {
	if (!isSealed(value)) return undefined;
	const rest = value.slice(ENVELOPE.length);
	const colon = rest.indexOf(":");
	return colon > 0 ? rest.slice(0, colon) : undefined;
}

export function seal(plain: string, key: SealingKey): string {
	return `${ENVELOPE}${key.id}:${aeadSeal(key.key, Buffer.from(plain, "utf8")).toString("base64url")}`;
}

/** The key of the ring a sealed value names; a SealedValueError when the ring has none of that id. */
function keyFor(ring: Keyring, keyId: string | undefined): SealingKey {
	const key = [ring.current, ...ring.previous].find(k => k.id === keyId);
	if (!key) throw new SealedValueError(`A secret value is sealed under key ${keyId ?? "(none)"}, which is not SECRETS_KEY or SECRETS_KEY_PREVIOUS`, keyId);
	return key;
}

/** The plain text of a sealed value. */
export function open(sealed: string, ring: Keyring): string {
	const keyId = sealedKeyId(sealed);
	const key = keyFor(ring, keyId);
	const body = Buffer.from(sealed.slice(ENVELOPE.length + key.id.length + 1), "base64url");
	const plain = aeadOpen(key.key, body);
	if (!plain) throw new SealedValueError(`A secret value sealed under key ${key.id} does not authenticate: it was changed, cut short, or the key is not the one it was sealed with`, key.id);
	return plain.toString("utf8");
}

/** A stored value as it reads: a sealed one opened, a plain one (stored by an older Berth) as it is. */
export function reveal(stored: string, ring: Keyring): string {
	return isSealed(stored) ? open(stored, ring) : stored;
}

/**
 * What a stored value should become: sealed under the current key when it is plain or sealed under
 * a previous one; undefined when it already is. A SealedValueError when its key is unknown.
 */
export function resealed(stored: string, ring: Keyring): string | undefined {
	if (isSealed(stored) && sealedKeyId(stored) === ring.current.id) return undefined;
	return seal(reveal(stored, ring), ring.current);
}

/**
 * `doc` with each of `fields` that holds a string sealed under the current key (other values as
 * they are). Always sealed, even a value that looks sealed: a caller's value is never taken for an envelope.
 */
export function sealFields<T extends Record<string, unknown>>(doc: T, fields: readonly string[], ring: Keyring): T {
	const out: Record<string, unknown> = { ...doc };
	for (const f of fields) if (typeof out[f] === "string") out[f] = seal(out[f] as string, ring.current);
	return out as T;
}

/** `doc` with each of `fields` that holds a string revealed. */
export function openFields<T extends Record<string, unknown>>(doc: T, fields: readonly string[], ring: Keyring): T {
	const out: Record<string, unknown> = { ...doc };
	for (const f of fields) if (typeof out[f] === "string") out[f] = reveal(out[f] as string, ring);
	return out as T;
}
