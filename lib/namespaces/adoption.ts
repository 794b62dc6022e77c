/**
 * Adopting a Namespace Berth did not make (Helm's, kubectl's: no `managed-by=berth` label) into a
 * namespace entity with an owner (docs/api/namespaces.md, "Adopting a namespace"). Only a platform
 * admin adopts; the mixin mixins/namespace-adoption.mixin.ts is the action, these are its rules.
 *
 * What adoption writes, in order:
 * 1. The Namespace's Berth labels and annotations (the entity's id, the owner, `adopted-at`), with
 *    the Namespace's uid as the apiserver's precondition. The admission policy of
 *    deploy/kubernetes/berth.yaml lets Berth label a Namespace it does not manage only with the
 *    `adopted-at` annotation, and never one of Kubernetes' or its own.
 * 2. Then what every Berth namespace has (lib/namespaces/identity.ts's writeNamespace): the writer
 *    RoleBinding, Berth's ResourceQuota `berth-quota` and LimitRange `berth-limits`, and its default
 *    NetworkPolicy.
 *
 * Quota: Berth never overwrites what it does not own. Its policy objects have fixed names; when the
 * Namespace already holds an object of one of those names that Berth did not make, adoption is
 * refused (409) before anything is written. ResourceQuotas and LimitRanges of other names stay as
 * they are: Kubernetes enforces every quota of a namespace, so the tighter limit wins, and Berth's
 * quota (the `quota` asked for, else the default) is what Berth checks its own writes against.
 */
import { conflict, invalid, notFound } from "../errors";
import type { BerthConfig } from "../config";
import type { KubeClient, V1Namespace } from "../k8s";
import { ANNOTATION_ID, isManaged } from "../manifests/labels";
import { ANNOTATION_ADOPTED, LIMIT_RANGE_NAME, NETWORK_POLICY_NAME, QUOTA_NAME, namespaceManifest, type NamespaceSpec } from "../manifests/namespace";
import { WRITER_BINDING_NAME } from "../manifests/rbac";
import type { PodSecurityLevel } from "../manifests/security";
import { reservationOf } from "./reserved";

/** The 422 for a name no one adopts: Kubernetes' own namespaces and Berth's. */
export function reservedRefusal(name: string, config: Pick<BerthConfig, "ownNamespaces" | "reservedNamespaces"> & { tenantPolicy: { berthNamespace: string } }): Error | undefined {
	const reserved = reservationOf(name, config) ?? (name === config.tenantPolicy.berthNamespace ? "berth" : undefined);
	if (!reserved) return undefined;
	const message = `${name} is a reserved namespace (${reserved === "kubernetes" ? "Kubernetes'" : reserved === "berth" ? "Berth's own" : "RESERVED_NAMESPACES"}); it is never adopted`;
	return invalid(message, [{ field: "name", message, type: "reserved", actual: name }]);
}

/**
 * The live Namespace when it can be adopted: it exists (else 404), is not being deleted, and is not
 * Berth's already (409). A Namespace still labelled by an adoption that failed half-way (its
 * `adopted-at` annotation, and no entity of that name: the caller checked) can be adopted again.
 */
export function adoptable(name: string, live: V1Namespace | undefined): V1Namespace {
	if (!live?.metadata) throw notFound("Namespace", name);
	if (live.metadata.deletionTimestamp) throw conflict(`Namespace ${name} is being deleted`, { name });
	if (isManaged(live.metadata.labels) && !live.metadata.annotations?.[ANNOTATION_ADOPTED])
		throw conflict(`Namespace ${name} is already managed by Berth`, { name, id: live.metadata.annotations?.[ANNOTATION_ID] });
	return live;
}

/** Berth's fixed-name policy objects in the Namespace that someone else made: adopting would overwrite them. */
export async function foreignPolicyObjects(kube: Pick<KubeClient, "get">, name: string): Promise<string[]> {
	const refs = [
		{ apiVersion: "v1", kind: "ResourceQuota", name: QUOTA_NAME },
		{ apiVersion: "v1", kind: "LimitRange", name: LIMIT_RANGE_NAME },
		{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: NETWORK_POLICY_NAME },
		{ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", name: WRITER_BINDING_NAME },
	];
	const found: string[] = [];
	for (const ref of refs) {
		const obj = await kube.get({ ...ref, namespace: name });
		if (obj && !isManaged(obj.metadata?.labels)) found.push(`${ref.kind}/${ref.name}`);
	}
	return found;
}

/**
 * Step 1: the Namespace becomes Berth's, labelled for the entity, only if it is still the one that
 * was checked (its uid); made again or deleted meanwhile: 409, nothing written.
 */
export async function labelAdopted(kube: Pick<KubeClient, "apply">, live: V1Namespace, entity: NamespaceSpec & { adoptedAt: string }, level: PodSecurityLevel): Promise<void> {
	const ns = namespaceManifest(entity, level);
	try {
		await kube.apply({ ...ns, metadata: { ...ns.metadata, uid: live.metadata?.uid } });
	} catch (err) {
		const code = (err as { code?: number }).code;
		if (code !== 409 && code !== 422) throw err;
		throw conflict(`Namespace ${entity.name} was deleted or made again meanwhile; nothing was adopted`, { name: entity.name });
	}
}
