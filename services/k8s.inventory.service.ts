import { Errors, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
	createEnv,
	deploymentDiff,
	deriveAdoption,
	envObjectKey,
	envReferences,
	imageCandidates,
	publicEnv,
	resolveEnv,
	selects,
	type AdoptionNote,
	type AdoptionSpec,
	type Change,
	type DerivedEnv,
	type EnvObjects,
} from "../lib/adopt";
import { conflict, forbidden, invalidField, NOT_RETRIED, notFound, unauthorized } from "../lib/errors";
import {
	ANNOTATION_SUPERSEDED_AT,
	ANNOTATION_SUPERSEDED_BY,
	INVENTORY_KINDS,
	InventoryStore,
	KIND_NAMES,
	NAMESPACED_KINDS,
	QUERY_KINDS,
	expandKind,
	parseLabelSelector,
	retireDecisions,
	toRecord,
	type ControllerRecord,
	type InventoryKind,
	type InventoryPage,
	type InventoryView,
	type LabelPredicate,
	type NamespaceSummary,
	type Provenance,
	type QueryKind,
	type ServiceRecord,
} from "../lib/inventory";
import { getKubeClient, Kinds, type KubeClient, type KubernetesObject, type ResilientInformer, type V1ConfigMap, type V1Deployment, type V1ReplicaSet, type V1Secret } from "../lib/k8s";
import type { CatalogImage, DeploymentEntity } from "../lib/manifests/deployment";
import { isManaged, LABEL_ID } from "../lib/manifests/labels";
import { createControllerMixin, type ControllerMethods } from "../mixins/controller.mixin";
import { isAdmin, isUnscoped, type CallerMeta } from "../mixins/membership.mixin";

// ---------------------------------------------------------------------------------------------
// Types

export interface ListParams {
	kind: QueryKind;
	/** A namespace's name. */
	namespace?: string;
	provenance?: Provenance;
	/** Names containing this. */
	name?: string;
	/** A Kubernetes label selector: `app=web,tier!=db`. */
	label?: string;
	limit?: number;
	offset?: number;
}

export interface GetParams {
	kind: Exclude<InventoryKind, "namespaces">;
	namespace: string;
	name: string;
}

export interface NamespaceParams {
	name: string;
}

export interface AdoptParams {
	/** The namespace's name. */
	namespace: string;
	/** The Deployment's name. */
	name: string;
	/** Without it, nothing changes: the answer shows what adoption would do. */
	confirm?: boolean;
	/** A catalog image (id, name or reference) when the live image is not in the catalog. */
	image?: string;
}

export interface SummaryView {
	/** False until every informer has listed once. */
	synced: boolean;
	counts: Partial<Record<InventoryKind, number>>;
}

/** What an adoption does (dry run) or did (confirmed). */
export interface AdoptionPlan {
	namespace: string;
	name: string;
	confirmed: boolean;
	image: { id: string; name: string };
	/** The Berth deployment's params; env vars read from Secrets are shown by reference only. */
	spec: Omit<AdoptionSpec, "env" | "envFrom"> & { image: string; env?: DerivedEnv[] };
	/** Field by field, the live Deployment against the one Berth would apply. */
	diff: Change[];
	/** The other objects Berth would apply, and whether one of that name is there already. */
	objects: { kind: string; name: string; exists: boolean; provenance?: Provenance }[];
	/** What the live Deployment has that the Berth deployment will not. */
	notes: AdoptionNote[];
	/** The created entity, once confirmed. */
	deployment?: DeploymentEntity;
}

interface NamespaceRef {
	id: string;
	name: string;
	owner: string;
	members: string[];
}

export interface InventorySettings extends ServiceSettingSchema {
	rest: string;
	/** How long old pods of an adopted Deployment may wait for the new ones before they go anyway. */
	retireTimeoutSeconds: number;
	/** Period of the sweep that retires them when no event came. */
	sweepSeconds: number;
	/** How long a confirmed adoption waits for the old Deployment to be gone. */
	orphanWaitSeconds: number;
}

interface InventoryMethods {
	visibleNamespaces(ctx: Context<unknown, CallerMeta>): Promise<ReadonlySet<string> | undefined>;
	requireNamespace(ctx: Context<unknown, CallerMeta>, namespace: string): Promise<ReadonlySet<string> | undefined>;
	onEvent(kind: InventoryKind, event: "add" | "update" | "delete", obj: KubernetesObject): void;
	scheduleRetire(): void;
	retire(): Promise<void>;
	catalogImage(ctx: Context<unknown, CallerMeta>, ref: string, explicit: boolean): Promise<CatalogImage>;
	acceptedParams(action: string): Set<string>;
	adopt(ctx: Context<AdoptParams, CallerMeta>): Promise<AdoptionPlan>;
	replaceWithBerth(ctx: Context<AdoptParams, CallerMeta>, live: V1Deployment, params: Record<string, unknown>): Promise<DeploymentEntity>;
	envValues(spec: AdoptionSpec): Promise<EnvObjects>;
	hasService(name: string): boolean;
}

interface InventoryLocals {
	store: InventoryStore;
	informers: ResilientInformer<KubernetesObject>[];
	/** ReplicaSets an adoption left behind, by namespace/name. */
	superseded: Map<string, ControllerRecord>;
	retiring: Set<string>;
	/** Whether this node retires old ReplicaSets (the leader does; every node keeps records). */
	leading: boolean;
	retireTimer?: NodeJS.Timeout;
	sweepTimer?: NodeJS.Timeout;
	kube?: KubeClient;
}

type InventoryThis = InventoryMethods & ControllerMethods & InventoryLocals & Service<InventorySettings>;

// ---------------------------------------------------------------------------------------------
// Helpers

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const nsRule = { type: "string", pattern: DNS1123_SUBDOMAIN, min: 1, max: 63 } as const;
const nameRule = { type: "string", pattern: DNS1123_SUBDOMAIN, min: 1, max: 253 } as const;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Metadata the informer's cache needs to tell a relist from a change; the rest lives in the record. */
const CACHE_METADATA = new Set(["name", "namespace", "resourceVersion", "uid"]);

/**
 * Shrinks an object the informer caches to what its cache compares (name, namespace,
 * resourceVersion). The inventory keeps its own compact record, so the cache holding every pod
 * and every Secret's data a second time would only cost memory (client-go's informers offer the
 * same through a transform function).
 */
function slim(obj: KubernetesObject): void {
	for (const key of Object.keys(obj)) if (key !== "metadata" && key !== "kind" && key !== "apiVersion") delete (obj as Record<string, unknown>)[key];
	const meta = obj.metadata as Record<string, unknown> | undefined;
	if (meta) for (const key of Object.keys(meta)) if (!CACHE_METADATA.has(key)) delete meta[key];
}

function key(namespace: string | undefined, name: string): string {
	return `${namespace ?? ""}/${name}`;
}

function decode(obj: V1ConfigMap | V1Secret, kind: "ConfigMap" | "Secret"): Record<string, string> {
	if (kind === "ConfigMap") return { ...((obj as V1ConfigMap).data ?? {}) };
	return Object.fromEntries(Object.entries((obj as V1Secret).data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

async function sleep(ms: number): Promise<void> {
	await new Promise(r => setTimeout(r, ms));
}

/** The live object, freed of what the apiserver set, to create it again. */
function recreatable(live: V1Deployment): V1Deployment {
	const { status: _status, ...rest } = JSON.parse(JSON.stringify(live)) as V1Deployment;
	const meta = rest.metadata ?? {};
	for (const f of ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"] as const) delete meta[f];
	meta.finalizers = meta.finalizers?.filter(f => f !== "orphan");
	return { ...rest, apiVersion: "apps/v1", kind: "Deployment", metadata: meta };
}

// ---------------------------------------------------------------------------------------------
// Service

/**
 * v1.k8s.inventory: everything in the cluster, made by Berth or not, as compact records kept in
 * memory from cluster-wide informers (a restart relists; nothing is stored). Queries are scoped
 * per caller: administrators see every namespace, others the namespaces they own or are members
 * of. `adopt` turns an external Deployment into a Berth deployment entity.
 */
const InventoryService: ServiceSchema<InventorySettings, InventoryMethods, InventoryLocals, InventoryThis> = {
	name: "k8s.inventory",
	version: 1,
	mixins: [createControllerMixin()],
	settings: { rest: "/v1/k8s/inventory", retireTimeoutSeconds: 300, sweepSeconds: 15, orphanWaitSeconds: 30 },
	hooks: {
		before: {
			"*": [
				function requireCaller(ctx: Context<unknown, CallerMeta>) {
					if (!isUnscoped(ctx) && !ctx.meta?.userID) throw unauthorized("This action needs a caller (ctx.meta.userID)");
				},
			],
		},
	},
	actions: {
		/** Counts per kind over what the caller may see, and whether the informers have listed. */
		summary: {
			rest: "GET /",
			summary: "Inventory counts per kind",
			params: {},
			async handler(this: InventoryThis, ctx: Context<Record<string, never>, CallerMeta>): Promise<SummaryView> {
				const visible = await this.visibleNamespaces(ctx);
				const counts: Partial<Record<InventoryKind, number>> = {};
				for (const ns of this.store.namespaces(visible)) {
					counts.namespaces = (counts.namespaces ?? 0) + 1;
					for (const [kind, n] of Object.entries(ns.counts) as [InventoryKind, number][]) counts[kind] = (counts[kind] ?? 0) + n;
				}
				return { synced: this.informers.length === KIND_NAMES.length && this.informers.every(i => i.hasSynced), counts };
			},
		},

		list: {
			rest: "GET /:kind",
			summary: "Browse the inventory by kind, with filters and pages",
			params: {
				kind: { type: "enum", values: [...QUERY_KINDS] },
				namespace: { ...nsRule, optional: true },
				provenance: { type: "enum", values: ["berth", "external"], optional: true },
				name: { type: "string", min: 1, max: 253, optional: true },
				label: { type: "string", min: 1, max: 1024, optional: true },
				limit: { type: "number", integer: true, min: 1, max: MAX_LIMIT, optional: true, convert: true },
				offset: { type: "number", integer: true, min: 0, max: 1_000_000, optional: true, convert: true },
			},
			async handler(this: InventoryThis, ctx: Context<ListParams, CallerMeta>): Promise<InventoryPage> {
				const p = ctx.params;
				let label: LabelPredicate | undefined;
				if (p.label) {
					try {
						label = parseLabelSelector(p.label);
					} catch (err) {
						throw invalidField("label", (err as Error).message, p.label);
					}
				}
				const visible = p.namespace ? await this.requireNamespace(ctx, p.namespace) : await this.visibleNamespaces(ctx);
				const page = this.store.query(expandKind(p.kind), { visible, namespace: p.namespace, provenance: p.provenance, name: p.name, label, limit: p.limit ?? DEFAULT_LIMIT, offset: p.offset ?? 0 });
				if (p.kind === "namespaces") page.items = page.items.map(r => ({ ...(r as NamespaceSummary), counts: this.store.counts(r.name) }));
				return page;
			},
		},

		getNamespace: {
			rest: "GET /namespaces/:name",
			summary: "One namespace with the number of objects of each kind",
			params: { name: nsRule },
			async handler(this: InventoryThis, ctx: Context<NamespaceParams, CallerMeta>): Promise<NamespaceSummary> {
				await this.requireNamespace(ctx, ctx.params.name);
				const [summary] = this.store.namespaces(new Set([ctx.params.name]));
				if (!summary) throw notFound("Namespace", ctx.params.name);
				return summary;
			},
		},

		get: {
			rest: "GET /:kind/:namespace/:name",
			summary: "One object of the inventory",
			params: {
				kind: { type: "enum", values: [...NAMESPACED_KINDS] },
				namespace: nsRule,
				name: nameRule,
			},
			async handler(this: InventoryThis, ctx: Context<GetParams, CallerMeta>): Promise<InventoryView> {
				const { kind, namespace, name } = ctx.params;
				const what = INVENTORY_KINDS[kind];
				const visible = await this.visibleNamespaces(ctx);
				// Another tenant's namespace looks exactly like a missing object.
				const rec = !visible || visible.has(namespace) ? this.store.get(kind, namespace, name) : undefined;
				if (!rec) throw notFound(what, `${namespace}/${name}`);
				return this.store.view(rec);
			},
		},

		adopt: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /adopt",
			summary: "Adopt an external Deployment into a Berth deployment (dry run unless confirm)",
			params: {
				namespace: nsRule,
				name: nameRule,
				confirm: { type: "boolean", optional: true, convert: true },
				image: { type: "string", min: 1, max: 512, optional: true },
			},
			async handler(this: InventoryThis, ctx: Context<AdoptParams, CallerMeta>): Promise<AdoptionPlan> {
				return this.adopt(ctx);
			},
		},
	},
	methods: {
		/** Names of the namespaces the caller may see; undefined: all of them. */
		async visibleNamespaces(this: InventoryThis, ctx: Context<unknown, CallerMeta>): Promise<ReadonlySet<string> | undefined> {
			if (isUnscoped(ctx)) return undefined;
			const confined = ctx.meta?.namespaces;
			if (isAdmin(ctx.meta)) return confined ? new Set(confined) : undefined;
			if (!this.hasService("v1.k8s.namespaces")) return new Set();
			// The namespaces service applies membership and the key's confinement itself.
			const mine = await ctx.call<NamespaceRef[], { query: Record<string, unknown> }>("v1.k8s.namespaces.find", { query: {} });
			return new Set(mine.map(ns => ns.name));
		},

		/** The caller's visibility, after checking it covers `namespace` (404 otherwise, as for a missing one). */
		async requireNamespace(this: InventoryThis, ctx: Context<unknown, CallerMeta>, namespace: string): Promise<ReadonlySet<string> | undefined> {
			const visible = await this.visibleNamespaces(ctx);
			const exists = visible ? visible.has(namespace) : Boolean(this.store.get("namespaces", undefined, namespace));
			if (!exists) throw notFound("Namespace", namespace);
			return visible;
		},

		onEvent(this: InventoryThis, kind: InventoryKind, event: "add" | "update" | "delete", obj: KubernetesObject): void {
			const namespace = obj.metadata?.namespace;
			const name = obj.metadata?.name ?? "";
			if (event === "delete") {
				this.store.remove(kind, namespace, name);
				if (kind === "replicasets") this.superseded.delete(key(namespace, name));
				return;
			}
			const rec = toRecord(obj, kind);
			slim(obj);
			if (!rec) return;
			this.store.upsert(kind, rec);
			if (kind === "replicasets") {
				const rs = rec as ControllerRecord;
				if (rs.supersededBy) {
					this.superseded.set(key(namespace, name), rs);
					this.scheduleRetire();
				} else this.superseded.delete(key(namespace, name));
			} else if (kind === "deployments" && this.superseded.size && rec.provenance === "berth") this.scheduleRetire();
		},

		/** Coalesces the bursts of Deployment status updates a rollout makes into one look. */
		scheduleRetire(this: InventoryThis): void {
			if (!this.leading || this.retireTimer) return;
			this.retireTimer = setTimeout(() => {
				this.retireTimer = undefined;
				this.retire().catch(err => this.logger.warn("Retiring adopted ReplicaSets failed; the sweep retries:", (err as Error).message));
			}, 200);
		},

		/** Deletes the old ReplicaSets of adopted Deployments whose Berth pods are up (or that waited too long). */
		async retire(this: InventoryThis): Promise<void> {
			if (!this.kube || !this.superseded.size) return;
			const decisions = retireDecisions(this.store, this.superseded.values(), Date.now(), { timeoutMs: this.settings.retireTimeoutSeconds * 1000 });
			for (const d of decisions) {
				const k = key(d.namespace, d.name);
				if (this.retiring.has(k)) continue;
				this.retiring.add(k);
				try {
					await this.kube.delete({ apiVersion: "apps/v1", kind: "ReplicaSet", name: d.name, namespace: d.namespace });
					this.logger.info(`Adopted deployment's old ReplicaSet ${k} removed (${d.reason})`);
				} finally {
					this.retiring.delete(k);
				}
			}
		},

		/** A catalog image by id, name or reference; the live image is also tried without Docker Hub's implicit parts. */
		async catalogImage(this: InventoryThis, ctx: Context<unknown, CallerMeta>, ref: string, explicit: boolean): Promise<CatalogImage> {
			for (const candidate of explicit ? [ref] : imageCandidates(ref)) {
				try {
					return await ctx.call<CatalogImage, { name: string }>("v1.k8s.images.getImage", { name: candidate });
				} catch (err) {
					const code = (err as { code?: number }).code;
					if (code !== 404 && code !== 422) throw err;
				}
			}
			throw explicit
				? invalidField("image", `Image "${ref}" is not in the catalog`, ref)
				: invalidField("image", `The Deployment runs "${ref}", which is not in the catalog: name a catalog image in \`image\` to adopt it with that`, ref);
		},

		/** The params an action declares (wherever it runs): adoption passes only what the deployments service accepts. */
		acceptedParams(this: InventoryThis, action: string): Set<string> {
			const list = this.broker.registry.getActionList({ onlyAvailable: true, skipInternal: true, withEndpoints: false }) as unknown as Array<{ name: string; action?: { params?: Record<string, unknown> } }>;
			return new Set(Object.keys(list.find(a => a.name === action)?.action?.params ?? {}));
		},

		async adopt(this: InventoryThis, ctx: Context<AdoptParams, CallerMeta>): Promise<AdoptionPlan> {
			const { namespace, name } = ctx.params;
			const visible = await this.visibleNamespaces(ctx);
			if (visible && !visible.has(namespace)) throw notFound("Deployment", `${namespace}/${name}`);
			if (!this.hasService("v1.k8s.deployments") || !this.hasService("v1.k8s.namespaces") || !this.hasService("v1.k8s.images"))
				throw new Errors.MoleculerRetryableError("Adoption needs the namespaces, images and deployments services", 503, "SERVICE_UNAVAILABLE");
			let ns: NamespaceRef;
			try {
				ns = await ctx.call<NamespaceRef, { ref: string }>("v1.k8s.namespaces.lookup", { ref: namespace });
			} catch (err) {
				if ((err as { code?: number }).code !== 404) throw err;
				if (visible) throw notFound("Deployment", `${namespace}/${name}`);
				throw invalidField("namespace", `"${namespace}" is not a Berth namespace; Berth deployments live in Berth namespaces`, namespace);
			}
			if (!isUnscoped(ctx) && !isAdmin(ctx.meta) && ns.owner !== ctx.meta.userID) throw forbidden("Only the namespace's owner or an administrator adopts deployments");

			const kube = this.kube ?? getKubeClient();
			const live = await kube.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name, namespace });
			if (!live) throw notFound("Deployment", `${namespace}/${name}`);
			if (isManaged(live.metadata?.labels)) throw conflict(`Deployment ${namespace}/${name} is already managed by Berth`, { id: live.metadata?.labels?.[LABEL_ID] });

			let derivation;
			try {
				derivation = deriveAdoption(live);
			} catch (err) {
				throw invalidField("name", `Deployment ${namespace}/${name} cannot be adopted: ${(err as Error).message}`, name);
			}
			const { spec } = derivation;
			const notes = [...derivation.notes];
			const image = await this.catalogImage(ctx, ctx.params.image ?? spec.image, ctx.params.image !== undefined);

			// What the deployments service accepts decides what is carried over (mounts and the account need its joint fields).
			const accepted = this.acceptedParams("v1.k8s.deployments.create");
			const params: Record<string, unknown> = { name: spec.name, namespace, image: image.id, replicas: spec.replicas };
			for (const field of ["ports", "volumes", "resources", "mounts", "serviceAccount"] as const) {
				if (spec[field] === undefined) continue;
				if (accepted.has(field)) params[field] = spec[field];
				else notes.push({ field, message: `v1.k8s.deployments does not take \`${field}\` yet; not carried over` });
			}

			// Env for display: keys of the referenced objects from the inventory, never a value.
			const keysOnly: EnvObjects = new Map();
			for (const ref of envReferences(spec)) {
				const rec = this.store.get(ref.kind === "Secret" ? "secrets" : "configmaps", namespace, ref.name) as { keys: string[] } | undefined;
				if (rec) keysOnly.set(envObjectKey(ref.kind, ref.name), Object.fromEntries(rec.keys.map(k => [k, undefined])));
			}
			const shown = resolveEnv(spec, keysOnly);
			notes.push(...shown.notes);

			const { manifests } = await ctx.call<{ manifests: KubernetesObject[] }, Record<string, unknown>>("v1.k8s.deployments.generate", params);
			const desired = manifests.find(m => m.kind === "Deployment") as V1Deployment | undefined;
			const diff = desired ? deploymentDiff(live, desired) : [];
			const objects = manifests
				.filter(m => m !== desired)
				.map(m => {
					const kind = Object.entries(INVENTORY_KINDS).find(([, k]) => k === m.kind)?.[0] as InventoryKind | undefined;
					const existing = kind ? this.store.get(kind, namespace, m.metadata?.name as string) : undefined;
					return { kind: m.kind as string, name: m.metadata?.name as string, exists: Boolean(existing), ...(existing ? { provenance: existing.provenance } : {}) };
				});
			for (const o of objects) if (o.exists && o.provenance === "external") notes.push({ field: `${o.kind}/${o.name}`, message: `An external ${o.kind} of this name exists; Berth's replaces its fields` });
			const liveLabels = live.spec?.template?.metadata?.labels;
			const desiredLabels = desired?.spec?.template?.metadata?.labels;
			for (const svc of this.store.inNamespace("services", namespace) as IterableIterator<ServiceRecord>)
				if (svc.provenance === "external" && selects(svc.selector, liveLabels) && !selects(svc.selector, desiredLabels))
					notes.push({ field: `Service/${svc.name}`, message: `Selects the current pods by ${JSON.stringify(svc.selector)}; Berth's pods will not match it` });

			const plan: AdoptionPlan = {
				namespace,
				name,
				confirmed: false,
				image: { id: image.id, name: image.name },
				spec: { ...params, image: image.name, ...(shown.env.length ? { env: publicEnv(shown.env) } : {}) } as AdoptionPlan["spec"],
				diff,
				objects,
				notes,
			};
			if (!ctx.params.confirm) return plan;

			const env = resolveEnv(spec, await this.envValues(spec)).env;
			if (env.length) params.env = createEnv(env);
			const deployment = await this.replaceWithBerth(ctx, live, params);
			// A deployment entity was created: 201, and where it lives now.
			Object.assign(ctx.meta, { $statusCode: 201, $location: `/api/v1/k8s/deployments/${deployment.id}` });
			return { ...plan, confirmed: true, deployment };
		},

		/**
		 * Swaps the live Deployment for Berth's. The selector of a Deployment cannot change, so the
		 * old one is deleted with its ReplicaSets orphaned: its pods keep serving until the Berth
		 * deployment's are available, then `retire` removes them. If Berth cannot create its
		 * deployment, the old Deployment is put back and takes its ReplicaSets again.
		 */
		async replaceWithBerth(this: InventoryThis, ctx: Context<AdoptParams, CallerMeta>, live: V1Deployment, params: Record<string, unknown>): Promise<DeploymentEntity> {
			const kube = this.kube ?? getKubeClient();
			const namespace = live.metadata?.namespace as string;
			const name = live.metadata?.name as string;
			const uid = live.metadata?.uid;
			const owned = (await kube.list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace })).filter(rs => rs.metadata?.ownerReferences?.some(o => o.uid === uid));
			const mark = (annotations: Record<string, string> | undefined) =>
				Promise.all(owned.map(rs => kube.apply({ apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: rs.metadata?.name, namespace, ...(annotations ? { annotations } : {}) } } as KubernetesObject)));
			// Marked first: however the rest goes, an orphaned ReplicaSet says what replaces it.
			await mark({ [ANNOTATION_SUPERSEDED_BY]: name, [ANNOTATION_SUPERSEDED_AT]: new Date().toISOString() });
			await kube.call(`orphan Deployment ${namespace}/${name}`, () => kube.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: "Orphan" }));
			const deadline = Date.now() + this.settings.orphanWaitSeconds * 1000;
			while (await kube.get({ apiVersion: "apps/v1", kind: "Deployment", name, namespace })) {
				if (Date.now() > deadline) throw conflict(`Deployment ${namespace}/${name} is still being deleted; try again`, { namespace, name });
				await sleep(100);
			}
			try {
				return await ctx.call<DeploymentEntity, Record<string, unknown>>("v1.k8s.deployments.create", params);
			} catch (err) {
				this.logger.warn(`Adopting ${namespace}/${name} failed; putting the Deployment back:`, (err as Error).message);
				await kube.call(`restore Deployment ${namespace}/${name}`, () => kube.apps.createNamespacedDeployment({ namespace, body: recreatable(live) }));
				// Applying without the annotations drops them: Berth owned them, no one else.
				await mark(undefined).catch(e => this.logger.warn("Could not unmark the ReplicaSets:", (e as Error).message));
				throw err;
			}
		},

		/** The data of the ConfigMaps and Secrets the env reads, fresh from the cluster (for the create call only). */
		async envValues(this: InventoryThis, spec: AdoptionSpec): Promise<EnvObjects> {
			const kube = this.kube ?? getKubeClient();
			const out: EnvObjects = new Map();
			for (const ref of envReferences(spec)) {
				const obj = await kube.get<V1ConfigMap | V1Secret>({ apiVersion: "v1", kind: ref.kind, name: ref.name, namespace: spec.namespace });
				if (obj) out.set(envObjectKey(ref.kind, ref.name), decode(obj, ref.kind));
			}
			return out;
		},

		hasService(this: InventoryThis, name: string): boolean {
			return this.broker.registry.hasService(name, undefined as unknown as string);
		},
	},
	created(this: InventoryThis) {
		this.store = new InventoryStore();
		this.informers = [];
		this.superseded = new Map();
		this.retiring = new Set();
		this.leading = false;
	},
	async started(this: InventoryThis) {
		// A fresh index: the lists below bring back everything, including what changed while stopped.
		this.store = new InventoryStore();
		this.superseded.clear();
		try {
			this.kube = getKubeClient();
		} catch (err) {
			this.logger.error("No Kubernetes cluster configured; the inventory stays empty:", (err as Error).message);
			return;
		}
		for (const kind of KIND_NAMES) {
			const informer = this.kube.informer<KubernetesObject>(Kinds[INVENTORY_KINDS[kind]], (event, obj) => this.onEvent(kind, event, obj), {
				onError: (err, retryInMs) => this.logger.warn(`${INVENTORY_KINDS[kind]} inventory watch failed, restarting in ${retryInMs} ms:`, (err as Error)?.message ?? err),
			});
			this.informers.push(informer);
		}
		// Each start lists, then watches: the records are all there once this resolves.
		await Promise.all(this.informers.map(i => i.start()));
		this.logger.info(`Inventory listed ${this.store.size()} objects`);
		// Every node keeps the records it serves; one node removes what adoptions left behind.
		await this.runWhileLeading({
			name: "inventory-retire",
			start: () => {
				this.leading = true;
				this.sweepTimer = setInterval(() => this.scheduleRetire(), this.settings.sweepSeconds * 1000);
				this.sweepTimer.unref?.();
				this.scheduleRetire();
			},
			stop: () => {
				this.leading = false;
				if (this.sweepTimer) clearInterval(this.sweepTimer);
			},
		});
	},
	async stopped(this: InventoryThis) {
		if (this.sweepTimer) clearInterval(this.sweepTimer);
		if (this.retireTimer) clearTimeout(this.retireTimer);
		await Promise.all(this.informers.map(i => i.stop()));
		this.informers = [];
	},
};

export default InventoryService;
