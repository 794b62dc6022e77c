/**
 * Namespace identity. A Namespace is Berth's when it carries the `berth.dev/id` annotation of the
 * namespace entity and, once the entity has recorded it, that entity's `uid`. A Namespace made again
 * under the same name (outside Berth, or for another namespace entity) is another namespace:
 * - every namespaced entity is bound to the uid of the Namespace it was made in, and a reconcile
 *   that finds another uid (or no Berth annotation) writes nothing and marks the entity orphaned;
 * - update, cleanup and delete of a namespace act only on the Namespace the entity describes, with
 *   its uid as a precondition the apiserver checks.
 * Pure rules; the reads are the callers'.
 */
import type { NamespaceEntity, NamespaceStatus } from "../api/namespaces";
import { conflict } from "../errors";
import type { KubeClient, V1Namespace } from "../k8s";
import { ANNOTATION_ID } from "../manifests/labels";
import { namespaceManifests, networkPolicyManifest } from "../manifests/namespace";
import { WRITER_ANNOTATION, writerMark } from "../manifests/rbac";
import { hasPodSecurityLabels, type TenantPolicy } from "../manifests/security";
import { HELD_DEFAULT, heldDefaultRefused } from "./held";
import { applyWithWriterBinding } from "./writer";

/** What an entity records of the namespace it lives in. */
export interface NamespaceBinding {
	/** The namespace entity's id. */
	namespace: string;
	namespaceName: string;
	/** The Namespace's uid when the entity was made; unset for entities made before binding (bound at their next reconcile). */
	namespaceUid?: string | null;
}

/** Why an entity's namespace is not the one it was made in. */
export type OrphanReason = "NamespaceMissing" | "NamespaceTerminating" | "NamespaceReplaced";

export type NamespaceVerdict = { ok: true; uid: string } | { ok: false; reason: OrphanReason; message: string };

/**
 * Whether `live` (the Namespace of that name now) is the one `bound` was made in. The held
 * `default` carries no Berth annotation: only its uid is compared.
 */
export function namespaceVerdict(live: V1Namespace | undefined, bound: NamespaceBinding): NamespaceVerdict {
	const name = bound.namespaceName;
	if (!live?.metadata) return { ok: false, reason: "NamespaceMissing", message: `Namespace ${name} no longer exists` };
	const uid = live.metadata.uid ?? "";
	if (bound.namespaceUid && uid !== bound.namespaceUid) return { ok: false, reason: "NamespaceReplaced", message: `Namespace ${name} was made again (uid ${uid}, not ${bound.namespaceUid}); nothing is applied into it` };
	if (name !== HELD_DEFAULT && live.metadata.annotations?.[ANNOTATION_ID] !== bound.namespace)
		return { ok: false, reason: "NamespaceReplaced", message: `Namespace ${name} is not the one Berth made for this entity; nothing is applied into it` };
	if (live.metadata.deletionTimestamp) return { ok: false, reason: "NamespaceTerminating", message: `Namespace ${name} is being deleted` };
	return { ok: true, uid };
}

export type Orphaning = Extract<NamespaceVerdict, { ok: false }>;

export interface AdmitDeps<T> {
	kube: Pick<KubeClient, "get">;
	/** Records on the entity why it is orphaned (its status); nothing is written to the cluster. */
	orphan(doc: T, why: Orphaning): Promise<void>;
	/** Records the uid of an entity made before entities were bound. */
	bind(doc: T, uid: string): Promise<void>;
}

/**
 * Before a pass writes into the entity's namespace: reads the Namespace and answers whether the
 * pass may write. When it may not, the entity is marked orphaned and nothing else is written.
 */
export async function admitIntoNamespace<T extends NamespaceBinding>(deps: AdmitDeps<T>, doc: T): Promise<boolean> {
	const live = await deps.kube.get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: doc.namespaceName });
	const verdict = namespaceVerdict(live, doc);
	if (!verdict.ok) {
		await deps.orphan(doc, verdict);
		return false;
	}
	if (!doc.namespaceUid) await deps.bind(doc, verdict.uid);
	return true;
}

/** Whether a live Namespace is the one a namespace entity describes: its annotation, and its uid once recorded. */
export function isEntitysNamespace(live: V1Namespace | undefined, entity: { id: string; uid?: string | null }): boolean {
	if (live?.metadata?.annotations?.[ANNOTATION_ID] !== entity.id) return false;
	return !entity.uid || live.metadata?.uid === entity.uid;
}

/** What `status` answers of the entity, from `mine`: the live Namespace when it is the entity's, else undefined. */
export function namespaceStatus(entity: Pick<NamespaceEntity, "id" | "name">, mine: V1Namespace | undefined): NamespaceStatus {
	return {
		id: entity.id,
		name: entity.name,
		exists: Boolean(mine),
		phase: mine ? (mine.status?.phase ?? "Active") : "Missing",
		uid: mine?.metadata?.uid ?? null,
		conditions: (mine?.status?.conditions ?? []).map(c => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
	};
}

/** What writing a namespace entity's Namespace may do. */
export type NamespaceWrite =
	/** None of that name: create it (a create, not an apply: one made meanwhile by anyone else is a 409, never claimed). */
	| { action: "create" }
	/** Berth's: apply, with its uid as the apiserver's precondition (a Namespace made again meanwhile is refused). */
	| { action: "apply"; uid: string }
	/** Someone else's of that name: never claimed. */
	| { action: "refuse"; message: string };

export function namespaceWrite(live: V1Namespace | undefined, entity: { id: string; name: string; uid?: string | null }): NamespaceWrite {
	if (!live) return { action: "create" };
	if (isEntitysNamespace(live, entity)) return { action: "apply", uid: live.metadata?.uid as string };
	return { action: "refuse", message: `A namespace named ${entity.name} exists in the cluster and is not the one Berth made for this entity; Berth neither changes nor deletes it` };
}

type NamespaceKube = Pick<KubeClient, "get" | "create" | "apply" | "delete">;
const namespaceRef = (name: string) => ({ apiVersion: "v1", kind: "Namespace", name });

/** The apiserver refused a write for its uid precondition: 422 (another uid) or 409 (none of that name). */
function isUidRefusal(err: unknown): boolean {
	const code = (err as { code?: number }).code;
	return code === 409 || code === 422;
}

/**
 * Writes the entity's Namespace (with its Pod Security labels), Berth's writer RoleBinding,
 * ResourceQuota, LimitRange and default NetworkPolicy (namespaceWrite decides how): never into someone else's Namespace of that
 * name, which is a 409. Returns the live Namespace, and whether this call created it.
 */
export async function writeNamespace(kube: NamespaceKube, entity: Pick<NamespaceEntity, "id" | "name" | "owner" | "uid" | "quota" | "adoptedAt">, policy: TenantPolicy): Promise<{ live: V1Namespace; created: boolean }> {
	// Only the held `default` has no quota, and Berth never applies anything to it.
	if (!entity.quota) throw heldDefaultRefused();
	const [ns, quota, limits] = namespaceManifests({ ...entity, quota: entity.quota }, policy.podSecurityLevel);
	const mark = writerMark(policy.writer);
	if (mark) ns.metadata = { ...ns.metadata, annotations: { ...ns.metadata?.annotations, [WRITER_ANNOTATION]: mark } };
	const write = namespaceWrite(await kube.get<V1Namespace>(namespaceRef(entity.name)), entity);
	if (write.action === "refuse") throw conflict(write.message, { name: entity.name });
	let live: V1Namespace;
	try {
		live = write.action === "create" ? await kube.create(ns) : await kube.apply({ ...ns, metadata: { ...ns.metadata, uid: write.uid } });
	} catch (err) {
		if (!isUidRefusal(err)) throw err;
		throw conflict(`Namespace ${entity.name} was deleted or made again in the cluster meanwhile; Berth neither changes nor claims it`, { name: entity.name });
	}
	await applyWithWriterBinding(kube, entity, policy, [quota, limits, networkPolicyManifest(entity, policy)]);
	return { live, created: write.action === "create" };
}

/**
 * Level-based: a Namespace of the entity made before Berth set policy objects, or under another
 * POD_SECURITY_LEVEL or RBAC settings, lacks the labels (or the writer binding's annotation) it
 * should have; then everything is applied again (the labels, the RoleBinding, the NetworkPolicy). `mine` is the live Namespace when it is the entity's.
 */
export async function refreshPolicy(kube: NamespaceKube, mine: V1Namespace | undefined, entity: Parameters<typeof writeNamespace>[1], policy: TenantPolicy): Promise<void> {
	if (!mine || mine.metadata?.deletionTimestamp) return;
	const mark = writerMark(policy.writer);
	const unbound = mark !== undefined && mine.metadata?.annotations?.[WRITER_ANNOTATION] !== mark;
	if (unbound || !hasPodSecurityLabels(mine.metadata?.labels, policy)) await writeNamespace(kube, entity, policy);
}

/**
 * Deletes the entity's Namespace from the cluster, only when it is the one the entity describes,
 * with its uid as the apiserver's precondition. Answers whether it deleted; anyone else's
 * Namespace of that name stays.
 */
export async function deleteNamespace(kube: NamespaceKube, entity: { id: string; name: string; uid?: string | null }): Promise<boolean> {
	const live = await kube.get<V1Namespace>(namespaceRef(entity.name));
	if (!isEntitysNamespace(live, entity)) return false;
	try {
		return await kube.delete(namespaceRef(entity.name), { uid: live?.metadata?.uid });
	} catch (err) {
		if ((err as { code?: number }).code === 409) return false;
		throw err;
	}
}
