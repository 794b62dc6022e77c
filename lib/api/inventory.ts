/**
 * The contract of v1.k8s.inventory: params, views, settings and validator rules. The records
 * themselves (InventoryView, InventoryPage, NamespaceSummary) are lib/inventory's.
 */
import type { AdoptionNote, AdoptionSpec, Change, DerivedEnv } from "../adopt";
import { NAMESPACED_KINDS, QUERY_KINDS, type InventoryKind, type Provenance, type QueryKind } from "../inventory";
import type { DeploymentEntity } from "../manifests/deployment";
import { DNS1123_SUBDOMAIN, integerRule } from "./rules";

export type { InventoryPage, InventoryView, NamespaceSummary, XosTree } from "../inventory";

export interface InventorySettings {
	rest: string;
	/** How long old pods of an adopted Deployment may wait for the new ones before they go anyway. */
	retireTimeoutSeconds: number;
	/** Period of the sweep that retires them when no event came. */
	sweepSeconds: number;
	/** How long a confirmed adoption waits for the old Deployment to be gone. */
	orphanWaitSeconds: number;
}

export interface ListParams {
	kind: QueryKind;
	/** A namespace's name. */
	namespace?: string;
	provenance?: Provenance;
	/** Names containing this. */
	name?: string;
	/** A Kubernetes label selector: `app=web,tier!=db`. */
	label?: string;
	limit?: number;
	offset?: number;
}

export interface GetParams {
	kind: Exclude<InventoryKind, "namespaces">;
	namespace: string;
	name: string;
}

export interface NamespaceParams {
	name: string;
}

/** tree: the namespace's name (`?namespace=`). */
export interface TreeParams {
	namespace: string;
}

export interface AdoptParams {
	/** The namespace's name. */
	namespace: string;
	/** The Deployment's name. */
	name: string;
	/** Without it, nothing changes: the answer shows what adoption would do. */
	confirm?: boolean;
	/** A catalog image (id, name or reference) when the live image is not in the catalog. */
	image?: string;
}

export interface SummaryView {
	/** False until every informer has listed once. */
	synced: boolean;
	counts: Partial<Record<InventoryKind, number>>;
}

/** What an adoption does (dry run) or did (confirmed). */
export interface AdoptionPlan {
	namespace: string;
	name: string;
	confirmed: boolean;
	image: { id: string; name: string };
	/** The Berth deployment's params; env vars read from Secrets are shown by reference only. */
	spec: Omit<AdoptionSpec, "env" | "envFrom"> & { image: string; env?: DerivedEnv[] };
	/** Field by field, the live Deployment against the one Berth would apply. */
	diff: Change[];
	/** The other objects Berth would apply, and whether one of that name is there already. */
	objects: { kind: string; name: string; exists: boolean; provenance?: Provenance }[];
	/** What the live Deployment has that the Berth deployment will not. */
	notes: AdoptionNote[];
	/** The created entity, once confirmed. */
	deployment?: DeploymentEntity;
}

/** Results per page by default, and at most. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

const nsRule = { type: "string", pattern: DNS1123_SUBDOMAIN, min: 1, max: 63 } as const;
const nameRule = { type: "string", pattern: DNS1123_SUBDOMAIN, min: 1, max: 253 } as const;

export const listParams = {
	kind: { type: "enum", values: [...QUERY_KINDS] },
	namespace: { ...nsRule, optional: true },
	provenance: { type: "enum", values: ["berth", "external"], optional: true },
	name: { type: "string", min: 1, max: 253, optional: true },
	label: { type: "string", min: 1, max: 1024, optional: true },
	limit: integerRule(1, MAX_LIMIT),
	offset: integerRule(0, 1_000_000),
} as const;

export const namespaceParams = { name: nsRule } as const;

export const treeParams = { namespace: nsRule } as const;

export const getParams = {
	kind: { type: "enum", values: [...NAMESPACED_KINDS] },
	namespace: nsRule,
	name: nameRule,
} as const;

export const adoptParams = {
	namespace: nsRule,
	name: nameRule,
	confirm: { type: "boolean", optional: true, convert: true },
	image: { type: "string", min: 1, max: 512, optional: true },
} as const;
