/** An app's objects as the status service's caches hold them, grouped by the app they belong to. Pure. */
import { entityIdOf } from "../health";
import type { KubernetesObject, V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from "../k8s";

/** One namespace's managed objects as the caches hold them, grouped by the app (berth.dev/id) they belong to. */
export interface NamespaceObjects {
	deployments: Map<string, V1Deployment[]>;
	pods: Map<string, V1Pod[]>;
	services: Map<string, V1Service[]>;
	ingresses: Map<string, V1Ingress[]>;
	secrets: Map<string, V1Secret[]>;
	/** Claims belong to volumes, not apps: every app of the namespace sees all of them. */
	claims: V1PersistentVolumeClaim[];
}

export function groupByApp<T extends KubernetesObject>(items: readonly T[]): Map<string, T[]> {
	const byApp = new Map<string, T[]>();
	for (const item of items) {
		const id = entityIdOf(item);
		if (!id) continue;
		const group = byApp.get(id);
		if (group) group.push(item);
		else byApp.set(id, [item]);
	}
	return byApp;
}

