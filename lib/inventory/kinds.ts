/** The kinds the inventory keeps, by the plurals its REST paths use. */

/** The inventory's kinds, by the plural its REST paths use, with their Kubernetes kind. */
export const INVENTORY_KINDS = {
	namespaces: "Namespace",
	deployments: "Deployment",
	statefulsets: "StatefulSet",
	daemonsets: "DaemonSet",
	replicasets: "ReplicaSet",
	jobs: "Job",
	pods: "Pod",
	services: "Service",
	configmaps: "ConfigMap",
	secrets: "Secret",
	serviceaccounts: "ServiceAccount",
} as const;

export type InventoryKind = keyof typeof INVENTORY_KINDS;
export const KIND_NAMES = Object.keys(INVENTORY_KINDS) as InventoryKind[];
export const NAMESPACED_KINDS = KIND_NAMES.filter(k => k !== "namespaces");
export const CONTROLLER_KINDS: InventoryKind[] = ["deployments", "statefulsets", "daemonsets", "replicasets", "jobs"];
/** What a list may ask for: one kind, or "controllers" for all five controller kinds at once. */
export const QUERY_KINDS = [...KIND_NAMES, "controllers"] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];

const pluralOf: Record<string, InventoryKind> = Object.fromEntries(Object.entries(INVENTORY_KINDS).map(([plural, kind]) => [kind, plural as InventoryKind]));

/** "Pod" → "pods"; undefined for kinds the inventory does not keep. */
export function inventoryKindOf(kind: string | undefined): InventoryKind | undefined {
	return kind ? pluralOf[kind] : undefined;
}

/** The plurals a query kind stands for. */
export function expandKind(kind: QueryKind): InventoryKind[] {
	return kind === "controllers" ? CONTROLLER_KINDS : [kind];
}
