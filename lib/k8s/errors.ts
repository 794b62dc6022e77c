import { Errors } from "moleculer";
import { ErrorTypes, type FieldError } from "../errors";

interface StatusBody {
	message?: string;
	reason?: string;
	details?: { name?: string; kind?: string; causes?: { field?: string; message?: string; reason?: string }[] };
}

function parseBody(body: unknown): StatusBody {
	if (typeof body === "string") {
		try {
			return JSON.parse(body) as StatusBody;
		} catch {
			return { message: body };
		}
	}
	return (body ?? {}) as StatusBody;
}

const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);

function isNetworkError(err: unknown): boolean {
	const e = err as { code?: unknown; cause?: { code?: unknown }; name?: string; type?: string };
	const code = typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : undefined;
	return (code !== undefined && networkCodes.has(code)) || e?.name === "FetchError" || e?.type === "system" || e?.name === "AbortError";
}

/** The HTTP status of a Kubernetes API failure, or undefined when the error did not come from the apiserver. */
export function statusOf(err: unknown): number | undefined {
	const code = (err as { code?: unknown })?.code;
	return typeof code === "number" && code >= 100 && code < 600 ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
	return statusOf(err) === 404;
}

/** A create the apiserver refused because an object of that name exists (as toMoleculerError maps it). */
export function isAlreadyExists(err: unknown): boolean {
	const e = err as { code?: unknown; data?: { reason?: unknown } };
	return e?.code === 409 && e.data?.reason === "AlreadyExists";
}

/**
 * A 422 that is about the apiserver, not the object: right after it starts, its Service IP and
 * port allocators refuse every Service with "allocator not ready" until they have synced.
 */
function isServerNotReady(body: StatusBody): boolean {
	const texts = [body.message, ...(body.details?.causes ?? []).map(c => c.message)];
	return texts.some(t => typeof t === "string" && /allocator not ready/i.test(t));
}

/**
 * The one place where Kubernetes failures become mesh errors: 404 not found, 409 conflict,
 * 422 invalid (with the apiserver's causes as fields), 429/5xx/network retryable.
 */
export function toMoleculerError(err: unknown, context = "Kubernetes request"): Error {
	if (err instanceof Errors.MoleculerError) return err;
	const status = statusOf(err);
	if (status === undefined) {
		if (isNetworkError(err)) return new Errors.MoleculerRetryableError(`${context}: cluster unreachable (${(err as Error).message})`, 503, ErrorTypes.ClusterUnavailable);
		return err instanceof Error ? err : new Error(String(err));
	}
	const body = parseBody((err as { body?: unknown }).body);
	const message = body.message ?? `${context} failed with HTTP ${status}`;
	switch (status) {
		case 404:
			return new Errors.MoleculerClientError(message, 404, ErrorTypes.NotFound, { kind: body.details?.kind, name: body.details?.name });
		case 409:
			return new Errors.MoleculerClientError(message, 409, ErrorTypes.Conflict, { kind: body.details?.kind, name: body.details?.name, reason: body.reason });
		case 400:
		case 422: {
			if (isServerNotReady(body)) return new Errors.MoleculerRetryableError(`${context}: the apiserver is not ready yet (${message})`, 503, ErrorTypes.ClusterUnavailable, { status });
			const fields: FieldError[] = (body.details?.causes ?? []).map(c => ({ field: c.field ?? "", message: c.message ?? "", type: c.reason }));
			return new Errors.MoleculerClientError(message, 422, ErrorTypes.ClusterInvalid, fields);
		}
		case 403:
			return new Errors.MoleculerError(`${context}: Berth's cluster credentials lack permission: ${message}`, 502, "K8S_FORBIDDEN");
		default:
			if (status === 429 || status >= 500) return new Errors.MoleculerRetryableError(message, 503, ErrorTypes.ClusterUnavailable, { status });
			return new Errors.MoleculerError(message, 502, "K8S_ERROR", { status });
	}
}
