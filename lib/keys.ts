import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { forbidden, invalidField } from "./errors";

/** API keys look like `berth_<12 hex id>_<43 base64url secret>`: the id finds the record, the hash proves it. */
export interface IssuedKey {
	key: string;
	prefix: string;
	hash: string;
}

export function hashKey(key: string): string {
	return createHash("sha256").update(key, "utf8").digest("hex");
}

export function issueKey(): IssuedKey {
	const prefix = randomBytes(6).toString("hex");
	const key = `berth_${prefix}_${randomBytes(32).toString("base64url")}`;
	return { key, prefix, hash: hashKey(key) };
}

/** The lookup prefix of a presented key, or undefined when it is not shaped like one of ours. */
export function prefixOf(key: string): string | undefined {
	return /^berth_([0-9a-f]{12})_[A-Za-z0-9_-]{20,}$/.exec(key)?.[1];
}

export function hashesMatch(a: string, b: string): boolean {
	const x = Buffer.from(a, "hex");
	const y = Buffer.from(b, "hex");
	return x.length === y.length && timingSafeEqual(x, y);
}

/** The key presented by a request: `Authorization: Bearer <key>`, raw `Authorization: <key>`, or `X-API-Key`. */
export function keyFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
	const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim();
	const apiKey = first(headers["x-api-key"]);
	if (apiKey) return apiKey;
	const auth = first(headers.authorization);
	if (!auth) return undefined;
	const bearer = /^Bearer\s+(.+)$/i.exec(auth);
	return bearer ? bearer[1].trim() : auth;
}

/** Who a key belongs to, as the gateway puts it in ctx.meta. */
export interface KeyIdentity {
	keyID: string;
	userID: string;
	roles: string[];
	namespaces?: string[];
	expiresAt?: string;
}

/**
 * The gateway's memory of keys it has checked, so a request does not cost a call to
 * `v1.keys.authenticate` (a store lookup) each time. Entries are keyed by the key's SHA-256 and
 * live `ttlMs`; `forget(keyID)` drops a revoked key at once, and an entry never outlives the key's
 * own expiry. Only valid keys are remembered, and at most `maxEntries` of them.
 */
export class IdentityCache {
	private readonly entries = new Map<string, { identity: KeyIdentity; until: number }>();

	constructor(
		private readonly ttlMs: number,
		private readonly maxEntries = 10_000,
		private readonly now: () => number = Date.now,
	) {}

	get(presented: string): KeyIdentity | undefined {
		if (this.ttlMs <= 0) return undefined;
		const hash = hashKey(presented);
		const entry = this.entries.get(hash);
		if (!entry) return undefined;
		if (entry.until > this.now()) return entry.identity;
		this.entries.delete(hash);
		return undefined;
	}

	set(presented: string, identity: KeyIdentity): void {
		if (this.ttlMs <= 0) return;
		const expires = identity.expiresAt ? Date.parse(identity.expiresAt) : Number.POSITIVE_INFINITY;
		const until = Math.min(this.now() + this.ttlMs, Number.isNaN(expires) ? 0 : expires);
		if (until <= this.now()) return;
		if (this.entries.size >= this.maxEntries) this.entries.clear();
		this.entries.set(hashKey(presented), { identity, until });
	}

	/** Drops every entry of one key (revoked), or all of them. */
	forget(keyID?: string): void {
		if (keyID === undefined) return this.entries.clear();
		for (const [hash, entry] of this.entries) if (entry.identity.keyID === keyID) this.entries.delete(hash);
	}
}

/** The narrowest confinement a new key may have: inside the creator's own, if it has one. */
/**
 * Whether a caller manages (sees, revokes) a key: its own, or any as an admin; and a caller whose
 * key is confined to namespaces only keys confined to some of those (never an unconfined one).
 */
export function mayManageKey(caller: { userID?: string; roles?: string[]; namespaces?: string[] }, key: { userID?: string; namespaces?: string[] }): boolean {
	const admin = Array.isArray(caller.roles) && caller.roles.includes("admin");
	if (!admin && key.userID !== caller.userID) return false;
	if (!caller.namespaces) return true;
	const scope = key.namespaces ?? [];
	return scope.length > 0 && scope.every(ns => caller.namespaces?.includes(ns));
}

export function confinementFor(requested: string[] | undefined, creator: string[] | undefined): string[] | undefined {
	if (!creator) return requested;
	if (!requested) return creator;
	const outside = requested.filter(ns => !creator.includes(ns));
	if (outside.length) throw forbidden(`This key is confined to ${creator.join(", ")}; it cannot grant ${outside.join(", ")}`);
	return requested;
}

/** A new key's expiry: the one asked for (in the future), never later than the creating key's. */
export function expiryFor(requested: Date | string | undefined, creatorExpiresAt: string | undefined, now = Date.now()): string | undefined {
	const asked = requested === undefined ? undefined : new Date(requested).getTime();
	if (asked !== undefined && asked <= now) throw invalidField("expiresAt", "expiresAt must be in the future", requested);
	const cap = creatorExpiresAt ? Date.parse(creatorExpiresAt) : undefined;
	const chosen = asked === undefined ? cap : cap === undefined ? asked : Math.min(asked, cap);
	return chosen === undefined ? undefined : new Date(chosen).toISOString();
}

/** Whether a stored key still works at `now`. */
export function isKeyUsable(key: { revokedAt?: string; expiresAt?: string }, now = Date.now()): boolean {
	if (key.revokedAt) return false;
	return !key.expiresAt || Date.parse(key.expiresAt) > now;
}
