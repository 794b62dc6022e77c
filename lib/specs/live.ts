/** What runs for a service, read from the cluster: its Deployment, and the status in the seed's shape. */
import { Kinds, type KubeClient, type V1Deployment, type V1PersistentVolumeClaim, type V1Pod } from "../k8s";
import { LABEL_ID } from "../manifests/labels";
import { specObjectsSelector, specStatus, type SpecStatus } from "../manifests/spec";
import type { StoredService } from "./store";

type Located = Pick<StoredService, "id" | "resourceName" | "namespaceName">;

/** The Deployment of that name as the apiserver holds it, whoever made it; undefined if none. */
export function readDeployment(kube: KubeClient, doc: Located): Promise<V1Deployment | undefined> {
	return kube.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: doc.resourceName, namespace: doc.namespaceName });
}

/** The seed's status object: the Deployment's replica counts (if it is ours), its pods and the claims. */
export async function liveStatus(kube: KubeClient, doc: Located): Promise<SpecStatus> {
	const selector = specObjectsSelector(doc.id);
	const [deployment, pods, pvcs] = await Promise.all([
		readDeployment(kube, doc),
		kube.list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: selector }),
		kube.list<V1PersistentVolumeClaim>(Kinds.PersistentVolumeClaim, { namespace: doc.namespaceName, labelSelector: selector }),
	]);
	return specStatus(deployment && deployment.metadata?.labels?.[LABEL_ID] === doc.id ? deployment : undefined, pods, pvcs);
}
