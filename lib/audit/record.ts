/**
 * What the audit trail records of a call, decided by pure functions: which actions are mutating,
 * which calls are the outer one of a request, and the record of a call and its outcome. A record
 * keeps the action, ids, the namespace and the outcome: never a param's value.
 */
import type { AuditEntry, AuditVia } from "../api/audit";

/** The gateway's service: a call it makes is a REST request. */
export const GATEWAY_SERVICE = "api";

/** The action the middleware sends records to (mesh only). */
export const RECORD_ACTION = "v1.audit.record";

/** Services whose actions are never audited: the gateway, Moleculer's own, the audit service itself, the probes. */
const UNAUDITED_SERVICES = new Set([GATEWAY_SERVICE, "$node", "v1.audit", "health"]);

/**
 * Decisions the REST method gets wrong, by action: listed actions are audited exactly when true.
 * A mesh-only action (no `rest`) that changes something belongs here with `true`.
 */
export const AUDIT_DECISIONS: Readonly<Record<string, boolean>> = {
	// POST, but they only draft manifests or check a spec: nothing changes.
	"v1.k8s.deployments.generate": false,
	"v1.k8s.services.validate": false,
	// Activity, not a change: a record per poll would drown the trail.
	"v1.k8s.applications.keepalive": false,
	"v1.k8s.applications.binderKeepalive": false,
};

/** Berth's own services (not the gateway): their calls to one another are part of the outer call. */
const BERTH_SERVICE = /^v1\.(k8s\.[a-z][a-z.]*|keys|audit)$|^health$/;

/** What the audit decides by: an action's full name and its `rest` declaration. */
export interface ActionFacts {
	name: string;
	rest?: unknown;
}

/** The service part of an action's full name: `v1.k8s.deployments` of `v1.k8s.deployments.create`. */
export function serviceOf(actionName: string): string {
	const dot = actionName.lastIndexOf(".");
	return dot > 0 ? actionName.slice(0, dot) : actionName;
}

/** The HTTP methods of a `rest` declaration: `"POST /"`, `{method, fullPath}`, a list of them; `*` for a path without one. */
export function restMethods(rest: unknown): string[] {
	if (Array.isArray(rest)) return rest.flatMap(restMethods);
	if (typeof rest === "string") {
		const parts = rest.trim().split(/\s+/);
		return [parts.length > 1 ? parts[0].toUpperCase() : "*"];
	}
	if (rest && typeof rest === "object") {
		const r = rest as { method?: unknown; path?: unknown; fullPath?: unknown };
		if (typeof r.method === "string") return [r.method.toUpperCase()];
		// An object without a path is not a route (the gateway's own `rest` action options).
		return r.path !== undefined || r.fullPath !== undefined ? ["*"] : [];
	}
	return [];
}

/** Whether calls of the action are recorded: a route other than GET, unless AUDIT_DECISIONS says otherwise. */
export function isMutating(action: ActionFacts): boolean {
	if (UNAUDITED_SERVICES.has(serviceOf(action.name))) return false;
	const decided = AUDIT_DECISIONS[action.name];
	if (decided !== undefined) return decided;
	return restMethods(action.rest).some(m => m !== "GET" && m !== "HEAD" && m !== "OPTIONS");
}

/**
 * Whether a call is made by one of Berth's services for a call already being recorded (a create's
 * envs, an adoption's deployment): one record per request, the outer call's.
 */
export function isNestedCall(caller: string | null | undefined): boolean {
	return typeof caller === "string" && BERTH_SERVICE.test(caller);
}

/** What the middleware knows of a call when it ends. */
export interface CallFacts {
	action: string;
	params: unknown;
	meta: { userID?: unknown; keyID?: unknown; $statusCode?: unknown } | undefined;
	caller?: string | null;
	requestID?: string | null;
}

export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/** An id or a name as Berth makes them; anything else a caller sent is not kept (it could be anything). */
const SAFE_REF = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SAFE_TYPE = /^[A-Z][A-Z0-9_]{0,63}$/;

function ref(value: unknown, max = 128): string | undefined {
	return typeof value === "string" && value.length <= max && SAFE_REF.test(value) ? value : undefined;
}

function field(obj: unknown, name: string): unknown {
	return obj && typeof obj === "object" && !Array.isArray(obj) ? (obj as Record<string, unknown>)[name] : undefined;
}

/** The namespace of a call: an id and name pair from the answer, else the reference the caller gave (to be resolved). */
export function namespaceOf(action: string, params: unknown, result: unknown): Pick<AuditEntry, "namespace" | "namespaceName" | "namespaceRef"> {
	const ofNamespaces = serviceOf(action) === "v1.k8s.namespaces";
	const id = ref(ofNamespaces ? field(result, "id") : field(result, "namespace"), 64);
	const name = ref(ofNamespaces ? field(result, "name") : field(result, "namespaceName"), 63);
	if (id && name) return { namespace: id, namespaceName: name };
	const given = ofNamespaces ? (field(params, "id") ?? field(params, "name")) : (field(result, "namespace") ?? field(params, "namespace"));
	const namespaceRef = ref(given);
	return namespaceRef ? { namespaceRef } : {};
}

/** The HTTP status and error type of an outcome: the answer's status (200 unless set), or the error's. */
export function statusOf(outcome: CallOutcome, meta: CallFacts["meta"]): { status: number; error?: string } {
	if (outcome.ok) {
		const set = meta?.$statusCode;
		return { status: typeof set === "number" && set >= 200 && set < 400 ? set : 200 };
	}
	const e = outcome.error as { code?: unknown; type?: unknown } | undefined;
	const code = typeof e?.code === "number" && e.code >= 400 && e.code <= 599 ? e.code : 500;
	return { status: code, error: typeof e?.type === "string" && SAFE_TYPE.test(e.type) ? e.type : "ERROR" };
}

/** The record of a finished call: who, what, when, and how it ended. No param's value is copied. */
export function auditEntryOf(call: CallFacts, outcome: CallOutcome, now: Date = new Date()): AuditEntry {
	const result = outcome.ok ? outcome.result : undefined;
	const userID = call.meta?.userID;
	const keyID = ref(call.meta?.keyID, 64);
	const entity = ref(field(result, "id")) ?? ref(field(call.params, "id"));
	const via: AuditVia = call.caller === GATEWAY_SERVICE ? "rest" : "mesh";
	return {
		at: now.toISOString(),
		actor: typeof userID === "string" && userID.length > 0 ? userID.slice(0, 128) : "anonymous",
		...(keyID ? { keyID } : {}),
		via,
		action: call.action,
		...(entity ? { entity } : {}),
		...namespaceOf(call.action, call.params, result),
		...statusOf(outcome, call.meta),
		...(call.requestID ? { requestID: String(call.requestID).slice(0, 128) } : {}),
	};
}
