import { createHash } from "node:crypto";

/**
 * Whether a live object already holds everything a desired manifest sets: every field of
 * `desired` is in `live` with the same value (lists element by element, same length). Fields
 * other managers or the apiserver added are ignored, as server-side apply would leave them. A
 * value the apiserver normalizes ("0.5" cpu becomes "500m") reads as a difference: the caller
 * then applies, which is what it did before asking, so a false "differs" costs an apply and
 * never loses one.
 */
export function containsDesired(desired: unknown, live: unknown): boolean {
	if (desired === undefined) return true;
	if (desired === null) return live === null || live === undefined;
	if (Array.isArray(desired)) return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => containsDesired(d, live[i]));
	if (typeof desired === "object") {
		if (!live || typeof live !== "object" || Array.isArray(live)) return false;
		const have = live as Record<string, unknown>;
		return Object.entries(desired as Record<string, unknown>).every(([key, value]) => containsDesired(value, have[key]));
	}
	return desired === live;
}

/** A manifest without the fields list items of the apiserver do not carry (kind, apiVersion). */
export function bodyOf(manifest: { kind?: string; apiVersion?: string }): Record<string, unknown> {
	const { kind: _kind, apiVersion: _apiVersion, ...body } = manifest as Record<string, unknown>;
	return body;
}

/**
 * A short digest of a set of manifests, independent of key order. Stored with the entity once
 * they are applied: the same digest later means "nothing asked for has changed since", so a
 * field that was dropped from the manifests (which only an apply removes) is never missed.
 */
export function manifestsFingerprint(manifests: readonly unknown[]): string {
	return createHash("sha256").update(canonicalJson(manifests)).digest("base64url").slice(0, 22);
}

function canonicalJson(value: unknown): string {
	if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
	const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
	entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
