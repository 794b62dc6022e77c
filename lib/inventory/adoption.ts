/**
 * Adoption, the part that reads and writes: the plan shown for a live Deployment (lib/adopt.ts
 * derives its params, the deployments service generates Berth's manifests) and the swap of the
 * live Deployment for Berth's. Dependencies are passed in; the inventory service wires them.
 */
import type { AdoptionPlan } from "../api/inventory";
import { createEnv, deploymentDiff, deriveAdoption, envObjectKey, envReferences, publicEnv, resolveEnv, selects, type AdoptionNote, type AdoptionSpec, type EnvObjects } from "../adopt";
import { conflict, invalidField } from "../errors";
import { Kinds, type KubeClient, type KubernetesObject, type V1ConfigMap, type V1Deployment, type V1ReplicaSet, type V1Secret } from "../k8s";
import type { CatalogImage, DeploymentEntity } from "../manifests/deployment";
import { inventoryKindOf } from "./kinds";
import { ANNOTATION_SUPERSEDED_AT, ANNOTATION_SUPERSEDED_BY, type ServiceRecord } from "./records";
import type { InventoryStore } from "./store";

export interface AdoptionDeps {
	store: InventoryStore;
	/** A catalog image by reference; `explicit` when the caller named it (else it is the live one). */
	catalogImage(ref: string, explicit: boolean): Promise<CatalogImage>;
	/** The params v1.k8s.deployments.create declares: only those are carried over. */
	acceptedParams(): Set<string>;
	/** v1.k8s.deployments.generate: the objects Berth would apply for these params. */
	generate(params: Record<string, unknown>): Promise<KubernetesObject[]>;
}

/** The params the deployments service takes, and notes for what it does not take yet. */
function carriedParams(spec: AdoptionSpec, namespace: string, imageId: string, accepted: Set<string>, notes: AdoptionNote[]): Record<string, unknown> {
	const params: Record<string, unknown> = { name: spec.name, namespace, image: imageId, replicas: spec.replicas };
	for (const field of ["ports", "volumes", "resources", "mounts", "serviceAccount", "probes"] as const) {
		if (spec[field] === undefined) continue;
		if (accepted.has(field)) params[field] = spec[field];
		else notes.push({ field, message: `v1.k8s.deployments does not take \`${field}\` yet; not carried over` });
	}
	return params;
}

/** Env for display: keys of the referenced objects from the inventory, never a value. */
function displayedEnv(spec: AdoptionSpec, store: InventoryStore, namespace: string): ReturnType<typeof resolveEnv> {
	const keysOnly: EnvObjects = new Map();
	for (const ref of envReferences(spec)) {
		const rec = store.get(ref.kind === "Secret" ? "secrets" : "configmaps", namespace, ref.name) as { keys: string[] } | undefined;
		if (rec) keysOnly.set(envObjectKey(ref.kind, ref.name), Object.fromEntries(rec.keys.map(k => [k, undefined])));
	}
	return resolveEnv(spec, keysOnly);
}

/** Berth's manifests against what is there: the Deployment's diff, the other objects, and Services that would stop matching. */
function compareWithLive(live: V1Deployment, manifests: KubernetesObject[], store: InventoryStore, namespace: string, notes: AdoptionNote[]): Pick<AdoptionPlan, "diff" | "objects"> {
	const desired = manifests.find(m => m.kind === "Deployment") as V1Deployment | undefined;
	const diff = desired ? deploymentDiff(live, desired) : [];
	const objects = manifests
		.filter(m => m !== desired)
		.map(m => {
			const kind = inventoryKindOf(m.kind);
			const existing = kind ? store.get(kind, namespace, m.metadata?.name as string) : undefined;
			return { kind: m.kind as string, name: m.metadata?.name as string, exists: Boolean(existing), ...(existing ? { provenance: existing.provenance } : {}) };
		});
	for (const o of objects) if (o.exists && o.provenance === "external") notes.push({ field: `${o.kind}/${o.name}`, message: `An external ${o.kind} of this name exists; Berth's replaces its fields` });
	const liveLabels = live.spec?.template?.metadata?.labels;
	const desiredLabels = desired?.spec?.template?.metadata?.labels;
	for (const svc of store.inNamespace("services", namespace) as IterableIterator<ServiceRecord>)
		if (svc.provenance === "external" && selects(svc.selector, liveLabels) && !selects(svc.selector, desiredLabels))
			notes.push({ field: `Service/${svc.name}`, message: `Selects the current pods by ${JSON.stringify(svc.selector)}; Berth's pods will not match it` });
	return { diff, objects };
}

/** What adopting `live` (namespace/name) would do, and the create params (without env values) it would send. */
export async function planAdoption(
	live: V1Deployment,
	{ namespace, name, image }: { namespace: string; name: string; image?: string },
	deps: AdoptionDeps,
): Promise<{ plan: AdoptionPlan; spec: AdoptionSpec; params: Record<string, unknown> }> {
	let derivation;
	try {
		derivation = deriveAdoption(live);
	} catch (err) {
		throw invalidField("name", `Deployment ${namespace}/${name} cannot be adopted: ${(err as Error).message}`, name);
	}
	const { spec } = derivation;
	const notes = [...derivation.notes];
	const catalog = await deps.catalogImage(image ?? spec.image, image !== undefined);
	// What the deployments service accepts decides what is carried over (mounts and the account need its joint fields).
	const params = carriedParams(spec, namespace, catalog.id, deps.acceptedParams(), notes);
	const shown = displayedEnv(spec, deps.store, namespace);
	notes.push(...shown.notes);
	const { diff, objects } = compareWithLive(live, await deps.generate(params), deps.store, namespace, notes);
	const plan: AdoptionPlan = {
		namespace,
		name,
		confirmed: false,
		image: { id: catalog.id, name: catalog.name },
		spec: { ...params, image: catalog.name, ...(shown.env.length ? { env: publicEnv(shown.env) } : {}) } as AdoptionPlan["spec"],
		diff,
		objects,
		notes,
	};
	return { plan, spec, params };
}

function decode(obj: V1ConfigMap | V1Secret, kind: "ConfigMap" | "Secret"): Record<string, string> {
	if (kind === "ConfigMap") return { ...((obj as V1ConfigMap).data ?? {}) };
	return Object.fromEntries(Object.entries((obj as V1Secret).data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

/** The create params' env, with the values of the ConfigMaps and Secrets it reads fresh from the cluster (for the create call only). */
export async function envWithValues(kube: KubeClient, spec: AdoptionSpec): Promise<ReturnType<typeof createEnv>> {
	const objects: EnvObjects = new Map();
	for (const ref of envReferences(spec)) {
		const obj = await kube.get<V1ConfigMap | V1Secret>({ apiVersion: "v1", kind: ref.kind, name: ref.name, namespace: spec.namespace });
		if (obj) objects.set(envObjectKey(ref.kind, ref.name), decode(obj, ref.kind));
	}
	return createEnv(resolveEnv(spec, objects).env);
}

/** The live object, freed of what the apiserver set, to create it again. */
export function recreatable(live: V1Deployment): V1Deployment {
	const { status: _status, ...rest } = JSON.parse(JSON.stringify(live)) as V1Deployment;
	const meta = rest.metadata ?? {};
	for (const f of ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"] as const) delete meta[f];
	meta.finalizers = meta.finalizers?.filter(f => f !== "orphan");
	return { ...rest, apiVersion: "apps/v1", kind: "Deployment", metadata: meta };
}

export interface ReplaceOptions {
	/** How long to wait for the old Deployment to be gone. */
	orphanWaitMs: number;
	/** v1.k8s.deployments.create with the adoption's params. */
	create(): Promise<DeploymentEntity>;
	warn(message: string, detail: string): void;
}

/**
 * Swaps the live Deployment for Berth's. The selector of a Deployment cannot change, so the
 * old one is deleted with its ReplicaSets orphaned: its pods keep serving until the Berth
 * deployment's are available, then the inventory retires them. If Berth cannot create its
 * deployment, the old Deployment is put back and takes its ReplicaSets again.
 */
export async function replaceWithBerth(kube: KubeClient, live: V1Deployment, opts: ReplaceOptions): Promise<DeploymentEntity> {
	const namespace = live.metadata?.namespace as string;
	const name = live.metadata?.name as string;
	const uid = live.metadata?.uid;
	const owned = (await kube.list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace })).filter(rs => rs.metadata?.ownerReferences?.some(o => o.uid === uid));
	const mark = (annotations: Record<string, string> | undefined) =>
		Promise.all(owned.map(rs => kube.apply({ apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: rs.metadata?.name, namespace, ...(annotations ? { annotations } : {}) } } as KubernetesObject)));
	// Marked first: however the rest goes, an orphaned ReplicaSet says what replaces it.
	await mark({ [ANNOTATION_SUPERSEDED_BY]: name, [ANNOTATION_SUPERSEDED_AT]: new Date().toISOString() });
	await kube.orphanDeployment(namespace, name);
	const deadline = Date.now() + opts.orphanWaitMs;
	while (await kube.get({ apiVersion: "apps/v1", kind: "Deployment", name, namespace })) {
		if (Date.now() > deadline) throw conflict(`Deployment ${namespace}/${name} is still being deleted; try again`, { namespace, name });
		await new Promise(r => setTimeout(r, 100));
	}
	try {
		return await opts.create();
	} catch (err) {
		opts.warn(`Adopting ${namespace}/${name} failed; putting the Deployment back:`, (err as Error).message);
		await kube.createDeployment(namespace, recreatable(live));
		// Applying without the annotations drops them: Berth owned them, no one else.
		await mark(undefined).catch(e => opts.warn("Could not unmark the ReplicaSets:", (e as Error).message));
		throw err;
	}
}
