/**
 * The cluster side of a service: the objects its last deploy recorded (a Deployment, a claim per
 * volume, a Service, an Ingress when a port is exposed) applied, what is no longer wanted pruned,
 * and everything removed on a teardown. Level-based: each call reads what is and makes it match.
 */
import type { ObjectView, ServiceSpec, SpecObject } from "../api/services";
import { invalid, quotaExceeded } from "../errors";
import { Kinds, type KubeClient, type KubernetesObject, type ResourceKind } from "../k8s";
import { pvcName, specManifests, specObjectsSelector, type SpecBuildOptions } from "../manifests/spec";
import { applyGuarded, clusterLookup, knownFirst, objectKey } from "../ownership";
import { admitIntoNamespace, type Orphaning } from "../namespaces/identity";
import { withdrawIfDeleted } from "../tombstones";
import { parseSpec } from "./parse";
import { targetOf, type StoredService } from "./store";

/** Pruned when no longer wanted. Claims are not: only an explicit delete removes data. */
export const PRUNABLE_KINDS: ResourceKind[] = [Kinds.Ingress, Kinds.Service, Kinds.Deployment];

type Located = Pick<StoredService, "id" | "namespaceName">;

export function refOf(obj: KubernetesObject): ObjectView {
	return { kind: obj.kind as string, name: obj.metadata?.name as string };
}

/** The objects of these kinds generated for the entity, with their kind and apiVersion set. */
export async function ownedObjects(kube: KubeClient, doc: Located, kinds: ResourceKind[]): Promise<KubernetesObject[]> {
	const out: KubernetesObject[] = [];
	for (const kind of kinds) {
		for (const obj of await kube.list(kind, { namespace: doc.namespaceName, labelSelector: specObjectsSelector(doc.id) })) out.push({ ...obj, apiVersion: kind.apiVersion, kind: kind.kind });
	}
	return out;
}

/** The apiserver checks every object (server-side dry run) before the spec is recorded as applied. */
export async function dryRun(kube: KubeClient, doc: Pick<StoredService, "resourceName" | "namespaceName">, spec: ServiceSpec, manifests: SpecObject[]): Promise<void> {
	for (const m of manifests) {
		try {
			await kube.apply(m, { dryRun: true });
		} catch (err) {
			const e = err as { type?: string; message?: string };
			// A claim the apiserver will not resize, or a quota a racing request filled first: the caller's to fix, not a 5xx.
			if (m.kind === "PersistentVolumeClaim" && e.type === "K8S_FORBIDDEN") {
				if (/exceeded quota/i.test(e.message ?? "")) throw quotaExceeded(`The quota of namespace "${doc.namespaceName}" cannot hold this service: ${e.message}`, { namespace: doc.namespaceName, shortfalls: [] });
				const i = spec.volumes.findIndex(v => pvcName(doc, v.name) === m.metadata?.name);
				throw invalid("Invalid deployment spec", [{ field: `volumes[${Math.max(i, 0)}].size`, message: `The cluster refuses this volume: ${e.message}`, type: "invalid" }]);
			}
			throw err;
		}
	}
}

export interface ApplyDeps {
	kube: KubeClient;
	build: SpecBuildOptions;
	logger: { warn(message: string): void };
}

/**
 * Makes the cluster match what the entity's last deploy recorded: applies its objects and prunes
 * those no longer wanted (an Ingress after the exposure went, everything after an undeploy). Its
 * own objects are listed first (pruning needs them anyway), so only a name it does not hold yet is
 * read before the apply; one someone else holds stops the pass (409, heldError) and is left alone.
 */
export async function applyRecorded(deps: ApplyDeps, doc: StoredService): Promise<void> {
	const kinds = doc.applied ? [...PRUNABLE_KINDS, Kinds.PersistentVolumeClaim] : PRUNABLE_KINDS;
	const owned = new Map((await ownedObjects(deps.kube, doc, kinds)).map(o => [objectKey(o.kind, o.metadata?.name), o]));
	const wanted = new Set<string>();
	if (doc.applied) {
		const result = parseSpec(doc.applied.deployment, { gpuOptions: deps.build.gpuOptions });
		if (!result.ok) {
			// The GPU options changed since the deploy: what runs stays until the next deploy says otherwise.
			deps.logger.warn(`Service ${doc.id}: the deployed spec is no longer valid (${result.errors.map(e => `${e.field}: ${e.message}`).join("; ")}); leaving the cluster as it is`);
			return;
		}
		const manifests = specManifests(targetOf(doc, doc.applied), result.spec, deps.build);
		await applyGuarded(deps.kube, knownFirst(m => owned.get(objectKey(m.kind, m.metadata?.name)), clusterLookup(deps.kube)), manifests);
		for (const m of manifests) wanted.add(objectKey(m.kind, m.metadata?.name));
	}
	for (const [key, obj] of owned)
		if (PRUNABLE_KINDS.some(k => k.kind === obj.kind) && !wanted.has(key)) await deps.kube.delete({ apiVersion: obj.apiVersion as string, kind: obj.kind as string, name: obj.metadata?.name as string, namespace: doc.namespaceName });
}

export interface ConvergeDeps extends ApplyDeps {
	/** The entity read afresh. */
	reload(id: string): Promise<StoredService | undefined>;
	/** Records why the entity is orphaned (lib/namespaces/identity.ts). */
	orphan(doc: StoredService, why: Orphaning): Promise<void>;
	/** Records the Namespace's uid on an entity made before entities were bound. */
	bind(doc: StoredService, uid: string): Promise<void>;
}

/**
 * applyRecorded, only into the namespace the entity was made in (else it is marked orphaned and
 * nothing is written); and when the entity was removed, undeployed or marked for either while this
 * pass applied its deploy, what the pass applied goes again (lib/tombstones.ts). Claims stay then:
 * data goes only with an explicit delete.
 */
export async function convergeRecorded(deps: ConvergeDeps, doc: StoredService): Promise<void> {
	if (!(await admitIntoNamespace({ kube: deps.kube, orphan: deps.orphan, bind: deps.bind }, doc))) return;
	await applyRecorded(deps, doc);
	if (doc.applied) await withdrawIfDeleted(() => deps.reload(doc.id), now => !now || Boolean(now.teardown) || !now.applied, () => removeObjects(deps.kube, doc, true));
}

/** Deletes what was deployed for the entity; the claims too unless `keepVolumes`. */
export async function removeObjects(kube: KubeClient, doc: Located, keepVolumes: boolean): Promise<void> {
	const kinds = keepVolumes ? PRUNABLE_KINDS : [...PRUNABLE_KINDS, Kinds.PersistentVolumeClaim];
	await kube.prune(kinds, doc.namespaceName, specObjectsSelector(doc.id));
}
