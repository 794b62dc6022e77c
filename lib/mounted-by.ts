/**
 * Who mounts an object of a namespace (a volume's claim, a ConfigMap, a Secret): Berth's deployment
 * entities (when that service runs), and in the cluster any Deployment or unfinished standalone pod
 * (a Job's, say) whose pod volumes name it. Removing a mounted object is refused with a 409.
 */
import type { Context } from "moleculer";
import { conflict } from "./errors";
import { getKubeClient, Kinds, type V1Deployment, type V1Pod, type V1Volume } from "./k8s";

export interface MountedObject {
	/** The namespace entity's id, and its Kubernetes name. */
	namespace: string;
	namespaceName: string;
	/** Whether a stored deployment entity mounts it. */
	mountedByEntity(dep: Record<string, unknown>): boolean;
	/** Whether a pod volume is it. */
	isVolume(volume: V1Volume): boolean;
}

export interface MountUsers {
	deployments: string[];
	pods: string[];
}

export async function mountedBy(ctx: Context, obj: MountedObject): Promise<MountUsers> {
	const deployments = new Set<string>();
	const pods = new Set<string>();
	if (ctx.broker.registry.actions.isAvailable("v1.k8s.deployments.find")) {
		const entities = await ctx.call<Record<string, unknown>[], Record<string, unknown>>("v1.k8s.deployments.find", { query: { namespace: obj.namespace }, scope: false });
		for (const dep of entities ?? []) if (obj.mountedByEntity(dep)) deployments.add(String(dep.name));
	}
	const kube = getKubeClient();
	for (const dep of await kube.list<V1Deployment>(Kinds.Deployment, { namespace: obj.namespaceName })) {
		if (dep.spec?.template?.spec?.volumes?.some(v => obj.isVolume(v))) deployments.add(dep.metadata?.name ?? "");
	}
	for (const pod of await kube.list<V1Pod>(Kinds.Pod, { namespace: obj.namespaceName })) {
		if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
		if (pod.metadata?.ownerReferences?.some(o => o.kind === "ReplicaSet")) continue; // a Deployment's: reported above
		if (pod.spec?.volumes?.some(v => obj.isVolume(v))) pods.add(pod.metadata?.name ?? "");
	}
	return { deployments: [...deployments].sort(), pods: [...pods].sort() };
}

/** 409 naming who mounts `what` (e.g. "Volume data"), when anyone does. */
export async function refuseWhileMounted(ctx: Context, what: string, id: string, obj: MountedObject): Promise<void> {
	const users = await mountedBy(ctx, obj);
	if (!users.deployments.length && !users.pods.length) return;
	const who = [...users.deployments.map(d => `deployment ${d}`), ...users.pods.map(p => `pod ${p}`)].join(", ");
	throw conflict(`${what} is mounted by ${who}; remove or change those first`, { id, ...users });
}
