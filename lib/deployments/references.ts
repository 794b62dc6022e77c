/**
 * What the validator cannot see: claims and mounted ConfigMaps and Secrets that exist in the
 * namespace, hosts inside the namespace's domains that nobody else serves, and a deployment's own
 * ServiceAccount that is no one else's. Dependencies are passed in: the apiserver client, the
 * deployments store and the namespace's domain grants.
 */
import type { QuotaReport } from "../api/namespaces";
import { conflict, hostTaken, invalid, quotaExceeded, type FieldError } from "../errors";
import { Kinds, type KubeClient, type V1Ingress, type V1ServiceAccount } from "../k8s";
import type { CatalogImage } from "../manifests/deployment";
import { serviceAccountName } from "../manifests/joint";
import { LABEL_ID } from "../manifests/labels";
import { objectNames } from "../manifests/model";
import { hostErrors, takenHost } from "../namespaces/domains";
import { autoscaleErrors } from "./autoscale";
import { deploymentShortfalls, jointErrors, nameCollisions, placementErrors, quotaMessage } from "./checks";
import { exposureErrors } from "./exposure";
import type { StoredDeployment } from "./store";

export interface ReferenceDeps {
	kube: KubeClient;
	/** Stored deployments matching a query, unscoped. */
	findRaw(query: Record<string, unknown>): Promise<StoredDeployment[]>;
	baseDomain: string;
	nodePortRange: [number, number];
	/** The domains an admin granted the namespace (its entity id); none given: none granted. */
	grants?(namespace: string): Promise<string[]>;
}

/** The namespace's other live deployments (not `current`). */
export async function otherDeployments(deps: Pick<ReferenceDeps, "findRaw">, namespace: string, current?: StoredDeployment): Promise<StoredDeployment[]> {
	return (await deps.findRaw({ namespace, deleting: { $ne: true } })).filter(d => d.id !== current?.id);
}

/** Claims the draft mounts that are not in its namespace (one `current` already mounts stays valid). */
async function claimErrors(deps: ReferenceDeps, draft: StoredDeployment, current?: StoredDeployment): Promise<FieldError[]> {
	const errors: FieldError[] = [];
	for (const [i, v] of draft.volumes.entries()) {
		const claim = v.persistentVolumeClaim?.claimName;
		if (v.type !== "persistentVolumeClaim" || !claim) continue;
		if (current?.volumes.some(c => c.persistentVolumeClaim?.claimName === claim)) continue;
		const pvc = await deps.kube.get({ apiVersion: "v1", kind: "PersistentVolumeClaim", name: claim, namespace: draft.namespaceName });
		if (!pvc) errors.push({ field: `volumes[${i}].persistentVolumeClaim.claimName`, message: `No claim "${claim}" in namespace "${draft.namespaceName}"`, type: "invalid", actual: claim });
	}
	return errors;
}

/** Mounted ConfigMaps and Secrets that are not in the namespace. */
async function mountErrors(deps: ReferenceDeps, draft: StoredDeployment, current?: StoredDeployment): Promise<FieldError[]> {
	const errors: FieldError[] = [];
	const found = new Map<string, boolean>();
	for (const [i, m] of (draft.mounts ?? []).entries()) {
		// An optional one may be missing; one already mounted stays valid (a change must not fail on it).
		if (m.optional || current?.mounts?.some(c => c.type === m.type && c.name === m.name)) continue;
		const kind = m.type === "configMap" ? "ConfigMap" : "Secret";
		const key = `${kind}/${m.name}`;
		if (!found.has(key)) found.set(key, Boolean(await deps.kube.get({ apiVersion: "v1", kind, name: m.name, namespace: draft.namespaceName })));
		if (!found.get(key)) errors.push({ field: `mounts[${i}].name`, message: `No ${kind} "${m.name}" in namespace "${draft.namespaceName}" (an optional mount may name a missing one)`, type: "invalid", actual: m.name });
	}
	return errors;
}

/** A shared account named by a deployment as its own, or an own account that is someone else's. */
async function accountErrors(deps: ReferenceDeps, draft: StoredDeployment, current?: StoredDeployment): Promise<FieldError[]> {
	const account = serviceAccountName(draft, draft.serviceAccount);
	if (!account || !draft.serviceAccount || account === "default") return [];
	const shared = Boolean(draft.serviceAccount.shared);
	const others = await otherDeployments(deps, draft.namespace, current);
	// A shared account may be named by any number of deployments; a deployment's own by none other.
	const other = others.find(d => serviceAccountName(d, d.serviceAccount) === account && (!shared || !d.serviceAccount?.shared));
	if (other) {
		const message = other.serviceAccount?.shared
			? `Service account "${account}" is shared in the namespace (deployment "${other.name}" uses it); name it with shared: true`
			: `Service account "${account}" is deployment "${other.name}"'s own`;
		return [{ field: "serviceAccount.name", message, type: "unique", actual: account }];
	}
	if (shared) return [];
	const existing = await deps.kube.get<V1ServiceAccount>({ apiVersion: "v1", kind: "ServiceAccount", name: account, namespace: draft.namespaceName });
	const ours = current !== undefined && existing?.metadata?.labels?.[LABEL_ID] === current.id;
	if (existing && !ours) return [{ field: "serviceAccount.name", message: `Service account "${account}" already exists in namespace "${draft.namespaceName}"; use it with shared: true`, type: "unique", actual: account }];
	return [];
}

/**
 * 409 when the draft would generate an object under a name another deployment of the namespace
 * generates (the naming rule is objectNames'); the other deployment is not named.
 */
async function checkNames(deps: Pick<ReferenceDeps, "findRaw">, draft: StoredDeployment, current?: StoredDeployment): Promise<void> {
	const clashes = nameCollisions(draft, await otherDeployments(deps, draft.namespace, current));
	if (!clashes.length) return;
	const [first] = clashes;
	throw conflict(`${first.kind} "${first.name}" (from ${first.field}) is already generated by another deployment in namespace "${draft.namespaceName}"; choose another ${first.field}`, {
		field: first.field,
		namespace: draft.namespaceName,
		objects: clashes.map(c => ({ kind: c.kind, name: c.name, field: c.field, heldBy: "deployment" })),
	});
}

/**
 * 409 when a host the draft adds is served by any Ingress in the cluster but its own (by another
 * deployment, a Berth application, or something Berth did not make), or stored for another
 * deployment whose Ingress is not applied yet. Hosts it already serves are not checked again.
 */
async function checkHostsFree(deps: ReferenceDeps, draft: StoredDeployment, added: string[], current?: StoredDeployment): Promise<void> {
	if (!added.length) return;
	const stored = (await deps.findRaw({ vHosts: { $in: added }, deleting: { $ne: true } })).find(d => d.id !== current?.id);
	const host = stored && added.find(h => stored.vHosts.includes(h));
	if (host) throw hostTaken(`Host "${host}" is already served by another deployment`, { field: "vHosts", host });
	const own = objectNames(draft).ingress;
	const others = (await deps.kube.list<V1Ingress>(Kinds.Ingress)).filter(i => !(i.metadata?.namespace === draft.namespaceName && i.metadata?.name === own));
	const taken = takenHost(added, others.flatMap(i => (i.spec?.rules ?? []).map(r => r.host ?? "").filter(Boolean)));
	// Whose Ingress it is stays unsaid: it may be another tenant's.
	if (!taken) return;
	const message = taken.by === taken.host ? `Host "${taken.host}" is already served by another Ingress in the cluster` : `Host "${taken.host}" is already served by another Ingress's wildcard rule "${taken.by}"`;
	throw hostTaken(message, { field: "vHosts", host: taken.host });
}

/** 422 with every reference that does not hold, hosts outside the namespace's domains included; 409 when a host is someone else's. */
export async function checkReferences(deps: ReferenceDeps, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<void> {
	// Hosts it already serves are not checked again: without new ones, neither grants nor Ingresses are read.
	const added = draft.vHosts.filter(h => !current?.vHosts.includes(h));
	const grants = added.length ? ((await deps.grants?.(draft.namespace)) ?? []) : [];
	const errors: FieldError[] = [
		...hostErrors("vHosts", draft.vHosts, { namespace: draft.namespaceName, grants, baseDomain: deps.baseDomain }, current?.vHosts),
		...placementErrors(draft, image),
		...(await claimErrors(deps, draft, current)),
		...jointErrors(draft, image, deps.nodePortRange),
		...exposureErrors(draft, image),
		...autoscaleErrors(draft),
		...(await mountErrors(deps, draft, current)),
		...(await accountErrors(deps, draft, current)),
	];
	if (errors.length) throw invalid("Invalid deployment", errors);
	await checkNames(deps, draft, current);
	await checkHostsFree(deps, draft, added, current);
}

/**
 * Refuses (422 QUOTA_EXCEEDED, with each shortfall) a change the namespace's quota (none:
 * undefined) cannot hold, with Berth's own bookings of the namespace's deployments (`current`'s
 * pods included) as a floor under `used`. Callers hold the namespace's admission around this check
 * and the store of the change (the refs mixin's withAdmission), so what it reads stays true.
 */
export async function checkQuota(deps: Pick<ReferenceDeps, "findRaw">, quota: QuotaReport | undefined, draft: StoredDeployment, perPod: Record<string, number>, current?: StoredDeployment): Promise<void> {
	if (!quota) return;
	const shortfalls = deploymentShortfalls(quota, draft, perPod, await otherDeployments(deps, draft.namespace, current), current);
	if (shortfalls.length) throw quotaExceeded(quotaMessage(shortfalls), { namespace: draft.namespaceName, shortfalls });
}
