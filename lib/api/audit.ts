/**
 * The contract of v1.audit (docs/api/audit.md): one record per mutating call, the params of `list`
 * and of the mesh-only `record` with their validator rules.
 */
import { integerRule } from "./rules";

/** How the call reached Berth: through the REST gateway, or by a `ctx.call` on the mesh. */
export type AuditVia = "rest" | "mesh";

/**
 * One mutating call: who, what, when and how it ended. It holds ids and names only, never a
 * param's value (an env's value, a secret, a key).
 */
export interface AuditRecord {
	id: string;
	/** When the call ended (ISO 8601). */
	at: string;
	/** `ctx.meta.userID`; `system` for Berth's own background work, `anonymous` for a keyless public call. */
	actor: string;
	/** The id of the API key the call was made with (REST), when there was one. */
	keyID?: string;
	via: AuditVia;
	/** The action's full name: `v1.k8s.deployments.create`. */
	action: string;
	/** The id of the entity the call made, changed or named. */
	entity?: string;
	/** The namespace entity's id, when the call's namespace is known. */
	namespace?: string;
	namespaceName?: string;
	/** The HTTP status the call answered (201, 200) or failed with (422, 404, …). */
	status: number;
	/** The error's stable `type` when the call failed (`VALIDATION_ERROR`, `NOT_FOUND`, …). */
	error?: string;
	/** Ties the records of one request together (the gateway's `X-Request-ID`). */
	requestID?: string;
}

/**
 * What the middleware hands to `v1.audit.record`: a record without its id, and, when the call
 * named its namespace only as the caller wrote it (an id or a name), that reference, for the audit
 * service to resolve.
 */
export type AuditEntry = Omit<AuditRecord, "id"> & { namespaceRef?: string };

export interface ListAuditParams {
	/** A namespace's id or name. */
	namespace?: string;
	actor?: string;
	action?: string;
	/** Only records at or after this time (ISO 8601). */
	since?: string;
	/** 1–1000, default 100. */
	limit?: number;
}

/** The query names `list` takes; any other is a 422 naming it. */
export const AUDIT_QUERY_FIELDS = ["namespace", "actor", "action", "since", "limit"] as const;

export const AUDIT_LIMITS = { defaultLimit: 100, maxLimit: 1000 } as const;

const text = (max: number) => ({ type: "string", min: 1, max, optional: true }) as const;

export const listAuditParams = {
	namespace: text(64),
	actor: text(128),
	action: text(128),
	since: text(64),
	limit: integerRule(1, AUDIT_LIMITS.maxLimit),
};

const idText = (max: number) => ({ type: "string", min: 1, max, optional: true }) as const;

/** `record` (mesh only): what lib/audit/middleware.ts sends. */
export const recordAuditParams = {
	at: { type: "string", min: 1, max: 64 },
	actor: { type: "string", min: 1, max: 128 },
	keyID: idText(64),
	via: { type: "enum", values: ["rest", "mesh"] },
	action: { type: "string", min: 1, max: 128 },
	entity: idText(128),
	namespace: idText(64),
	namespaceName: idText(63),
	namespaceRef: idText(128),
	status: { type: "number", integer: true, min: 100, max: 599 },
	error: idText(64),
	requestID: idText(128),
	$$strict: "remove",
} as const;
