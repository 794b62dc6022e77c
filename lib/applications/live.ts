/** What the cluster says about an instance: its pods' health, and the location it is served at once Ready. */
import { Kinds, type KubeClient, type V1Deployment, type V1Pod } from "../k8s";
import { APPLICATION_KIND, instanceHealth, locationOf, type InstanceHealth } from "../manifests/application";
import { LABEL_ID, MANAGED_SELECTOR } from "../manifests/labels";
import type { ApplicationStore, StoredApplication } from "./store";

/** Every object Berth makes for an instance. */
export const WATCH_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=${APPLICATION_KIND}`;

/** The objects of one instance. */
export function ownedSelector(appId: string): string {
	return `${WATCH_SELECTOR},${LABEL_ID}=${appId}`;
}

/** The instance's key in watch events: its public id, on every object it owns. */
export function instanceKeyOf(obj: { metadata?: { labels?: Record<string, string> } }): string | undefined {
	return obj.metadata?.labels?.[LABEL_ID];
}

/** Ready, failing to start, or still coming up, from its pods and its Deployment. */
export async function observeInstance(kube: KubeClient, doc: StoredApplication, deployment: V1Deployment | undefined): Promise<InstanceHealth> {
	const pods = await kube.list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: ownedSelector(doc.appId) });
	return instanceHealth(pods, deployment);
}

/**
 * Records that a deploying instance is Ready and where it is served; the instance as recorded when
 * this call made the transition (and may announce it), else undefined.
 */
export async function markRunning(store: ApplicationStore, doc: StoredApplication, publicHost: string): Promise<StoredApplication | undefined> {
	const location = locationOf(publicHost, doc.appId);
	const claimed = await store.claim({ appId: doc.appId, status: "deploying", cleanup: "none" }, { status: "running", location, readyAt: new Date().toISOString() });
	return claimed && (await store.announceOnce(doc.appId, "running")) ? { ...doc, status: "running", location } : undefined;
}
