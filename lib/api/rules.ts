/**
 * The rules every contract shares: Kubernetes names, paths, ids, counts and pages. Each service's
 * params in lib/api/<service>.ts build on these, so a rule about a name lives in one place.
 */

/** A DNS-1035 label: a Service or Deployment name (starts with a letter). */
export const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 label: a namespace, volume or port name. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: most object names (ConfigMaps, Secrets, claims). */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A host name of two labels or more, optionally a wildcard (`*.example.com`). */
export const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
/** A host name of one label or more, optionally a wildcard. */
export const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An absolute path inside a container (no NUL, no ':' which the kubelet refuses). */
export const ABSOLUTE_PATH = /^\/[^\0:]*$/;
/** A key of a ConfigMap's or Secret's data. */
export const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
/** A shell-safe environment variable name (what envs and adoption accept). */
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An environment variable name as Kubernetes accepts it (jobs and specs: dots and dashes too). */
export const K8S_ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** An image reference as the container runtime takes it: registry/repo:tag or …@sha256:…. */
export const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;

/** An entity id in a path or a body. */
export const idRule = { type: "string", min: 1, max: 64 } as const;
/** An entity by id or by name (namespaces, deployments, images). */
export const refRule = { type: "string", min: 1, max: 128 } as const;
export const optionalRefRule = { ...refRule, optional: true } as const;
/** A user id (owner, member). */
export const userRule = { type: "string", min: 1, max: 128 } as const;

/** A whole number in [min, max], from a query string too. */
export function integerRule(min: number, max?: number, optional = true) {
	return { type: "number", integer: true, min, ...(max === undefined ? {} : { max }), optional, convert: true } as const;
}

/**
 * A list of strict objects with these props (ports, mounts, env entries); `opts` adds the list's own
 * limits (optional, max) before `items`, as the rules were written out by hand.
 */
export function objectList<P extends Record<string, unknown>, O extends { optional?: boolean; max?: number } = {}>(props: P, opts?: O) {
	return { type: "array", ...(opts as O), items: { type: "object", strict: true, props } } as const;
}

/** A list page: `limit` (1–1000) and `offset`. */
export const pageRules = {
	limit: integerRule(1, 1000),
	offset: integerRule(0),
} as const;

export interface PageParams {
	/** A page (1–1000) instead of every entity. */
	limit?: number;
	offset?: number;
}

export interface IdParams {
	id: string;
}

/**
 * The params of a create or an update: a field the schema does not name is a 422 naming it
 * (lib/validator.ts), never silently ignored, and the OpenAPI document says so
 * (additionalProperties: false). Not for the seed-compatible routes, whose clients send what they send.
 */
export function strictParams<P extends Record<string, unknown>>(params: P): P & { $$strict: true; scope: typeof meshScopeRule } {
	return { scope: meshScopeRule, ...params, $$strict: true };
}

/**
 * `scope: false`, the mesh's own opt-out of membership scoping (mixins/membership.mixin.ts): callers
 * inside the mesh may pass it to any action; the gateway drops it from outside (lib/api/gateway.ts),
 * and the OpenAPI document leaves it out (`meshOnly`).
 */
export const meshScopeRule = { type: "any", optional: true, meshOnly: true } as const;
