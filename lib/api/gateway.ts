import type { ApiSettingsSchema } from "moleculer-web";
import { ErrorTypes } from "../errors";

/** The contract every REST answer shares (docs/api/README.md). */

/** The body of every error response; `code` is the HTTP status, `type` a stable string constant. */
export interface ErrorBody {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}

export interface RateLimitSettings {
	/** Requests per key (or per client address without a valid key) in one window. */
	limit: number;
	windowMs: number;
}

/** The gateway's tunables from the environment (docs/api/README.md, "Limits and CORS"). */
export function gatewayEnv(env: NodeJS.ProcessEnv = process.env): { bodyLimit: string; rateLimit: RateLimitSettings; corsOrigins: string[]; authCacheMs: number; trustedProxies: string[] } {
	const limit = Number(env.RATE_LIMIT);
	const windowSeconds = Number(env.RATE_LIMIT_WINDOW);
	const authCacheSeconds = Number(env.AUTH_CACHE_SECONDS);
	return {
		authCacheMs: (Number.isFinite(authCacheSeconds) && authCacheSeconds >= 0 && env.AUTH_CACHE_SECONDS !== "" ? authCacheSeconds : 5) * 1000,
		bodyLimit: env.BODY_LIMIT || "1mb",
		rateLimit: {
			limit: Number.isInteger(limit) && limit > 0 ? limit : 600,
			windowMs: (Number.isInteger(windowSeconds) && windowSeconds > 0 ? windowSeconds : 60) * 1000,
		},
		corsOrigins: (env.CORS_ORIGINS ?? "").split(",").map(s => s.trim()).filter(Boolean),
		trustedProxies: (env.TRUSTED_PROXIES ?? "").split(",").map(s => s.trim()).filter(Boolean),
	};
}

/** CORS for the listed origins ("*" for any); none listed: no CORS headers, browsers stay same-origin. */
export function corsSettings(origins: string[]): ApiSettingsSchema["cors"] {
	if (!origins.length) return undefined;
	return {
		origin: origins.includes("*") ? "*" : origins,
		methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
		allowedHeaders: ["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
		exposedHeaders: ["Retry-After", "X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-Total-Count"],
		credentials: false,
		maxAge: 3600,
	};
}

/** Body-parser failures carry their own `type`s; clients get Berth's stable ones. */
const bodyErrorTypes: Record<string, string> = {
	"entity.too.large": ErrorTypes.PayloadTooLarge,
	"parameters.too.many": ErrorTypes.PayloadTooLarge,
	"entity.parse.failed": "INVALID_JSON",
	"entity.verify.failed": "INVALID_BODY",
	"request.size.invalid": "INVALID_BODY",
	"request.aborted": "INVALID_BODY",
	"encoding.unsupported": "UNSUPPORTED_ENCODING",
	"charset.unsupported": "UNSUPPORTED_ENCODING",
};

/** When an error brings no `type`, the status decides it. */
const typeByStatus: Record<number, string> = {
	400: "BAD_REQUEST",
	401: ErrorTypes.Unauthorized,
	403: ErrorTypes.Forbidden,
	404: ErrorTypes.NotFound,
	405: "METHOD_NOT_ALLOWED",
	409: ErrorTypes.Conflict,
	413: ErrorTypes.PayloadTooLarge,
	415: "UNSUPPORTED_MEDIA_TYPE",
	422: ErrorTypes.Invalid,
	429: ErrorTypes.RateLimited,
	500: "INTERNAL_ERROR",
	501: "NOT_IMPLEMENTED",
	502: "BAD_GATEWAY",
	503: "SERVICE_UNAVAILABLE",
	504: "TIMEOUT",
};

/** Errors' types that name mesh internals; clients see the plain meaning. */
const renamedTypes: Record<string, string> = {
	SERVICE_NOT_FOUND: ErrorTypes.NotFound,
	NO_TOKEN: ErrorTypes.Unauthorized,
	INVALID_TOKEN: ErrorTypes.Unauthorized,
};

/** The body of every error response: `{name, message, code, type, data}`, `code` being the HTTP status. */
export function errorBody(err: Error & { code?: unknown; type?: unknown; data?: unknown }, status: number, bodyLimit: string): ErrorBody {
	const raw = typeof err.type === "string" ? err.type : undefined;
	const bodyType = raw ? bodyErrorTypes[raw] : undefined;
	if (bodyType) {
		const message = status === 413 ? `Request body larger than ${bodyLimit}` : err.message;
		return { name: status === 413 ? "PayloadTooLarge" : "BadRequestError", message, code: status, type: bodyType };
	}
	const type = (raw && (renamedTypes[raw] ?? raw)) || typeByStatus[status] || (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST");
	// A mesh lookup failure's data names internal actions; a client only needs to know it was not found.
	const data = raw === "SERVICE_NOT_FOUND" ? undefined : err.data;
	return { name: err.name || "Error", message: err.message || "Error", code: status, type, ...(data !== undefined ? { data } : {}) };
}

/** Drops own `__proto__` keys (JSON.parse makes them) at any depth, before anything merges the data. */
function dropProtoKeys(value: unknown, depth = 0): void {
	if (!value || typeof value !== "object" || depth > 32) return;
	if (Object.prototype.hasOwnProperty.call(value, "__proto__")) delete (value as Record<string, unknown>)["__proto__"];
	for (const v of Object.values(value)) dropProtoKeys(v, depth + 1);
}

/**
 * Makes a request's params plain data. moleculer-web merges the body into the params with
 * Object.assign, so a JSON body `{"__proto__": {"scope": false}}` would give them a prototype whose
 * `scope` reads as the mesh-internal membership opt-out; `scope` itself never comes from outside.
 */
export function sanitizeParams(params: Record<string, unknown>): void {
	if (Object.getPrototypeOf(params) !== Object.prototype) Object.setPrototypeOf(params, Object.prototype);
	dropProtoKeys(params);
	delete params.scope;
}
