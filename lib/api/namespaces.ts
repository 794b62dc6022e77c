/** What `v1.k8s.namespaces.lookup` and `.resolveName` answer to other services (docs/api/namespaces.md). */
export interface NamespaceRef {
	id: string;
	name: string;
	owner: string;
	members: string[];
}

/** What `v1.k8s.namespaces.resourcequota` answers: the ResourceQuota's hard limits and usage. */
export interface QuotaReport {
	hard?: Record<string, string>;
	used?: Record<string, string>;
}
