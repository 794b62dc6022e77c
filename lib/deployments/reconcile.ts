/**
 * The deployments' reconcile loop as plain functions: the manifests an entity adds up to, the
 * server-side dry run, apply and prune, the check that the leader's caches already hold it all,
 * and teardown. Level-based: a pass reads the entity and the cluster and makes them agree.
 */
import { dataChecksum, envConfigMap } from "../manifests/configmap";
import { DEPLOYMENT_KIND, ENV_KIND, deploymentManifests, deploymentStatus, objectNames, type CatalogImage, type DeploymentStatus, type GeneratedObject } from "../manifests/deployment";
import { bodyOf, containsDesired, manifestsFingerprint } from "../manifests/drift";
import { assignedNodePorts, jointManifests } from "../manifests/joint";
import { ANNOTATION_ID, LABEL_ID, MANAGED_SELECTOR } from "../manifests/labels";
import { generatedNames } from "../manifests/model";
import { blockingHolder, heldObject, HELD_REASON, takesOver, type HeldObject } from "../manifests/ownership";
import { envSecret, secretValues } from "../manifests/secret";
import type { Orphaning } from "../namespaces/identity";
import { isTombstoned, testApplyDelay } from "../tombstones";
import { isAlreadyExists, Kinds, type KubeClient, type KubernetesObject, type ResilientInformer, type V1ConfigMap, type V1Deployment, type V1Secret, type V1Service } from "../k8s";
import { applyGuarded, clusterLookup, heldError, isHeldError, knownFirst, objectKey } from "../ownership";
import { nodePortError, withNodePorts } from "./checks";
import { ingressSite } from "./exposure";
import type { StoredDeployment } from "./store";

/** Everything a deployment entity owns in the cluster (and the env objects v1.k8s.envs writes for it). */
export const WATCH_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component in (${DEPLOYMENT_KIND},${ENV_KIND})`;
export const WATCHED_KINDS = [Kinds.Deployment, Kinds.Service, Kinds.Ingress, Kinds.ConfigMap, Kinds.Secret, Kinds.ServiceAccount, Kinds.HorizontalPodAutoscaler];
/**
 * A deployment's own ServiceAccount carries its id and goes with it (last: after its pods). A
 * shared one carries no deployment's id, so no deployment prunes it.
 */
const PRUNABLE_KINDS = [Kinds.ConfigMap, Kinds.Service, Kinds.Ingress, Kinds.HorizontalPodAutoscaler, Kinds.Deployment, Kinds.ServiceAccount];
/** What the orphan sweep looks at (lib/orphans.ts): everything generated for a deployment, its env objects too. */
export const SWEPT_KINDS = [...PRUNABLE_KINDS, Kinds.Secret];

function ownedSelector(id: string, ...kinds: string[]): string {
	const component = kinds.length > 1 ? ` in (${kinds.join(",")})` : `=${kinds[0] ?? DEPLOYMENT_KIND}`;
	return `${MANAGED_SELECTOR},app.kubernetes.io/component${component},${LABEL_ID}=${id}`;
}

export function entityIdOf(obj: KubernetesObject): string | undefined {
	return obj.metadata?.labels?.[LABEL_ID] ?? obj.metadata?.annotations?.[ANNOTATION_ID];
}

/** Read-only view of the leader's watch caches. */
export interface LiveCache {
	get(kind: string, namespace: string, name: string): KubernetesObject | undefined;
	/** The objects of one kind a deployment entity owns (its id and component labels). */
	owned(kind: string, namespace: string, id: string): KubernetesObject[];
}

export function liveCacheOf(byKind: Map<string, ResilientInformer<KubernetesObject>>): LiveCache {
	return {
		get: (kind, namespace, name) => byKind.get(kind)?.get(name, namespace),
		owned: (kind, namespace, id) => (byKind.get(kind)?.list(namespace) ?? []).filter(o => entityIdOf(o) === id && o.metadata?.labels?.["app.kubernetes.io/component"] === DEPLOYMENT_KIND),
	};
}

/** The env ConfigMap and Secret of the entity's name, as they are (the leader's caches, else the apiserver). */
interface EnvObjects {
	cm?: V1ConfigMap;
	secret?: V1Secret;
}

async function readEnvObjects(kube: KubeClient, doc: StoredDeployment, cache?: LiveCache): Promise<EnvObjects> {
	const ref = { namespace: doc.namespaceName, name: objectNames(doc).env };
	const [cm, secret] = cache
		? [cache.get("ConfigMap", ref.namespace, ref.name) as V1ConfigMap | undefined, cache.get("Secret", ref.namespace, ref.name) as V1Secret | undefined]
		: await Promise.all([kube.get<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", ...ref }), kube.get<V1Secret>({ apiVersion: "v1", kind: "Secret", ...ref })]);
	return { cm, secret };
}

/** The env objects of the entity's name that someone else holds: its pods would read them (envFrom). */
export function heldEnvObjects(doc: StoredDeployment, env: EnvObjects): HeldObject[] {
	const held: HeldObject[] = [];
	for (const [desired, live] of [[envConfigMap(doc, {}), env.cm], [envSecret(doc, {}), env.secret]] as const) {
		const holder = blockingHolder(desired, live);
		if (holder) held.push(heldObject(desired, holder));
	}
	return held;
}

function manifestsOf(baseDomain: string, doc: StoredDeployment, image: CatalogImage, { cm, secret }: EnvObjects): GeneratedObject[] {
	// Only the env objects v1.k8s.envs wrote for this entity count.
	const mine = (o: KubernetesObject | undefined) => (o && entityIdOf(o) === doc.id ? o : undefined);
	const envChecksum = mine(cm) || mine(secret) ? dataChecksum(mine(cm) ? (cm as V1ConfigMap).data : undefined, mine(secret) ? secretValues(secret) : undefined) : undefined;
	const configChecksum = doc.configMap ? dataChecksum(doc.configMap.data) : undefined;
	return jointManifests(doc, deploymentManifests({ deployment: doc, image, envChecksum, configChecksum }, ingressSite(baseDomain)));
}

/** What the entity adds up to with its image and the env objects v1.k8s.envs wrote for it. */
export async function desiredManifests(kube: KubeClient, baseDomain: string, doc: StoredDeployment, image: CatalogImage, cache?: LiveCache): Promise<GeneratedObject[]> {
	return manifestsOf(baseDomain, doc, image, await readEnvObjects(kube, doc, cache));
}

/** The manifests of a draft, as a create's answer shows them (no env checksum yet). */
export function draftManifests(baseDomain: string, draft: StoredDeployment, image: CatalogImage): GeneratedObject[] {
	return jointManifests(draft, deploymentManifests({ deployment: draft, image, configChecksum: draft.configMap ? dataChecksum(draft.configMap.data) : undefined }, ingressSite(baseDomain)));
}

/**
 * A name the draft would newly hold: the dry-run create is the apiserver's check of the object and
 * tells whether the name is taken; only then is the live object read (the ownership check's one read).
 */
async function newName(kube: KubeClient, m: KubernetesObject): Promise<{ free: true } | { free: false; live?: KubernetesObject }> {
	try {
		await kube.create(m, { dryRun: true });
		return { free: true };
	} catch (err) {
		if (!isAlreadyExists(err)) throw err;
	}
	return { free: false, live: await clusterLookup(kube)(m) };
}

export interface DryRunOptions {
	/** The entity as stored, for a change: the names it generates already are its own. */
	current?: StoredDeployment;
	/** An adoption: external objects at the names may be taken over (claimed once the entity is stored). */
	adopt?: boolean;
}

/**
 * The apiserver checks every manifest (server-side dry run) before anything is stored or applied,
 * and no name the draft would newly hold may be someone else's. 409 naming every held object;
 * answers the external objects an adoption takes over.
 */
export async function dryRun(kube: KubeClient, baseDomain: string, draft: StoredDeployment, image: CatalogImage, opts: DryRunOptions = {}): Promise<KubernetesObject[]> {
	const dep = { ...draft, id: draft.id === "pending" ? "0" : draft.id };
	const known = new Set(opts.current ? generatedNames(opts.current).map(n => objectKey(n.kind, n.name)) : []);
	const held: HeldObject[] = [];
	const taken: KubernetesObject[] = [];
	const mayHold = (m: KubernetesObject, live: KubernetesObject | undefined): boolean => {
		const holder = blockingHolder(m, live, opts);
		if (holder) held.push(heldObject(m, holder));
		else if (opts.adopt && takesOver(m, live)) taken.push(m);
		return !holder;
	};
	for (const m of jointManifests(dep, deploymentManifests({ deployment: dep, image }, ingressSite(baseDomain)))) {
		try {
			const name = known.has(objectKey(m.kind, m.metadata?.name)) ? undefined : await newName(kube, m);
			if (!name || (!name.free && mayHold(m, name.live))) await kube.apply(m, { dryRun: true });
		} catch (err) {
			throw m.kind === "Service" ? nodePortError(err, m as V1Service, draft) : err;
		}
	}
	// A new deployment's env ConfigMap and Secret are v1.k8s.envs' to write, but its pods read them (envFrom).
	if (!opts.current) for (const m of [envConfigMap(dep, {}), envSecret(dep, {})]) mayHold(m, await clusterLookup(kube)(m));
	if (held.length) throw heldError(draft.namespaceName, held);
	return taken;
}

interface Applied {
	live?: V1Deployment;
	service?: V1Service;
}

/** The objects of PRUNABLE_KINDS the entity holds, by `Kind/name`: from the leader's caches, else listed. */
async function ownedObjects(kube: KubeClient, doc: StoredDeployment, cache?: LiveCache): Promise<Map<string, KubernetesObject>> {
	const owned = new Map<string, KubernetesObject>();
	for (const kind of PRUNABLE_KINDS) {
		const objects = cache ? cache.owned(kind.kind, doc.namespaceName, doc.id) : await kube.list(kind, { namespace: doc.namespaceName, labelSelector: ownedSelector(doc.id) });
		for (const obj of objects) owned.set(objectKey(kind.kind, obj.metadata?.name), obj);
	}
	return owned;
}

/**
 * Applies the manifests and deletes what the entity owns and no longer wants. What it owns is read
 * first (from the leader's caches, or listed as pruning needs anyway), so only a name it does not
 * hold yet is read from the apiserver before the apply; a name someone else holds stops the pass
 * with a 409 (heldError) before anything is applied.
 */
export async function applyAndPrune(kube: KubeClient, doc: StoredDeployment, manifests: GeneratedObject[], cache?: LiveCache): Promise<Applied> {
	const owned = await ownedObjects(kube, doc, cache);
	const known = (m: KubernetesObject) => owned.get(objectKey(m.kind, m.metadata?.name)) ?? cache?.get(m.kind as string, doc.namespaceName, m.metadata?.name as string);
	const applied = await applyGuarded(kube, knownFirst(known, clusterLookup(kube)), manifests);
	const out: Applied = {};
	manifests.forEach((m, i) => {
		if (m.kind === "Deployment") out.live = applied[i] as V1Deployment;
		else if (m.kind === "Service") out.service = applied[i] as V1Service;
	});
	const wanted = new Set(manifests.map(m => objectKey(m.kind, m.metadata?.name)));
	for (const kind of PRUNABLE_KINDS)
		for (const [key, obj] of owned)
			if (key.startsWith(`${kind.kind}/`) && !wanted.has(key)) await kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name: obj.metadata?.name as string, namespace: doc.namespaceName });
	return out;
}

/**
 * The live Deployment and Service when the caches hold every manifest as applied and nothing
 * of the entity that is no longer wanted; undefined when anything differs (apply, then).
 */
export function cachedWhenConverged(cache: LiveCache, doc: StoredDeployment, manifests: GeneratedObject[]): Applied | undefined {
	const found: KubernetesObject[] = [];
	for (const m of manifests) {
		const obj = cache.get(m.kind as string, doc.namespaceName, m.metadata?.name as string);
		if (!obj || obj.metadata?.deletionTimestamp || !containsDesired(bodyOf(m), obj)) return undefined;
		found.push(obj);
	}
	const wanted = new Set(manifests.map(m => `${m.kind}/${m.metadata?.name}`));
	for (const kind of PRUNABLE_KINDS) if (cache.owned(kind.kind, doc.namespaceName, doc.id).some(o => !wanted.has(`${kind.kind}/${o.metadata?.name}`))) return undefined;
	const at = (kind: string) => found[manifests.findIndex(m => m.kind === kind)];
	return { live: at("Deployment") as V1Deployment | undefined, service: at("Service") as V1Service | undefined };
}

/** Deletes every object generated for the entity, its env objects too. */
export async function deleteGenerated(kube: KubeClient, doc: StoredDeployment): Promise<void> {
	// One list per kind for both components (not one per kind and component).
	await kube.prune(SWEPT_KINDS, doc.namespaceName, ownedSelector(doc.id, DEPLOYMENT_KIND, ENV_KIND));
}

function describe(err: unknown): { reason: string; message: string } {
	const e = err as { type?: string; message?: string };
	return { reason: isHeldError(err) ? HELD_REASON : (e?.type ?? "Error"), message: e?.message ?? String(err) };
}

/**
 * Catalog images by id as they were last read, so that the passes (one per watch event, resync or
 * write) do not each ask v1.k8s.images. Forgotten whenever the catalog changes (any write to the
 * images collection, on any node); an answer read across such a change is not kept.
 */
export class ImageCache {
	private readonly images = new Map<string, CatalogImage>();
	private generation = 0;

	/** The image with id `id`, read through `load` unless it is known. */
	async resolve(id: string, load: () => Promise<CatalogImage>): Promise<CatalogImage> {
		const known = this.images.get(id);
		if (known) return known;
		const generation = this.generation;
		const image = await load();
		if (generation === this.generation) this.images.set(image.id, image);
		return image;
	}

	/** An image an action has just read (fresh: it validated a write with it). */
	remember(image: CatalogImage): void {
		this.images.set(image.id, image);
	}

	clear(): void {
		this.generation++;
		this.images.clear();
	}
}

/** What one pass needs from the service. */
export interface PassDeps {
	kube: KubeClient;
	baseDomain: string;
	load(id: string): Promise<StoredDeployment | undefined>;
	/** The entity's catalog image. */
	image(doc: StoredDeployment): Promise<CatalogImage>;
	/** The leader's caches, once synced; undefined elsewhere. */
	cache(): LiveCache | undefined;
	/** Whether this pass was asked to apply even when the caches say nothing differs (once). */
	forced(id: string): boolean;
	writeStatus(doc: StoredDeployment, status: DeploymentStatus, appliedFingerprint?: string): Promise<void>;
	requeue(id: string): void;
	teardown(doc: StoredDeployment): Promise<void>;
	/** Whether the entity's namespace is still the one it was made in (lib/namespaces/identity.ts); if not, it is marked orphaned. */
	admit(doc: StoredDeployment): Promise<boolean>;
	/** Deletes what a pass applied for an entity deleted meanwhile (lib/tombstones.ts). */
	withdraw(doc: StoredDeployment): Promise<void>;
}

/** The status of an entity whose namespace was deleted or made again: nothing of it is applied any more. */
export function orphanedStatus(doc: StoredDeployment, why: Orphaning, now: string): DeploymentStatus {
	return { ...deploymentStatus(undefined, { ok: false, reason: why.reason, message: why.message }, doc.status?.conditions, now), phase: "Orphaned" };
}

/**
 * Level-based: reads the entity, the catalog image and the env objects, applies what they add up
 * to, deletes generated objects that are no longer wanted, and records the outcome as conditions.
 */
export async function reconcileDeployment(deps: PassDeps, id: string): Promise<void> {
	const doc = await deps.load(id);
	if (!doc) return;
	if (doc.deleting) return deps.teardown(doc);
	const cache = deps.cache();
	let applied: Applied = {};
	let fingerprint: string;
	try {
		const env = await readEnvObjects(deps.kube, doc, cache);
		const heldEnv = heldEnvObjects(doc, env);
		if (heldEnv.length) throw heldError(doc.namespaceName, heldEnv);
		const manifests = manifestsOf(deps.baseDomain, doc, await deps.image(doc), env);
		fingerprint = manifestsFingerprint(manifests);
		// The watches and the resync mostly find everything as it should be: then the leader's
		// caches say so, and nothing is sent to the apiserver.
		const forced = deps.forced(id);
		const inCache = cache && !forced && doc.appliedFingerprint === fingerprint ? cachedWhenConverged(cache, doc, manifests) : undefined;
		if (inCache) applied = inCache;
		else {
			// Nothing goes into a namespace that is not the one the entity was made in.
			if (!(await deps.admit(doc))) return;
			await testApplyDelay();
			applied = await applyAndPrune(deps.kube, doc, manifests, cache);
		}
	} catch (err) {
		const fresh = await deps.load(id);
		if (isTombstoned(fresh)) await deps.withdraw(doc);
		else await deps.writeStatus(fresh as StoredDeployment, withNodePorts(deploymentStatus(applied.live, { ok: false, ...describe(err) }, fresh?.status?.conditions, new Date().toISOString()), applied.service ? assignedNodePorts(applied.service) : fresh?.status?.nodePorts));
		throw err;
	}
	// Deleted while this pass applied: what it applied goes again (the delete's teardown may have
	// listed the objects before these applies landed).
	const after = await deps.load(id);
	if (isTombstoned(after)) return deps.withdraw(doc);
	// If the entity changed while this pass applied an older version of it (a scale or an env change
	// racing a watch-triggered pass), converge again instead of leaving the stale apply.
	if (after?.updatedAt !== doc.updatedAt) deps.requeue(id);
	await deps.writeStatus(doc, withNodePorts(deploymentStatus(applied.live, { ok: true }, doc.status?.conditions, new Date().toISOString()), assignedNodePorts(applied.service)), fingerprint);
}
