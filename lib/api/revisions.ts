/**
 * v1.k8s.revisions' contract: a deployment's revisions (its spec and env set at each accepted
 * change) and the rollback to one of them. Served under /api/v1/k8s/deployments/:id.
 */
import { idRule, integerRule } from "./rules";

/** The env set as a revision shows it: plain values as they were, secret ones never (MASK). */
export interface RevisionEnv {
	key: string;
	type: "as-is" | "secret";
	value: string;
}

/** One field of the difference from the revision before: scalars with their old and new values. */
export interface RevisionChange {
	/** A spec field (`image`, `ports`, …) or `env.<KEY>`. */
	field: string;
	/** Absent for lists, objects and secret values. */
	old?: string | number | boolean | null;
	new?: string | number | boolean | null;
}

export type RevisionCause = "created" | "updated" | "rolledBack";

export interface RevisionView {
	/** 1, 2, …: per deployment, never reused. */
	revision: number;
	deployment: string;
	/** The userID of the key that made the change. */
	by: string;
	/** When (ISO 8601). */
	at: string;
	cause: RevisionCause;
	/** The revision a rollback re-applied. */
	rollbackOf?: number;
	/** What differs from the revision before (empty for the first). */
	changes: RevisionChange[];
	/** The deployment's spec fields (`replicas` is not one: a scale is not a revision). */
	spec: Record<string, unknown>;
	env: RevisionEnv[];
}

export interface RevisionsParams {
	id: string;
}

export interface RollbackParams {
	id: string;
	revision: number;
}

/** v1.k8s.revisions.record: mesh callers, after a change of the deployment's spec or envs. */
export interface RecordParams {
	deployment: string;
	rollbackOf?: number;
}

export const revisionsParams = { id: idRule };
export const rollbackParams = { id: idRule, revision: integerRule(1, undefined, false) };
/** Mesh-only actions take `scope: false` (membership.mixin.ts's isUnscoped). */
const meshScope = { type: "boolean", optional: true } as const;
export const recordParams = { deployment: idRule, rollbackOf: integerRule(1), scope: meshScope };
