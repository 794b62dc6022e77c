/**
 * Reading the audit trail: the list's query checked (unknown names and bad values are a 422 naming
 * the field), who may read which records, the store filter that says so, and how long records are
 * kept. Pure.
 */
import { AUDIT_LIMITS, AUDIT_QUERY_FIELDS, type ListAuditParams } from "../api/audit";
import type { NamespaceAccess } from "../api/namespaces";
import { forbidden, invalid, invalidField, notFound } from "../errors";
import { allows } from "../namespaces/roles";

export interface AuditFilter {
	namespace?: string;
	actor?: string;
	action?: string;
	/** ISO 8601, normalized. */
	since?: string;
	limit: number;
}

/** The list's params as a filter; a name the list does not take, or a `since` that is no time, is a 422 on that field. */
export function parseAuditQuery(params: Record<string, unknown>): AuditFilter {
	const unknown = Object.keys(params).filter(k => !(AUDIT_QUERY_FIELDS as readonly string[]).includes(k));
	if (unknown.length)
		throw invalid(
			"Unknown query parameter",
			unknown.map(k => ({ field: k, message: `"${k}" is not a filter of the audit trail; the filters are ${AUDIT_QUERY_FIELDS.join(", ")}`, type: "unknown" })),
		);
	const p = params as ListAuditParams;
	let since: string | undefined;
	if (p.since !== undefined) {
		const t = Date.parse(p.since);
		if (Number.isNaN(t)) throw invalidField("since", "The 'since' field must be an ISO 8601 time, such as 2026-01-31T12:00:00Z.", p.since);
		since = new Date(t).toISOString();
	}
	return { namespace: p.namespace, actor: p.actor, action: p.action, since, limit: p.limit ?? AUDIT_LIMITS.defaultLimit };
}

/** Which records a caller reads: every one (an unconfined platform admin), or those of these namespace ids. */
export type AuditScope = { all: true } | { namespaceIds: string[] };

/**
 * The scope of a caller who is not an unconfined platform admin, from their roles (v1.k8s.namespaces.access,
 * confinement applied): a namespace they own or administer. The one asked for by id or name: none
 * of theirs is a 404, as if it did not exist; a smaller role a 403.
 */
export function scopeFromRoles(grants: NamespaceAccess[], namespace: string | undefined): AuditScope {
	if (namespace === undefined) return { namespaceIds: grants.filter(g => allows(g.role, "admin")).map(g => g.id) };
	const grant = grants.find(g => g.id === namespace || g.name === namespace);
	if (!grant) throw notFound("Namespace", namespace);
	if (!allows(grant.role, "admin")) throw forbidden(`Your role in this namespace (${grant.role}) does not show its audit trail; it needs owner or admin`);
	return { namespaceIds: [grant.id] };
}

/** The store's filter for a scope and the caller's filters. */
export function storeQuery(filter: AuditFilter, scope: AuditScope): Record<string, unknown> {
	const terms: Record<string, unknown>[] = [];
	if ("namespaceIds" in scope) terms.push({ namespace: scope.namespaceIds.length === 1 ? scope.namespaceIds[0] : { $in: scope.namespaceIds } });
	// An admin's namespace filter: the id, or the name (also the records of an earlier namespace of that name).
	else if (filter.namespace !== undefined) terms.push({ $or: [{ namespace: filter.namespace }, { namespaceName: filter.namespace }] });
	if (filter.actor !== undefined) terms.push({ actor: filter.actor });
	if (filter.action !== undefined) terms.push({ action: filter.action });
	if (filter.since !== undefined) terms.push({ at: { $gte: filter.since } });
	return terms.length === 0 ? {} : terms.length === 1 ? terms[0] : { $and: terms };
}

/** Records from before this time are pruned. */
export function retentionCutoff(now: Date, retentionDays: number): string {
	return new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
}
