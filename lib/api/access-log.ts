import { randomUUID } from "node:crypto";

/**
 * One access-log line per request (at info): what was asked, the answer, how long it took, and whose
 * key, by its public id, never the key. The path goes without its query string (tokens travel there).
 */
export interface AccessEntry {
	method: string;
	path: string;
	status: number;
	ms: number;
	/** The key's public id, or "-" for a call without a valid key. */
	key: string;
	client: string;
	requestID: string;
	/** The client went away before the answer was complete (a closed stream, a dropped connection). */
	aborted?: boolean;
}

/** What a caller may choose as its request id: short, and nothing a log line could be split or faked with. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id of a call: the caller's X-Request-ID (or X-Correlation-ID) when it is well formed, a new one otherwise. */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
	const given = [headers["x-request-id"] ?? headers["x-correlation-id"]].flat()[0];
	return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The URL's path alone, cut to a length a log line can hold. */
export function pathOf(url: string | undefined): string {
	const p = (url ?? "/").split("?")[0] ?? "/";
	return p.length > 512 ? `${p.slice(0, 512)}…` : p;
}

/** Health probes that pass come every few seconds from every prober: at debug, so info stays readable. */
export function accessLogLevel(entry: AccessEntry): "info" | "debug" {
	return entry.path.startsWith("/health/") && entry.status < 400 ? "debug" : "info";
}

/** The log call's arguments: a structured record for LOG_FORMAT=json, one readable line otherwise. */
export function accessLogArgs(entry: AccessEntry, format: "text" | "json"): unknown[] {
	if (format === "json") return [{ ...entry }, "access"];
	const { method, path, status, ms, key, client, requestID, aborted } = entry;
	return [`${method} ${path} ${status} ${ms}ms key=${key} client=${client} req=${requestID}${aborted ? " aborted" : ""}`];
}
