/**
 * The JSON of a read's answer, made once per answer object, with a weak ETag of it. A list the
 * services serve from their query cache (mixins/db.mixin.ts's cachedViews) is the same object on
 * every request until a write replaces it, so its page is serialized once and hashed once; any
 * other answer is serialized as moleculer-web would have, and forgotten with the object.
 * Answers are read-only once returned: the query caches already share them between callers.
 */
import { createHash } from "node:crypto";

export interface SerializedBody {
	body: Buffer;
	etag: string;
}

const bodies = new WeakMap<object, SerializedBody>();

export const JSON_TYPE = "application/json; charset=utf-8";

/** Whether the gateway may answer `data` through serializedBody: a plain object or array, not a Buffer or a stream. */
export function isPlainAnswer(data: unknown): data is object {
	if (data === null || typeof data !== "object" || Buffer.isBuffer(data)) return false;
	if (typeof (data as { pipe?: unknown }).pipe === "function") return false;
	const proto = Object.getPrototypeOf(data);
	return Array.isArray(data) || proto === Object.prototype || proto === null;
}

export function serializedBody(data: object): SerializedBody {
	let hit = bodies.get(data);
	if (!hit) {
		const body = Buffer.from(JSON.stringify(data), "utf8");
		hit = { body, etag: `W/"${body.length.toString(16)}-${createHash("sha1").update(body).digest("base64url").slice(0, 27)}"` };
		bodies.set(data, hit);
	}
	return hit;
}
