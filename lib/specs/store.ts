/**
 * How a v1.k8s.services entity is stored, and what clients see of it: the stored document keeps
 * what the last deploy applied (and a teardown in progress); the view derives `deployed`, `host`
 * and `pendingChanges` from it.
 */
import type { NamespaceRef } from "../api/namespaces";
import type { CreateServiceParams, ServiceEntity } from "../api/services";
import { ingressHost, isExposed, type SpecTarget } from "../manifests/spec";

/** One quota resource's amount; a list of these because quota keys have dots, which NeDB and MongoDB refuse in field names. */
export interface FootprintEntry {
	resource: string;
	amount: number;
}

/** What the last deploy applied; the reconciler keeps the cluster matching it. */
export interface AppliedSpec {
	deployment: string;
	exposed_service: string | null;
	exposed_port: number | null;
	at: string;
	/** One pod's share of the quota. */
	footprint: FootprintEntry[];
}

/** A delete in progress: the reconciler removes the objects (the claims too unless keepVolumes), then, with `remove`, the entity. */
export interface Teardown {
	keepVolumes: boolean;
	remove: boolean;
}

export interface StoredService extends Omit<ServiceEntity, "deployed" | "deployedAt" | "host" | "pendingChanges"> {
	applied?: AppliedSpec | null;
	/** The tombstone (lib/tombstones.ts): no pass applies the entity after it. */
	teardown?: Teardown | null;
	/** The uid of the Namespace the entity was made in (lib/namespaces/identity.ts). */
	namespaceUid?: string | null;
}

/** The public fields of the collection (moleculer-db's `fields`). */
export const PUBLIC_FIELDS = ["name", "namespace", "namespaceName", "deployment", "exposed_service", "exposed_port", "resourceName", "externalId", "owner", "members"];

/**
 * A new service as stored: not deployed. Access to it is its namespace's, decided at each call, so
 * nothing of the namespace's membership is copied. `externalId` (the KITeGG routes' caller-chosen
 * id) is stored only when there is one: the sparse unique index skips absent fields, not nulls.
 */
export function newService(p: CreateServiceParams, ns: NamespaceRef, resourceName: string, owner: string, externalId?: string): Omit<StoredService, "id" | "createdAt" | "updatedAt"> {
	const exposure = { exposed_service: p.exposed_service ?? null, exposed_port: p.exposed_port ?? null };
	const external = externalId === undefined ? {} : { externalId };
	return { name: p.name, namespace: ns.id, namespaceName: ns.name, namespaceUid: ns.uid ?? null, deployment: p.deployment, ...exposure, resourceName, ...external, applied: null, teardown: null, owner, members: [] };
}

export function toEntries(record: Record<string, number>): FootprintEntry[] {
	return Object.entries(record).map(([resource, amount]) => ({ resource, amount }));
}

export function fromEntries(list: FootprintEntry[] | undefined): Record<string, number> {
	return Object.fromEntries((list ?? []).map(e => [e.resource, e.amount]));
}

/** The record of a deploy of the entity as it is now, with one pod's footprint. */
export function appliedNow(doc: StoredService, footprint: Record<string, number>): AppliedSpec {
	return {
		deployment: doc.deployment,
		exposed_service: doc.exposed_service ?? null,
		exposed_port: doc.exposed_port ?? null,
		at: new Date().toISOString(),
		footprint: toEntries(footprint),
	};
}

/** What the manifests need of the entity: its exposure as stored, or as `source` (the applied spec) says. */
export function targetOf(doc: StoredService, source: Pick<AppliedSpec, "exposed_service" | "exposed_port"> = doc): SpecTarget {
	return { id: doc.id, resourceName: doc.resourceName, namespaceName: doc.namespaceName, exposed_service: source.exposed_service, exposed_port: source.exposed_port };
}

/** Whether the entity changed since its last deploy. */
function hasPendingChanges(doc: StoredService): boolean {
	const applied = doc.applied;
	if (!applied) return false;
	return applied.deployment !== doc.deployment || (applied.exposed_service ?? null) !== (doc.exposed_service ?? null) || (applied.exposed_port ?? null) !== (doc.exposed_port ?? null);
}

/** What clients see of a stored service. */
export function serviceView(doc: StoredService, baseDomain: string): ServiceEntity {
	const applied = doc.applied ?? null;
	return {
		id: String(doc.id),
		name: doc.name,
		namespace: doc.namespace,
		namespaceName: doc.namespaceName,
		deployment: doc.deployment,
		exposed_service: doc.exposed_service ?? null,
		exposed_port: doc.exposed_port ?? null,
		resourceName: doc.resourceName,
		...(doc.externalId ? { externalId: doc.externalId } : {}),
		deployed: Boolean(applied),
		deployedAt: applied?.at ?? null,
		host: applied && isExposed(applied) ? ingressHost(doc, baseDomain) : null,
		pendingChanges: hasPendingChanges(doc),
		...(doc.orphaned ? { orphaned: doc.orphaned } : {}),
		owner: doc.owner,
		members: doc.members ?? [],
		createdAt: doc.createdAt,
		updatedAt: doc.updatedAt,
	};
}
