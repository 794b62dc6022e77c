import { Kinds, type KubernetesObject, type V1Deployment, type V1Pod, type V1ReplicaSet } from "../../lib/k8s";
import { objectNames } from "../../lib/manifests/deployment";
import { LABEL_ID, MANAGED_SELECTOR } from "../../lib/manifests/labels";
import { kube } from "./harness";

/** A deployment entity as it is stored (the fields the audit reads). */
export interface StoredDeploymentDoc {
	id: string;
	name: string;
	namespaceName: string;
	replicas: number;
	deleting?: boolean;
	status?: { phase?: string; replicas?: number; readyReplicas?: number; conditions?: { type: string; status: string }[] };
}

/** Maps raw MongoDB documents (`_id`) to the entity shape (`id`). */
export function fromMongo(docs: Record<string, unknown>[]): StoredDeploymentDoc[] {
	return docs.map(d => ({ ...(d as unknown as StoredDeploymentDoc), id: String(d._id) }));
}

export interface Audit {
	/** Asked-for deployments with no entity, or whose objects are missing or wrong in the cluster. */
	lostObjects: number;
	/** Entities whose stored status does not say what the cluster says (Applied, Running, ready replicas). */
	lostStatuses: number;
	/** Extra entities per name, objects no entity owns, extra ReplicaSets (a second rollout), extra pods. */
	duplicated: number;
	problems: string[];
}

export const auditTotal = (a: Audit) => ({ lost: a.lostObjects + a.lostStatuses, duplicated: a.duplicated });

/**
 * Compares what was asked for (`want`: deployment name → replicas) with what is stored and what the
 * cluster holds. Everything a user would notice counts: a deployment missing or twice, an object
 * missing or with nobody owning it, a status that lies, a rollout or pod too many.
 */
export async function auditDeployments(namespace: string, want: Record<string, number>, stored: StoredDeploymentDoc[]): Promise<Audit> {
	const k = kube();
	const audit: Audit = { lostObjects: 0, lostStatuses: 0, duplicated: 0, problems: [] };
	const mine = stored.filter(d => d.namespaceName === namespace && !d.deleting);
	const [deployments, replicaSets, pods] = await Promise.all([
		k.list<V1Deployment>(Kinds.Deployment, { namespace, labelSelector: MANAGED_SELECTOR }),
		k.list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace }),
		k.list<V1Pod>(Kinds.Pod, { namespace }),
	]);
	for (const [name, replicas] of Object.entries(want)) {
		const entities = mine.filter(d => d.name === name);
		if (!entities.length) {
			audit.lostObjects++;
			audit.problems.push(`${name}: no entity stored`);
			continue;
		}
		if (entities.length > 1) {
			audit.duplicated += entities.length - 1;
			audit.problems.push(`${name}: ${entities.length} entities (${entities.map(e => e.id).join(", ")})`);
		}
		const e = entities[0];
		const names = objectNames(e);
		const dep = deployments.find(d => d.metadata?.name === names.deployment);
		const svc = await k.get({ apiVersion: "v1", kind: "Service", name: names.service, namespace });
		const depOk = dep?.metadata?.labels?.[LABEL_ID] === e.id && dep?.spec?.replicas === replicas && (dep?.status?.readyReplicas ?? 0) === replicas;
		if (!depOk || svc?.metadata?.labels?.[LABEL_ID] !== e.id) {
			audit.lostObjects++;
			audit.problems.push(`${name}: Deployment ${dep ? `replicas ${dep.spec?.replicas}, ready ${dep.status?.readyReplicas ?? 0}, id ${dep.metadata?.labels?.[LABEL_ID]}` : "missing"}, Service ${svc ? "present" : "missing"} (want ${replicas} for ${e.id})`);
		}
		const s = e.status;
		const applied = s?.conditions?.find(c => c.type === "Applied")?.status === "True";
		if (!applied || s?.phase !== "Running" || s?.readyReplicas !== replicas || s?.replicas !== replicas) {
			audit.lostStatuses++;
			audit.problems.push(`${name}: stored status ${JSON.stringify({ phase: s?.phase, replicas: s?.replicas, ready: s?.readyReplicas, applied })}, want Running ${replicas}/${replicas}`);
		}
		if (dep?.metadata?.uid) {
			const owned = replicaSets.filter(rs => !rs.metadata?.deletionTimestamp && rs.metadata?.ownerReferences?.some(o => o.uid === dep.metadata?.uid));
			if (owned.length > 1) {
				audit.duplicated += owned.length - 1;
				audit.problems.push(`${name}: ${owned.length} ReplicaSets (a second rollout)`);
			}
			// Pods of this Deployment's ReplicaSets; those of one deleted by hand wait for the garbage collector.
			const rsUids = new Set(owned.map(rs => rs.metadata?.uid));
			const running = pods.filter(p => !p.metadata?.deletionTimestamp && p.metadata?.ownerReferences?.some(o => rsUids.has(o.uid)));
			if (running.length > replicas) {
				audit.duplicated += running.length - replicas;
				audit.problems.push(`${name}: ${running.length} pods for ${replicas} replicas`);
			}
		}
	}
	// Objects labelled with an entity id that is not stored: made twice, or left behind.
	const ids = new Set(mine.map(d => d.id));
	for (const kind of [Kinds.Deployment, Kinds.Service, Kinds.Ingress, Kinds.ConfigMap, Kinds.Secret]) {
		for (const obj of await k.list<KubernetesObject>(kind, { namespace, labelSelector: MANAGED_SELECTOR })) {
			const id = obj.metadata?.labels?.[LABEL_ID];
			if (id && !ids.has(id)) {
				audit.duplicated++;
				audit.problems.push(`${kind.kind} ${obj.metadata?.name}: owned by ${id}, which is not stored`);
			}
		}
	}
	return audit;
}
