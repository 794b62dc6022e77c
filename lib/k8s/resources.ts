/** The kinds Berth reads or writes, with what the REST paths and informers need to know. */
export interface ResourceKind {
	apiVersion: string;
	kind: string;
	plural: string;
	namespaced: boolean;
}

function kind(apiVersion: string, kind: string, plural: string, namespaced = true): ResourceKind {
	return { apiVersion, kind, plural, namespaced };
}

export const Kinds = {
	Namespace: kind("v1", "Namespace", "namespaces", false),
	Node: kind("v1", "Node", "nodes", false),
	Pod: kind("v1", "Pod", "pods"),
	Service: kind("v1", "Service", "services"),
	ConfigMap: kind("v1", "ConfigMap", "configmaps"),
	Secret: kind("v1", "Secret", "secrets"),
	ServiceAccount: kind("v1", "ServiceAccount", "serviceaccounts"),
	PersistentVolume: kind("v1", "PersistentVolume", "persistentvolumes", false),
	PersistentVolumeClaim: kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
	ResourceQuota: kind("v1", "ResourceQuota", "resourcequotas"),
	LimitRange: kind("v1", "LimitRange", "limitranges"),
	Event: kind("v1", "Event", "events"),
	Deployment: kind("apps/v1", "Deployment", "deployments"),
	StatefulSet: kind("apps/v1", "StatefulSet", "statefulsets"),
	DaemonSet: kind("apps/v1", "DaemonSet", "daemonsets"),
	ReplicaSet: kind("apps/v1", "ReplicaSet", "replicasets"),
	Job: kind("batch/v1", "Job", "jobs"),
	CronJob: kind("batch/v1", "CronJob", "cronjobs"),
	Ingress: kind("networking.k8s.io/v1", "Ingress", "ingresses"),
	NetworkPolicy: kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
	Lease: kind("coordination.k8s.io/v1", "Lease", "leases"),
	HorizontalPodAutoscaler: kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
} as const satisfies Record<string, ResourceKind>;

/** The REST collection path of a kind, cluster-wide or in one namespace. */
export function collectionPath(resource: ResourceKind, namespace?: string): string {
	const base = resource.apiVersion.includes("/") ? `/apis/${resource.apiVersion}` : `/api/${resource.apiVersion}`;
	return namespace && resource.namespaced ? `${base}/namespaces/${namespace}/${resource.plural}` : `${base}/${resource.plural}`;
}
