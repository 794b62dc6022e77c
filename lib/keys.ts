import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

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
