/**
 * Orphan collection: the leader's periodic sweep for objects Berth made whose entity no longer
 * exists (an apply that landed after its entity's teardown, on a node that did not see the delete
 * in time). Each service sweeps the kinds it applies, in the namespaces this installation made.
 *
 * What is never swept:
 * - anything without Berth's managed-by label, its `berth.dev/id` and `berth.dev/kind` annotations
 *   and this service's component label: objects adopted or only inventoried from outside Berth,
 *   and Berth's shared ServiceAccounts, carry no entity id;
 * - objects with an owner (pods, ReplicaSets: their controller's to remove), claims (data) and
 *   Namespaces: services declare only the kinds they apply;
 * - anything in a namespace this installation did not make, or that was made again since
 *   (lib/namespaces/identity.ts): another Berth installation on the same cluster sweeps its own;
 * - an object seen without its entity only once: it is deleted when a later sweep, at least the
 *   grace period later on this node's monotonic clock, still finds it without one. An entity whose
 *   store write is in flight, or a store that answers late, is given that long.
 * Deletes carry the object's uid as a precondition, and the fence is checked before each one.
 */
import type { NamespaceEntity } from "./api/namespaces";
import type { KubeClient, KubernetesObject, ResourceKind } from "./k8s";
import { ANNOTATION_ID, ANNOTATION_KIND } from "./manifests/labels";
import { isEntitysNamespace } from "./namespaces/identity";

/** What one service sweeps. */
export interface SweepTarget {
	/** The kinds the service applies (never claims, never Namespaces). */
	kinds: ResourceKind[];
	/** The label selector of the service's objects (managed-by and component). */
	selector: string;
	/** Whether the entity still exists (one being deleted does: its own teardown removes its objects). Throws when the store cannot say. */
	exists(id: string): Promise<boolean>;
}

export interface SweepDeps {
	kube: KubeClient;
	/** This installation's namespace entities (the held `default`, which has no quota, is left out). */
	namespaces(): Promise<Pick<NamespaceEntity, "id" | "name" | "uid" | "quota">[]>;
	/** Throws unless this node still leads (lib/leader.ts). */
	fence(): void;
	graceMs: number;
	/** Monotonic milliseconds. */
	now(): number;
}

export interface SweepResult {
	deleted: string[];
	/** Seen without an entity, not deleted yet (within the grace period). */
	pending: number;
}

/** The entity id an object maps back to when it is one Berth made for an entity, else undefined. */
export function sweepableId(obj: KubernetesObject): string | undefined {
	const meta = obj.metadata;
	if (!meta || meta.deletionTimestamp || meta.ownerReferences?.length || !meta.uid) return undefined;
	if (!meta.annotations?.[ANNOTATION_KIND]) return undefined;
	return meta.annotations?.[ANNOTATION_ID] || undefined;
}

function describe(kind: string, obj: KubernetesObject): string {
	return `${kind} ${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

/** Remembers, across sweeps, since when each orphan (by uid) has been seen without its entity. */
export class OrphanSweeper {
	private seen = new Map<string, number>();

	async sweep(target: SweepTarget, deps: SweepDeps): Promise<SweepResult> {
		const next = new Map<string, number>();
		const result: SweepResult = { deleted: [], pending: 0 };
		const exists = new Map<string, boolean>();
		for (const ns of await deps.namespaces()) {
			if (!ns.quota) continue;
			const live = await deps.kube.get({ apiVersion: "v1", kind: "Namespace", name: ns.name });
			if (!isEntitysNamespace(live, ns)) continue;
			for (const kind of target.kinds)
				for (const obj of await deps.kube.list(kind, { namespace: ns.name, labelSelector: target.selector })) {
					const id = sweepableId(obj);
					if (!id) continue;
					if (!exists.has(id)) exists.set(id, await target.exists(id));
					if (exists.get(id)) continue;
					const uid = obj.metadata?.uid as string;
					const since = this.seen.get(uid) ?? deps.now();
					if (deps.now() - since < deps.graceMs) {
						next.set(uid, since);
						result.pending++;
						continue;
					}
					deps.fence();
					if (await deps.kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name: obj.metadata?.name as string, namespace: ns.name }, { uid }).catch(ignoreConflict)) result.deleted.push(describe(kind.kind, obj));
				}
		}
		this.seen = next;
		return result;
	}
}

/** A 409 on a delete with a uid precondition: the object was replaced meanwhile, not ours to delete. */
function ignoreConflict(err: unknown): false {
	if ((err as { code?: number }).code === 409) return false;
	throw err;
}
