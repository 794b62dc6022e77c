import { Errors } from "moleculer";

/** Stable error `type` strings: clients branch on these, so they never change meaning. */
export const ErrorTypes = {
	NotFound: "NOT_FOUND",
	Conflict: "CONFLICT",
	Invalid: "VALIDATION_ERROR",
	Unauthorized: "UNAUTHORIZED",
	Forbidden: "FORBIDDEN",
	QuotaExceeded: "QUOTA_EXCEEDED",
	/** A host another Ingress in the cluster (or another deployment) already serves (lib/namespaces/domains.ts). */
	HostTaken: "HOST_TAKEN",
	ClusterInvalid: "K8S_INVALID",
	ClusterUnavailable: "K8S_UNAVAILABLE",
	MetricsUnavailable: "METRICS_UNAVAILABLE",
	PayloadTooLarge: "PAYLOAD_TOO_LARGE",
	RateLimited: "RATE_LIMITED",
	/** The caller's key already holds MAX_STREAMS_PER_KEY open streams and follows on this node. */
	TooManyStreams: "TOO_MANY_STREAMS",
	/** A leader-only write refused by the fence: this node no longer (provably) holds the controller Lease. */
	NotLeader: "NOT_LEADER",
	/** Image builds are not configured on this Berth (BUILD_REGISTRY, BUILD_REGISTRY_SECRET). */
	BuildsDisabled: "BUILDS_DISABLED",
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

/** One offending field, in fastest-validator's shape so REST clients see one format. */
export interface FieldError {
	field: string;
	message: string;
	type?: string;
	actual?: unknown;
}

export function notFound(what: string, id?: unknown): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(`${what} not found`, 404, ErrorTypes.NotFound, { id });
}

/** The value, or notFound(what, id) when there is none: `return found(await find(name), "Image", name)`. */
export function found<T>(value: T | null | undefined, what: string, id?: unknown): T {
	if (!value) throw notFound(what, id);
	return value;
}

export function conflict(message: string, data?: unknown): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, 409, ErrorTypes.Conflict, data);
}

/** 409 HOST_TAKEN: `data.field` the field of the host, `data.host` the host; whose it is stays unsaid. */
export function hostTaken(message: string, data: { field: string; host: string }): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, 409, ErrorTypes.HostTaken, data);
}

/** A 422 naming the fields at fault, like the validator's own errors. */
export function invalid(message: string, fields: FieldError[]): Errors.ValidationError {
	return new Errors.ValidationError(message, ErrorTypes.Invalid, fields);
}

export function invalidField(field: string, message: string, actual?: unknown): Errors.ValidationError {
	return invalid(message, [{ field, message, type: "invalid", actual }]);
}

export function unauthorized(message = "Missing or invalid API key"): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, 401, ErrorTypes.Unauthorized);
}

export function forbidden(message: string): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, 403, ErrorTypes.Forbidden);
}

export function quotaExceeded(message: string, data: unknown): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, 422, ErrorTypes.QuotaExceeded, data);
}

export function clusterUnavailable(message: string, data?: unknown): Errors.MoleculerRetryableError {
	return new Errors.MoleculerRetryableError(message, 503, ErrorTypes.ClusterUnavailable, data);
}

/** The operator has not set builds up (or their registry credentials are missing): 503, not the caller's fault. */
export function buildsDisabled(message: string): Errors.MoleculerError {
	return new Errors.MoleculerError(message, 503, ErrorTypes.BuildsDisabled);
}

export function metricsUnavailable(): Errors.MoleculerError {
	return new Errors.MoleculerError("The metrics API (metrics.k8s.io) is not available in this cluster", 501, ErrorTypes.MetricsUnavailable);
}

/**
 * For actions that create something: the broker's retry (moleculer.config.ts) re-sends a call that
 * timed out or whose node went away, and the second attempt would find what the first one stored
 * and answer 409 to a create that succeeded. These are sent once; the caller sees the 5xx and may
 * ask again, knowing that a 409 then can be its own.
 */
export const NOT_RETRIED = { enabled: false } as const;
