import { randomBytes } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { loadConfig } from "../lib/config";
import { conflict, invalid, NOT_RETRIED, notFound, quotaExceeded, type FieldError } from "../lib/errors";
import { getKubeClient, Kinds, type KubernetesObject, type ResourceKind, type V1Deployment, type V1PersistentVolumeClaim, type V1Pod } from "../lib/k8s";
import { LABEL_ID } from "../lib/manifests/labels";
import {
	claimSizes,
	ingressHost,
	isExposed,
	podFootprint,
	pvcName,
	quotaAmount,
	quotaShortfalls,
	specManifests,
	specObjectsSelector,
	specStatus,
	type QuotaShortfall,
	type SpecObject,
	type SpecStatus,
	type SpecTarget,
} from "../lib/manifests/spec";
import { checkExposure, gpuOptionsFromEnv, MAX_SPEC_BYTES, parseSpec, type GpuOptions, type ServiceSpec } from "../lib/specs";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { canSee, createMembershipMixin, isAdmin, isUnscoped, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";

// ---------------------------------------------------------------------------------------------
// Types

/** What `v1.k8s.namespaces.lookup` answers (docs/CONTRACTS.md). */
interface NamespaceRef {
	id: string;
	name: string;
	owner: string;
	members: string[];
}

interface QuotaReport {
	hard?: Record<string, string>;
	used?: Record<string, string>;
}

/** A v1.k8s.services entity: the seed's `docker_services` record, plus where and whether it runs. */
export interface ServiceEntity {
	id: string;
	/** Free text ("My NGINX Service"). */
	name: string;
	/** Namespace entity id. */
	namespace: string;
	/** The Kubernetes namespace. */
	namespaceName: string;
	/** The spec, YAML text in the seed's format. */
	deployment: string;
	exposed_service: string | null;
	exposed_port: number | null;
	/** The name of the generated Deployment, Service and Ingress (and the prefix of the claims'); fixed at creation. */
	resourceName: string;
	/** Whether a deploy is in effect. */
	deployed: boolean;
	deployedAt: string | null;
	/** The Ingress host, while deployed with an exposed port. */
	host: string | null;
	/** Whether the entity changed since its last deploy (another deploy applies the change). */
	pendingChanges: boolean;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

/** What the last deploy applied; the reconciler keeps the cluster matching it. */
interface AppliedSpec {
	deployment: string;
	exposed_service: string | null;
	exposed_port: number | null;
	at: string;
	/** One pod's share of the quota (stored as entries: quota keys have dots, which NeDB and MongoDB refuse in field names). */
	footprint: { resource: string; amount: number }[];
}

interface StoredService extends Omit<ServiceEntity, "deployed" | "deployedAt" | "host" | "pendingChanges"> {
	applied?: AppliedSpec | null;
	/** A delete in progress: the reconciler removes the objects (the claims too unless keepVolumes), then, with `remove`, the entity. */
	teardown?: { keepVolumes: boolean; remove: boolean } | null;
}

export interface CreateServiceParams {
	name: string;
	/** The caller's namespace, by entity id or name. */
	namespace: string;
	deployment: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface UpdateServiceParams {
	id: string;
	name?: string;
	deployment?: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface ValidateParams {
	deployment: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface IdParams {
	id: string;
}

export interface ListParams {
	namespace?: string;
}

export interface DeleteParams {
	id: string;
	/** Keep the PersistentVolumeClaims (and their data). */
	keepVolumes?: boolean;
}

export interface ValidateView {
	spec: ServiceSpec;
}

export interface ManifestsView {
	manifests: SpecObject[];
}

export interface DeployView extends ManifestsView {
	id: string;
	resourceName: string;
	host: string | null;
	deployedAt: string;
}

export interface ObjectView {
	kind: string;
	name: string;
}

export interface UndeployView {
	id: string;
	removed: ObjectView[];
	/** Claims left in place (keepVolumes). */
	kept: ObjectView[];
}

/** `$statusCode`/`$location` shape the REST answer (moleculer-web). */
type Meta = CallerMeta & { $statusCode?: number; $location?: string };

// ---------------------------------------------------------------------------------------------
// Validation

const idRule = { type: "string", min: 1, max: 64 } as const;
const nameRule = { type: "string", min: 1, max: 128, trim: true } as const;
// Characters, not bytes: parseSpec checks the byte size.
const deploymentRule = { type: "string", min: 1, max: MAX_SPEC_BYTES } as const;
const exposedServiceRule = { type: "string", min: 1, max: 63, optional: true, nullable: true } as const;
const exposedPortRule = { type: "number", integer: true, min: 1, max: 65535, optional: true, nullable: true, convert: true } as const;
const keepVolumesRule = { type: "boolean", optional: true, convert: true } as const;

/** moleculer-db's and the membership mixin's generic actions would bypass validation and the cluster. */
const GENERIC_ACTIONS = ["list", "find", "count", "create", "insert", "get", "update", "remove", "addMember", "removeMember", "transfer"];
const PUBLIC_FIELDS = ["name", "namespace", "namespaceName", "deployment", "exposed_service", "exposed_port", "resourceName", "owner", "members"];
/** Pruned when no longer wanted. Claims are not: only an explicit delete removes data. */
const PRUNABLE_KINDS: ResourceKind[] = [Kinds.Ingress, Kinds.Service, Kinds.Deployment];

function entries(record: Record<string, number>): { resource: string; amount: number }[] {
	return Object.entries(record).map(([resource, amount]) => ({ resource, amount }));
}

function fromEntries(list: { resource: string; amount: number }[] | undefined): Record<string, number> {
	return Object.fromEntries((list ?? []).map(e => [e.resource, e.amount]));
}

/**
 * A DNS-1035 label from free text ("My NGINX Service" → "my-nginx-service"), short enough that
 * the claims' and pods' names derived from it stay valid.
 */
export function slugOf(name: string): string {
	const slug = name
		.normalize("NFKD")
		.replace(/[\u0300-\u036f]/g, "")
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, "-")
		.replace(/^-+|-+$/g, "")
		.slice(0, 40)
		.replace(/-+$/, "");
	return /^[a-z]/.test(slug) ? slug : `svc${slug ? `-${slug}` : ""}`;
}

function randomSuffix(): string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
	return Array.from(randomBytes(5), b => alphabet[b % alphabet.length]).join("");
}

function refOf(obj: KubernetesObject): ObjectView {
	return { kind: obj.kind as string, name: obj.metadata?.name as string };
}

// ---------------------------------------------------------------------------------------------
// Service

export interface ServicesSettings extends ServiceSettingSchema {
	rest: string;
	baseDomain: string;
	resyncSeconds: number;
	gpuOptions: GpuOptions;
}

interface ServicesMethods {
	findService(ctx: Context<unknown, CallerMeta>, id: string): Promise<StoredService>;
	findRaw(query: Record<string, unknown>): Promise<StoredService[]>;
	loadDoc(id: string): Promise<StoredService | undefined>;
	publicView(doc: StoredService): ServiceEntity;
	lookupNamespace(ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef>;
	validateSpec(text: string, exposedService: string | null | undefined, exposedPort: number | null | undefined): ServiceSpec;
	allocateResourceName(nsId: string, nsName: string, name: string): Promise<string>;
	targetOf(doc: StoredService, source?: Pick<AppliedSpec, "exposed_service" | "exposed_port">): SpecTarget;
	checkOwnership(doc: StoredService, manifests: SpecObject[]): Promise<void>;
	checkVolumes(spec: ServiceSpec, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): void;
	checkQuota(ctx: Context<unknown, CallerMeta>, doc: StoredService, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): Promise<Record<string, number>>;
	dryRun(doc: StoredService, spec: ServiceSpec, manifests: SpecObject[]): Promise<void>;
	deploy(ctx: Context<unknown, CallerMeta>, id: string): Promise<{ doc: StoredService; manifests: SpecObject[] }>;
	undeploy(ctx: Context<unknown, CallerMeta>, id: string, keepVolumes: boolean, remove: boolean): Promise<UndeployView>;
	ownedObjects(doc: Pick<StoredService, "id" | "namespaceName">, kinds: ResourceKind[]): Promise<KubernetesObject[]>;
	converge(id: string): Promise<void>;
	teardown(doc: StoredService): Promise<void>;
	liveStatus(doc: StoredService): Promise<SpecStatus>;
}

interface ServicesLocals extends ControllerLocals {
	/** Resource names being handed out in this node (NeDB has no compound unique index). */
	creating: Set<string>;
}

type ServicesThis = DbBackedService<ServicesMethods & MembershipMethods & ControllerMethods & ServicesLocals & { settings: ServicesSettings }>;

/**
 * v1.k8s.services: multi-container services described in the KITeGG endpoint's YAML. The entity
 * holds the spec; a deploy validates it, checks the quota and the apiserver (dry run), records it
 * as applied and has the reconciler make the cluster match: a Deployment, a claim per volume, a
 * Service, and an Ingress when a port is exposed. The seed's routes are served at the root.
 */
const ServicesService: ServiceSchema<ServicesSettings, ServicesMethods, ServicesLocals, ServicesThis> = {
	name: "k8s.services",
	version: 1,
	// The first mixin wins: it drops the generic actions before this schema defines its own.
	mixins: [
		createControllerMixin<ServicesThis>({
			name: "k8s.services",
			reconcile: (self, id) => self.converge(id),
			listKeys: async self => (await self.findRaw({})).map(d => d.id),
			resyncMs: self => self.settings.resyncSeconds * 1000,
			// Every node applies its own requests through its own queue (one run per key at a time), and
			// answers once they are applied; the resync that heals drift runs on the leader only.
			everyNode: true,
		}),
		{ actions: Object.fromEntries(GENERIC_ACTIONS.map(a => [a, false])) },
		createDbMixin({ collection: "services", fields: PUBLIC_FIELDS }),
		createMembershipMixin({ entityName: "Service" }),
	],
	settings: { rest: "/v1/k8s/services" } as ServicesSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: { name: nameRule, namespace: { type: "string", min: 1, max: 128 }, deployment: deploymentRule, exposed_service: exposedServiceRule, exposed_port: exposedPortRule },
			async handler(this: ServicesThis, ctx: Context<CreateServiceParams, Meta>): Promise<ServiceEntity> {
				const p = ctx.params;
				this.validateSpec(p.deployment, p.exposed_service, p.exposed_port);
				const ns = await this.lookupNamespace(ctx, p.namespace);
				const resourceName = await this.allocateResourceName(ns.id, ns.name, p.name);
				const lock = `${ns.id}/${resourceName}`;
				try {
					// Everyone who shares the namespace sees its services, as with deployments.
					const members = [ns.owner, ...(ns.members ?? [])].filter(m => m && m !== ctx.meta.userID && m !== SYSTEM_META.userID);
					const saved = await this.insertEntity(ctx, {
						name: p.name,
						namespace: ns.id,
						namespaceName: ns.name,
						deployment: p.deployment,
						exposed_service: p.exposed_service ?? null,
						exposed_port: p.exposed_port ?? null,
						resourceName,
						applied: null,
						teardown: null,
						owner: ctx.meta.userID,
						members: Array.from(new Set(members)),
					});
					const entity = this.publicView((await this.loadDoc(String(saved.id))) as StoredService);
					ctx.emit("k8s.services.created", entity);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/api/v1/k8s/services/${entity.id}`;
					return entity;
				} finally {
					this.creating.delete(lock);
				}
			},
		},
		list: {
			rest: "GET /",
			params: { namespace: { type: "string", min: 1, max: 128, optional: true } },
			async handler(this: ServicesThis, ctx: Context<ListParams, CallerMeta>): Promise<ServiceEntity[]> {
				const filters: Record<string, unknown>[] = [];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace)).id });
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = this.scopedQuery(ctx, filters.length === 0 ? {} : filters.length === 1 ? filters[0] : { $and: filters });
				return (await this.findRaw(query)).filter(d => !d.teardown?.remove).map(d => this.publicView(d));
			},
		},
		get: {
			rest: "GET /:id",
			params: { id: idRule },
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<ServiceEntity> {
				return this.publicView(await this.findService(ctx, ctx.params.id));
			},
		},
		/** Changes the stored spec; what runs changes with the next deploy, as in the seed. */
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			params: { id: idRule, name: { ...nameRule, optional: true }, deployment: { ...deploymentRule, optional: true }, exposed_service: exposedServiceRule, exposed_port: exposedPortRule },
			async handler(this: ServicesThis, ctx: Context<UpdateServiceParams, CallerMeta>): Promise<ServiceEntity> {
				const doc = await this.findService(ctx, ctx.params.id);
				const changes: Partial<StoredService> = {};
				if (ctx.params.name !== undefined) changes.name = ctx.params.name;
				if (ctx.params.deployment !== undefined) changes.deployment = ctx.params.deployment;
				if (ctx.params.exposed_service !== undefined) changes.exposed_service = ctx.params.exposed_service;
				if (ctx.params.exposed_port !== undefined) changes.exposed_port = ctx.params.exposed_port;
				const next = { ...doc, ...changes };
				this.validateSpec(next.deployment, next.exposed_service, next.exposed_port);
				await this.patchEntity(ctx, doc.id, changes);
				const entity = this.publicView((await this.loadDoc(doc.id)) as StoredService);
				ctx.emit("k8s.services.updated", entity);
				return entity;
			},
		},
		/** Removes the entity and everything deployed for it; the claims stay with keepVolumes=true. */
		remove: {
			rest: "DELETE /:id",
			params: { id: idRule, keepVolumes: keepVolumesRule },
			async handler(this: ServicesThis, ctx: Context<DeleteParams, CallerMeta>): Promise<UndeployView> {
				return this.undeploy(ctx, ctx.params.id, ctx.params.keepVolumes ?? false, true);
			},
		},
		/** Checks a spec without storing it: the parsed spec, or 422 with every error's YAML path. */
		validate: {
			rest: "POST /validate",
			params: { deployment: deploymentRule, exposed_service: exposedServiceRule, exposed_port: exposedPortRule },
			async handler(this: ServicesThis, ctx: Context<ValidateParams, CallerMeta>): Promise<ValidateView> {
				return { spec: this.validateSpec(ctx.params.deployment, ctx.params.exposed_service, ctx.params.exposed_port) };
			},
		},
		/** What a deploy would apply now, without applying it. */
		manifests: {
			rest: "GET /:id/manifests",
			params: { id: idRule },
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<ManifestsView> {
				const doc = await this.findService(ctx, ctx.params.id);
				const spec = this.validateSpec(doc.deployment, doc.exposed_service, doc.exposed_port);
				return { manifests: specManifests(this.targetOf(doc), spec, this.settings) };
			},
		},
		deploy: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /:id/deploy",
			params: { id: idRule },
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<DeployView> {
				const { doc, manifests } = await this.deploy(ctx, ctx.params.id);
				const view = this.publicView(doc);
				return { id: doc.id, resourceName: doc.resourceName, host: view.host, deployedAt: view.deployedAt as string, manifests };
			},
		},
		status: {
			rest: "GET /:id/status",
			params: { id: idRule },
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<SpecStatus> {
				return this.liveStatus(await this.findService(ctx, ctx.params.id));
			},
		},
		/** Removes what was deployed and keeps the entity (the seed's DELETE); the claims stay with keepVolumes=true. */
		undeploy: {
			rest: "POST /:id/undeploy",
			params: { id: idRule, keepVolumes: keepVolumesRule },
			async handler(this: ServicesThis, ctx: Context<DeleteParams, CallerMeta>): Promise<UndeployView> {
				return this.undeploy(ctx, ctx.params.id, ctx.params.keepVolumes ?? false, false);
			},
		},

		// The KITeGG endpoint's routes, at the root, shapes unchanged.
		compatDeploy: {
			rest: { method: "PUT", fullPath: "/kubernetes/services/:id/deploy" },
			params: { id: idRule },
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<V1Deployment> {
				const { doc, manifests } = await this.deploy(ctx, ctx.params.id);
				const generated = manifests.find(m => m.kind === "Deployment") as V1Deployment;
				// The seed answers with the deployment spec: the Deployment as the apiserver now holds it.
				const live = await getKubeClient().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: doc.resourceName, namespace: doc.namespaceName });
				return live ?? generated;
			},
		},
		compatStatus: {
			rest: { method: "GET", fullPath: "/kubernetes/services/:id" },
			params: { id: idRule },
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<SpecStatus> {
				return this.liveStatus(await this.findService(ctx, ctx.params.id));
			},
		},
		compatDelete: {
			rest: { method: "DELETE", fullPath: "/kubernetes/services/:id" },
			params: { id: idRule, keepVolumes: keepVolumesRule },
			async handler(this: ServicesThis, ctx: Context<DeleteParams, CallerMeta>): Promise<UndeployView> {
				return this.undeploy(ctx, ctx.params.id, ctx.params.keepVolumes ?? false, false);
			},
		},
	},
	events: {
		/** A removed namespace takes its objects with it; the entities go too. */
		"k8s.namespaces.removed": {
			async handler(this: ServicesThis, ctx: Context<{ id?: string }>) {
				const nsId = ctx.params?.id;
				if (!nsId) return;
				for (const doc of await this.findRaw({ namespace: nsId })) {
					const removed = await this.removeEntity(this.systemContext(), doc.id);
					this.reconciler?.forget(doc.id);
					if (removed) this.broker.emit("k8s.services.removed", this.publicView(doc));
				}
			},
		},
	},
	methods: {
		/** A service the caller may see (API keys confined to namespaces see only those), else 404. */
		async findService(this: ServicesThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<StoredService> {
			const doc = await this.loadDoc(id);
			const confined = ctx.meta?.namespaces;
			const visible = doc && !doc.teardown?.remove && (isUnscoped(ctx) || isAdmin(ctx.meta) || canSee(ctx.meta, doc)) && (!confined || confined.includes(doc.namespaceName));
			if (!visible) throw notFound("Service", id);
			return doc;
		},

		async findRaw(this: ServicesThis, query: Record<string, unknown>): Promise<StoredService[]> {
			const rows = await this.adapter.find({ query, sort: ["createdAt"] });
			const docs: StoredService[] = [];
			for (const row of rows) {
				const doc = this.adapter.afterRetrieveTransformID(await this.adapter.entityToObject(row), "id") as unknown as StoredService;
				docs.push({ ...doc, id: String(doc.id) });
			}
			return docs;
		},

		async loadDoc(this: ServicesThis, id: string): Promise<StoredService | undefined> {
			const raw = await this.findStored(id);
			return raw ? ({ ...raw, id: String(raw.id) } as unknown as StoredService) : undefined;
		},

		publicView(this: ServicesThis, doc: StoredService): ServiceEntity {
			const applied = doc.applied ?? null;
			const pendingChanges = applied
				? applied.deployment !== doc.deployment || (applied.exposed_service ?? null) !== (doc.exposed_service ?? null) || (applied.exposed_port ?? null) !== (doc.exposed_port ?? null)
				: false;
			return {
				id: String(doc.id),
				name: doc.name,
				namespace: doc.namespace,
				namespaceName: doc.namespaceName,
				deployment: doc.deployment,
				exposed_service: doc.exposed_service ?? null,
				exposed_port: doc.exposed_port ?? null,
				resourceName: doc.resourceName,
				deployed: Boolean(applied),
				deployedAt: applied?.at ?? null,
				host: applied && isExposed(applied) ? ingressHost(doc, this.settings.baseDomain) : null,
				pendingChanges,
				owner: doc.owner,
				members: doc.members ?? [],
				createdAt: doc.createdAt,
				updatedAt: doc.updatedAt,
			};
		},

		async lookupNamespace(this: ServicesThis, ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef> {
			try {
				return await ctx.call<NamespaceRef, { ref: string }>("v1.k8s.namespaces.lookup", { ref });
			} catch (err) {
				if ((err as { code?: number }).code === 404) throw invalid(`Namespace "${ref}" not found`, [{ field: "namespace", message: `Namespace "${ref}" not found`, type: "reference", actual: ref }]);
				throw err;
			}
		},

		/** The parsed spec, or 422 naming every YAML path (and exposure field) at fault. */
		validateSpec(this: ServicesThis, text: string, exposedService: string | null | undefined, exposedPort: number | null | undefined): ServiceSpec {
			const result = parseSpec(text, { gpuOptions: this.settings.gpuOptions });
			if (!result.ok) throw invalid("Invalid deployment spec", result.errors);
			const errors: FieldError[] = checkExposure(result.spec, exposedService, exposedPort);
			if (errors.length) throw invalid("Invalid exposure", errors);
			return result.spec;
		},

		/**
		 * A name for the generated objects: the entity's name as a DNS label, unless another service of
		 * this namespace has it or an object of that name exists (a v1.k8s.deployments one, say);
		 * then with a random suffix.
		 */
		async allocateResourceName(this: ServicesThis, nsId: string, nsName: string, name: string): Promise<string> {
			const base = slugOf(name);
			const kube = getKubeClient();
			for (let attempt = 0; attempt < 8; attempt++) {
				const candidate = attempt === 0 ? base : `${base}-${randomSuffix()}`;
				const lock = `${nsId}/${candidate}`;
				if (this.creating.has(lock)) continue;
				// Reserved before the lookups, so two creates in this node cannot both pick it; the caller releases it.
				this.creating.add(lock);
				const stored = await this.findRaw({ namespace: nsId, resourceName: candidate });
				const existing = await Promise.all(
					[Kinds.Deployment, Kinds.Service, Kinds.Ingress].map(k => kube.get({ apiVersion: k.apiVersion, kind: k.kind, name: candidate, namespace: nsName })),
				);
				if (!stored.length && !existing.some(Boolean)) return candidate;
				this.creating.delete(lock);
			}
			throw conflict(`No free object name for "${name}" in namespace "${nsName}"; choose another name`, { name });
		},

		targetOf(this: ServicesThis, doc: StoredService, source: Pick<AppliedSpec, "exposed_service" | "exposed_port"> = doc): SpecTarget {
			return { id: doc.id, resourceName: doc.resourceName, namespaceName: doc.namespaceName, exposed_service: source.exposed_service, exposed_port: source.exposed_port };
		},

		/** Server-side apply would take over an object of the same name that is not ours: refuse instead. */
		async checkOwnership(this: ServicesThis, doc: StoredService, manifests: SpecObject[]): Promise<void> {
			const kube = getKubeClient();
			for (const m of manifests) {
				const live = await kube.get({ apiVersion: m.apiVersion as string, kind: m.kind as string, name: m.metadata?.name as string, namespace: doc.namespaceName });
				if (live && live.metadata?.labels?.[LABEL_ID] !== doc.id)
					throw conflict(`${m.kind} "${m.metadata?.name}" already exists in namespace "${doc.namespaceName}" and does not belong to this service`, { kind: m.kind, name: m.metadata?.name });
			}
		},

		/** A claim cannot shrink (the YAML path says which volume), nor be applied while it is being deleted. */
		checkVolumes(this: ServicesThis, spec: ServiceSpec, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): void {
			const current = claimSizes(live);
			const wanted = claimSizes(manifests.filter(m => m.kind === "PersistentVolumeClaim") as V1PersistentVolumeClaim[]);
			// Applying to a terminating claim changes nothing, and the pod would wait for a claim that is about to vanish.
			const leaving = live.find(p => p.metadata?.deletionTimestamp && wanted[p.metadata.name as string] !== undefined);
			if (leaving) throw conflict(`Volume claim "${leaving.metadata?.name}" is still being deleted; deploy again in a moment`, { kind: "PersistentVolumeClaim", name: leaving.metadata?.name });
			const errors: FieldError[] = [];
			Object.keys(wanted).forEach((claim, i) => {
				const now = current[claim];
				if (now !== undefined && wanted[claim] < now)
					errors.push({ field: `volumes[${i}].size`, message: `Volume "${spec.volumes[i].name}" exists with ${live.find(p => p.metadata?.name === claim)?.spec?.resources?.requests?.storage}; a volume cannot shrink`, type: "invalid", actual: spec.volumes[i].size });
			});
			if (errors.length) throw invalid("Invalid deployment spec", errors);
		},

		/**
		 * Refuses (422 QUOTA_EXCEEDED, each shortfall with what it exceeds by) a spec the namespace's
		 * quota cannot hold. The pod is replaced (Recreate), so only the difference to the running
		 * one must fit; a claim counts with what it adds to its current size. `used` lags behind pods
		 * still being created, so the other deployed specs' own bookkeeping is a floor for it.
		 * Returns one pod's footprint, stored for the next check.
		 */
		async checkQuota(this: ServicesThis, ctx: Context<unknown, CallerMeta>, doc: StoredService, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): Promise<Record<string, number>> {
			const deployment = manifests.find(m => m.kind === "Deployment") as V1Deployment;
			const perPod = podFootprint(deployment);
			let quota: QuotaReport;
			try {
				quota = await ctx.call<QuotaReport, { id: string; scope: boolean }>("v1.k8s.namespaces.resourcequota", { id: doc.namespace, scope: false });
			} catch (err) {
				if ((err as { code?: number }).code === 404) return perPod;
				throw err;
			}
			if (!quota?.hard || !Object.keys(quota.hard).length) return perPod;
			const running = doc.applied ? await getKubeClient().get({ apiVersion: "apps/v1", kind: "Deployment", name: doc.resourceName, namespace: doc.namespaceName }) : undefined;
			const current = running && doc.applied ? fromEntries(doc.applied.footprint) : {};
			const need: Record<string, number> = {};
			for (const [resource, amount] of Object.entries(perPod)) need[resource] = amount - (current[resource] ?? 0);
			const liveSizes = claimSizes(live);
			for (const [claim, size] of Object.entries(claimSizes(manifests.filter(m => m.kind === "PersistentVolumeClaim") as V1PersistentVolumeClaim[]))) {
				need["requests.storage"] = (need["requests.storage"] ?? 0) + Math.max(0, size - (liveSizes[claim] ?? 0));
				if (liveSizes[claim] === undefined) need.persistentvolumeclaims = (need.persistentvolumeclaims ?? 0) + 1;
			}
			const others = (await this.findRaw({ namespace: doc.namespace })).filter(d => d.id !== doc.id && d.applied && !d.teardown);
			const used: Record<string, string> = { ...(quota.used ?? {}) };
			for (const resource of Object.keys(quota.hard)) {
				const booked = others.reduce((n, d) => n + (fromEntries(d.applied?.footprint)[resource] ?? 0), 0);
				if (booked > quotaAmount(resource, used[resource] ?? "0")) used[resource] = String(booked) + (resource === "cpu" || resource.endsWith(".cpu") ? "m" : "");
			}
			const shortfalls: QuotaShortfall[] = quotaShortfalls({ hard: quota.hard, used }, need);
			if (shortfalls.length) {
				const reason = shortfalls.map(s => `${s.resource}: needs ${s.requested} more, ${s.used} of ${s.hard} used, exceeds it by ${s.exceededBy}`).join("; ");
				throw quotaExceeded(`The quota of namespace "${doc.namespaceName}" cannot hold this service (${reason})`, { namespace: doc.namespaceName, shortfalls });
			}
			return perPod;
		},

		/** The apiserver checks every object (server-side dry run) before the spec is recorded as applied. */
		async dryRun(this: ServicesThis, doc: StoredService, spec: ServiceSpec, manifests: SpecObject[]): Promise<void> {
			const kube = getKubeClient();
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
		},

		/** Validate, check ownership, volumes, quota and the apiserver; record the spec as applied; apply it. */
		async deploy(this: ServicesThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<{ doc: StoredService; manifests: SpecObject[] }> {
			const doc = await this.findService(ctx, id);
			const spec = this.validateSpec(doc.deployment, doc.exposed_service, doc.exposed_port);
			const manifests = specManifests(this.targetOf(doc), spec, this.settings);
			await this.checkOwnership(doc, manifests);
			const live = (await this.ownedObjects(doc, [Kinds.PersistentVolumeClaim])) as V1PersistentVolumeClaim[];
			this.checkVolumes(spec, manifests, live);
			const footprint = await this.checkQuota(ctx, doc, manifests, live);
			await this.dryRun(doc, spec, manifests);
			const applied: AppliedSpec = {
				deployment: doc.deployment,
				exposed_service: doc.exposed_service ?? null,
				exposed_port: doc.exposed_port ?? null,
				at: new Date().toISOString(),
				footprint: entries(footprint),
			};
			await this.patchEntity(ctx, doc.id, { applied, teardown: null });
			if (this.reconciler) await this.reconciler.sync(doc.id);
			else await this.converge(doc.id);
			const fresh = (await this.loadDoc(doc.id)) as StoredService;
			ctx.emit("k8s.services.deployed", this.publicView(fresh));
			return { doc: fresh, manifests };
		},

		/** Records the teardown and waits for the reconciler to carry it out. */
		async undeploy(this: ServicesThis, ctx: Context<unknown, CallerMeta>, id: string, keepVolumes: boolean, remove: boolean): Promise<UndeployView> {
			const doc = await this.findService(ctx, id);
			const objects = await this.ownedObjects(doc, [...PRUNABLE_KINDS, Kinds.PersistentVolumeClaim]);
			const kept = keepVolumes ? objects.filter(o => o.kind === "PersistentVolumeClaim") : [];
			const removed = objects.filter(o => !kept.includes(o));
			const teardown = { keepVolumes, remove };
			await this.patchEntity(ctx, doc.id, { teardown });
			if (this.reconciler) await this.reconciler.sync(doc.id);
			else await this.teardown({ ...doc, teardown });
			if (!remove) ctx.emit("k8s.services.undeployed", this.publicView({ ...doc, applied: null, teardown: null }));
			return { id: doc.id, removed: removed.map(refOf), kept: kept.map(refOf) };
		},

		async ownedObjects(this: ServicesThis, doc: Pick<StoredService, "id" | "namespaceName">, kinds: ResourceKind[]): Promise<KubernetesObject[]> {
			const kube = getKubeClient();
			const out: KubernetesObject[] = [];
			for (const kind of kinds) {
				for (const obj of await kube.list(kind, { namespace: doc.namespaceName, labelSelector: specObjectsSelector(doc.id) })) out.push({ ...obj, apiVersion: kind.apiVersion, kind: kind.kind });
			}
			return out;
		},

		/**
		 * Level-based: reads the entity and makes the cluster match what its last deploy recorded.
		 * Objects no longer wanted (an Ingress after the exposure went, everything after an undeploy)
		 * are deleted; claims only by an explicit delete.
		 */
		async converge(this: ServicesThis, id: string): Promise<void> {
			const doc = await this.loadDoc(id);
			if (!doc) return;
			if (doc.teardown) return this.teardown(doc);
			const kube = getKubeClient();
			const wanted = new Set<string>();
			if (doc.applied) {
				const result = parseSpec(doc.applied.deployment, { gpuOptions: this.settings.gpuOptions });
				if (!result.ok) {
					// The GPU options changed since the deploy: what runs stays until the next deploy says otherwise.
					this.logger.warn(`Service ${id}: the deployed spec is no longer valid (${result.errors.map(e => `${e.field}: ${e.message}`).join("; ")}); leaving the cluster as it is`);
					return;
				}
				for (const m of specManifests(this.targetOf(doc, doc.applied), result.spec, this.settings)) {
					await kube.apply(m);
					wanted.add(`${m.kind}/${m.metadata?.name}`);
				}
			}
			for (const obj of await this.ownedObjects(doc, PRUNABLE_KINDS)) {
				if (!wanted.has(`${obj.kind}/${obj.metadata?.name}`)) await kube.delete({ apiVersion: obj.apiVersion as string, kind: obj.kind as string, name: obj.metadata?.name as string, namespace: doc.namespaceName });
			}
		},

		/** Deletes what was deployed (the claims unless keepVolumes), then clears the deploy or removes the entity. */
		async teardown(this: ServicesThis, doc: StoredService): Promise<void> {
			const kube = getKubeClient();
			const kinds = doc.teardown?.keepVolumes ? PRUNABLE_KINDS : [...PRUNABLE_KINDS, Kinds.PersistentVolumeClaim];
			for (const obj of await this.ownedObjects(doc, kinds)) await kube.delete({ apiVersion: obj.apiVersion as string, kind: obj.kind as string, name: obj.metadata?.name as string, namespace: doc.namespaceName });
			const ctx = this.systemContext();
			if (doc.teardown?.remove) {
				const removed = await this.removeEntity(ctx, doc.id);
				this.reconciler?.forget(doc.id);
				if (removed) this.broker.emit("k8s.services.removed", this.publicView(doc));
			} else await this.patchEntity(ctx, doc.id, { applied: null, teardown: null });
		},

		async liveStatus(this: ServicesThis, doc: StoredService): Promise<SpecStatus> {
			const kube = getKubeClient();
			const selector = specObjectsSelector(doc.id);
			const [deployment, pods, pvcs] = await Promise.all([
				kube.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: doc.resourceName, namespace: doc.namespaceName }),
				kube.list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: selector }),
				kube.list<V1PersistentVolumeClaim>(Kinds.PersistentVolumeClaim, { namespace: doc.namespaceName, labelSelector: selector }),
			]);
			return specStatus(deployment && deployment.metadata?.labels?.[LABEL_ID] === doc.id ? deployment : undefined, pods, pvcs);
		},

	},
	created(this: ServicesThis) {
		const config = loadConfig();
		this.settings.baseDomain = config.baseDomain;
		this.settings.resyncSeconds = config.resyncSeconds;
		// A malformed SPEC_GPU_OPTIONS stops the node here rather than refusing specs later.
		this.settings.gpuOptions = gpuOptionsFromEnv();
		this.creating = new Set();
	},
};

export default ServicesService;
