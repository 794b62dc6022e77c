import type { ActionSchema, Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	compatDeleteParams,
	compatDeployParams,
	createParams,
	deleteParams,
	idParams,
	listParams,
	updateParams,
	validateParams,
	type CompatDeleteParams,
	type CompatDeployParams,
	type CreateServiceParams,
	type DeleteParams,
	type DeployView,
	type ListParams,
	type ManifestsView,
	type ServiceEntity,
	type SpecObject,
	type UndeployView,
	type UpdateServiceParams,
	type ValidateParams,
	type ValidateView,
} from "../lib/api/services";
import type { QuotaReport } from "../lib/api/namespaces";
import { strictParams, type IdParams } from "../lib/api/rules";
import { answerCreated, getVisibleAction, withoutGenericActions, type RestMeta } from "../lib/api/rest";
import { loadConfig } from "../lib/config";
import { NOT_RETRIED } from "../lib/errors";
import { getKubeClient, Kinds, type V1Deployment, type V1PersistentVolumeClaim } from "../lib/k8s";
import { SPEC_SELECTOR, specManifests, type SpecStatus } from "../lib/manifests/spec";
import { validateSpec, checkVolumes } from "../lib/specs/checks";
import { liveStatus, readDeployment } from "../lib/specs/live";
import { gpuOptionsFromEnv, type GpuOptions } from "../lib/specs/parse";
import { checkDeployQuota, type QuotaReads } from "../lib/specs/quota";
import { checkSameNamespace, entityIdFor, hasPayload, namespaceFor, recordOf } from "../lib/specs/external";
import { convergeRecorded, dryRun, ownedObjects, PRUNABLE_KINDS, refOf, removeObjects, type ConvergeDeps } from "../lib/specs/reconcile";
import { allocateResourceName, checkOwnership } from "../lib/specs/references";
import { appliedNow, fromEntries, newService, PUBLIC_FIELDS, serviceView, targetOf, type StoredService } from "../lib/specs/store";
import { sumBookings } from "../lib/quota";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, isDuplicateKey, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";

type Meta = CallerMeta & RestMeta;

/** moleculer-db's and the membership mixin's generic actions would bypass validation and the cluster. */

export interface ServicesSettings extends ServiceSettingSchema {
	rest: string;
	baseDomain: string;
	resyncSeconds: number;
	gpuOptions: GpuOptions;
}

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type ServicesMethods = typeof methods;

interface ServicesLocals extends ControllerLocals {
	/** Resource names being handed out in this node (NeDB has no compound unique index). */
	creating: Set<string>;
}

interface ServicesThis extends DbBackedService<ServicesMethods & MembershipMethods & RefsMethods & ControllerMethods & ServicesLocals & { settings: ServicesSettings }> {}

type Rest = ActionSchema["rest"];

/** The live status of a visible service: `GET /:id/status`, and the seed's `GET /kubernetes/services/:id`. */
function statusAction(rest: Rest, compat = false) {
	return {
		rest,
		params: compat ? { id: compatDeleteParams.id } : idParams,
		async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<SpecStatus> {
			const id = compat ? await this.entityIdFor(ctx.params.id) : ctx.params.id;
			return liveStatus(getKubeClient(), await this.findVisible<StoredService>(ctx, id));
		},
	};
}

/** Removes what was deployed (the claims stay with keepVolumes=true), and the entity too when `removeEntity`. */
function undeployAction(rest: Rest, removeEntity: boolean, compat = false) {
	return {
		rest,
		// A POST's body is strict like every other; a DELETE takes keepVolumes in its query.
		params: compat ? compatDeleteParams : typeof rest === "string" && rest.startsWith("POST ") ? strictParams(deleteParams) : deleteParams,
		async handler(this: ServicesThis, ctx: Context<DeleteParams, CallerMeta>): Promise<UndeployView> {
			const id = compat ? await this.entityIdFor(ctx.params.id) : ctx.params.id;
			return this.undeploy(ctx, id, ctx.params.keepVolumes ?? false, removeEntity);
		},
	};
}

/**
 * v1.k8s.services: multi-container services described in the KITeGG endpoint's YAML. The entity
 * holds the spec; a deploy validates it, checks the quota and the apiserver (dry run), records it
 * as applied and has the reconciler make the cluster match: a Deployment, a claim per volume, a
 * Service, and an Ingress when a port is exposed. The seed's routes are served at the root.
 */
const methods = {
	publicView(this: ServicesThis, doc: StoredService): ServiceEntity {
		return serviceView(doc, this.settings.baseDomain);
	},

	/** The reads the quota check needs; `quota` was read under the namespace's admission. */
	quotaReads(this: ServicesThis, quota: QuotaReport | undefined, doc: StoredService): QuotaReads {
		return {
			quota: async () => quota,
			// The running pod's share is freed by the Recreate, if that pod still exists.
			runningFootprint: async () => (doc.applied && (await readDeployment(getKubeClient(), doc)) ? fromEntries(doc.applied.footprint) : undefined),
			bookedByOthers: async () => {
				const others = (await this.findRaw<StoredService>({ namespace: doc.namespace })).filter(d => d.id !== doc.id && d.applied && !d.teardown);
				return sumBookings(others.map(d => fromEntries(d.applied?.footprint)));
			},
		};
	},

	/** Stores a new entity in the caller's namespace (its spec already validated), with a free object name. */
	async createEntity(this: ServicesThis, ctx: Context<unknown, CallerMeta>, p: CreateServiceParams, externalId?: string): Promise<ServiceEntity> {
		const ns = await this.lookupNamespace(ctx, p.namespace);
		const stored = async (name: string) => (await this.findRaw({ namespace: ns.id, resourceName: name })).length > 0;
		const resourceName = await allocateResourceName({ kube: getKubeClient(), creating: this.creating, stored }, ns, p.name);
		try {
			const saved = await this.insertEntity(ctx, newService(p, ns, resourceName, ctx.meta.userID as string, externalId));
			const entity = this.publicView((await this.loadDoc<StoredService>(String(saved.id))) as StoredService);
			ctx.emit("k8s.services.created", entity);
			return entity;
		} finally {
			this.creating.delete(`${ns.id}/${resourceName}`);
		}
	},

	/** The entity id a KITeGG route's id names: the record with that externalId, else the id itself. */
	async entityIdFor(this: ServicesThis, id: string): Promise<string> {
		return entityIdFor(id, async externalId => (await this.findRaw<StoredService>({ externalId }, { limit: 1 }))[0]?.id);
	},

	/**
	 * The KITeGG PUT's record: updates the caller's record under that id, or creates it there; the
	 * entity id. Another tenant's id is a 404, as if nobody held it (findVisible).
	 */
	async upsertRecord(this: ServicesThis, ctx: Context<unknown, CallerMeta>, p: CompatDeployParams, retried = false): Promise<string> {
		const record = recordOf(p);
		validateSpec(record.deployment, record.exposed_service, record.exposed_port, this.settings.gpuOptions);
		const id = await this.entityIdFor(p.id);
		if (await this.loadDoc(id)) {
			const doc = await this.findVisible<StoredService>(ctx, id, "edit");
			checkSameNamespace(p.namespace, doc);
			await this.patchEntity(ctx, doc.id, { ...record });
			ctx.emit("k8s.services.updated", this.publicView((await this.loadDoc<StoredService>(doc.id)) as StoredService));
			return doc.id;
		}
		try {
			return (await this.createEntity(ctx, { ...record, namespace: namespaceFor(p.namespace, ctx.meta.namespaces) }, p.id)).id;
		} catch (err) {
			// Another request stored that id meanwhile (the unique index): look again, as that request's caller or not.
			if (isDuplicateKey(err) && !retried) return this.upsertRecord(ctx, p, true);
			throw err;
		}
	},

	/** Validate, check ownership, volumes, quota and the apiserver; record the spec as applied; apply it. */
	async deploy(this: ServicesThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<{ doc: StoredService; manifests: SpecObject[] }> {
		const kube = getKubeClient();
		const doc = await this.findVisible<StoredService>(ctx, id, "edit");
		const spec = validateSpec(doc.deployment, doc.exposed_service, doc.exposed_port, this.settings.gpuOptions);
		const manifests = specManifests(targetOf(doc), spec, this.settings);
		await checkOwnership(kube, manifests);
		const live = (await ownedObjects(kube, doc, [Kinds.PersistentVolumeClaim])) as V1PersistentVolumeClaim[];
		checkVolumes(spec, manifests, live);
		// The quota check and the record of the deploy are one step for the namespace: racing deploys cannot both take its last room.
		await this.withAdmission(ctx, doc.namespace, async quota => {
			const footprint = await checkDeployQuota(this.quotaReads(quota, doc), doc.namespaceName, manifests, live);
			await dryRun(kube, doc, spec, manifests);
			await this.patchEntity(ctx, doc.id, { applied: appliedNow(doc, footprint), teardown: null });
		});
		await this.settle(doc.id);
		const fresh = (await this.loadDoc<StoredService>(doc.id)) as StoredService;
		ctx.emit("k8s.services.deployed", this.publicView(fresh));
		return { doc: fresh, manifests };
	},

	/** Records the teardown and waits for the reconciler to carry it out. */
	async undeploy(this: ServicesThis, ctx: Context<unknown, CallerMeta>, id: string, keepVolumes: boolean, remove: boolean): Promise<UndeployView> {
		const doc = await this.findVisible<StoredService>(ctx, id, "edit");
		const objects = await ownedObjects(getKubeClient(), doc, [...PRUNABLE_KINDS, Kinds.PersistentVolumeClaim]);
		const kept = keepVolumes ? objects.filter(o => o.kind === "PersistentVolumeClaim") : [];
		const removed = objects.filter(o => !kept.includes(o));
		await this.patchEntity(ctx, doc.id, { teardown: { keepVolumes, remove } });
		await this.settle(doc.id);
		if (!remove) ctx.emit("k8s.services.undeployed", this.publicView({ ...doc, applied: null, teardown: null }));
		return { id: doc.id, removed: removed.map(refOf), kept: kept.map(refOf) };
	},

	/** Runs the entity's reconcile now and waits for it: through this node's queue once it runs. */
	async settle(this: ServicesThis, id: string): Promise<void> {
		if (this.reconciler) await this.reconciler.sync(id);
		else await this.converge(id);
	},

	/** Level-based: makes the cluster match the entity's last deploy, or carries out its teardown. */
	async converge(this: ServicesThis, id: string): Promise<void> {
		const doc = await this.loadDoc<StoredService>(id);
		if (!doc) return;
		if (doc.teardown) return this.teardown(doc);
		await convergeRecorded(this.convergeDeps(), doc);
	},

	convergeDeps(this: ServicesThis): ConvergeDeps {
		const record = async (doc: StoredService, changes: Partial<StoredService>) => void (await this.patchEntity(this.systemContext(), doc.id, changes));
		return {
			kube: getKubeClient(),
			build: this.settings,
			logger: this.logger,
			reload: id => this.loadDoc<StoredService>(id),
			orphan: (doc, why) => (doc.orphaned?.reason === why.reason ? Promise.resolve() : record(doc, { orphaned: { reason: why.reason, message: why.message, at: new Date().toISOString() } })),
			bind: (doc, namespaceUid) => record(doc, { namespaceUid }),
		};
	},

	/** Deletes what was deployed (the claims unless keepVolumes), then clears the deploy or removes the entity. */
	async teardown(this: ServicesThis, doc: StoredService): Promise<void> {
		await removeObjects(getKubeClient(), doc, doc.teardown?.keepVolumes ?? false);
		if (doc.teardown?.remove) await this.dropEntity(doc);
		else await this.patchEntity(this.systemContext(), doc.id, { applied: null, teardown: null });
	},

	/** Removes the entity (its objects are gone or going) and says so. */
	async dropEntity(this: ServicesThis, doc: StoredService): Promise<void> {
		const removed = await this.removeEntity(this.systemContext(), doc.id);
		this.reconciler?.forget(doc.id);
		if (removed) this.broker.emit("k8s.services.removed", this.publicView(doc));
	},
};

const ServicesService: ServiceSchema<ServicesSettings, ServicesMethods, ServicesLocals, ServicesThis> = {
	name: "k8s.services",
	version: 1,
	// The first mixin wins: it drops the generic actions before this schema defines its own.
	mixins: [
		createControllerMixin<ServicesThis>({
			name: "k8s.services",
			reconcile: (self, id) => self.converge(id),
			listKeys: async self => (await self.findRaw<StoredService>({})).map(d => d.id),
			resyncMs: self => self.settings.resyncSeconds * 1000,
			// Claims are never swept: data goes only with an explicit delete.
			orphans: self => ({ kinds: PRUNABLE_KINDS, selector: SPEC_SELECTOR, exists: async id => Boolean(await self.loadDoc(id)) }),
			// Every node applies its own requests through its own queue (one run per key at a time), and
			// answers once they are applied; the resync that heals drift runs on the leader only.
			everyNode: true,
		}),
		withoutGenericActions,
		createDbMixin({ collection: "services", fields: PUBLIC_FIELDS, sparseUnique: ["externalId"] }),
		// A service being removed is gone for its callers already.
		createMembershipMixin({ entityName: "Service", hidden: doc => Boolean((doc as Partial<StoredService>).teardown?.remove) }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/services" } as ServicesSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: strictParams(createParams),
			async handler(this: ServicesThis, ctx: Context<CreateServiceParams, Meta>): Promise<ServiceEntity> {
				const p = ctx.params;
				validateSpec(p.deployment, p.exposed_service, p.exposed_port, this.settings.gpuOptions);
				const entity = await this.createEntity(ctx, p);
				return answerCreated(ctx, `/api/v1/k8s/services/${entity.id}`, entity);
			},
		},
		list: {
			rest: "GET /",
			params: listParams,
			async handler(this: ServicesThis, ctx: Context<ListParams, CallerMeta>): Promise<ServiceEntity[]> {
				const filters: Record<string, unknown>[] = [];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace, "namespace", "view")).id });
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = await this.scopedQuery(ctx, filters.length === 0 ? {} : filters.length === 1 ? filters[0] : { $and: filters });
				return (await this.findRaw<StoredService>(query)).filter(d => !d.teardown?.remove).map(d => this.publicView(d));
			},
		},
		get: getVisibleAction<ServiceEntity>(idParams),
		/** Changes the stored spec; what runs changes with the next deploy, as in the seed. */
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			params: strictParams(updateParams),
			async handler(this: ServicesThis, ctx: Context<UpdateServiceParams, CallerMeta>): Promise<ServiceEntity> {
				const doc = await this.findVisible<StoredService>(ctx, ctx.params.id, "edit");
				const changes: Partial<StoredService> = {};
				if (ctx.params.name !== undefined) changes.name = ctx.params.name;
				if (ctx.params.deployment !== undefined) changes.deployment = ctx.params.deployment;
				if (ctx.params.exposed_service !== undefined) changes.exposed_service = ctx.params.exposed_service;
				if (ctx.params.exposed_port !== undefined) changes.exposed_port = ctx.params.exposed_port;
				const next = { ...doc, ...changes };
				validateSpec(next.deployment, next.exposed_service, next.exposed_port, this.settings.gpuOptions);
				await this.patchEntity(ctx, doc.id, changes);
				const entity = this.publicView((await this.loadDoc<StoredService>(doc.id)) as StoredService);
				ctx.emit("k8s.services.updated", entity);
				return entity;
			},
		},
		/** Removes the entity and everything deployed for it; the claims stay with keepVolumes=true. */
		remove: undeployAction("DELETE /:id", true),
		/** Checks a spec without storing it: the parsed spec, or 422 with every error's YAML path. */
		validate: {
			rest: "POST /validate",
			params: strictParams(validateParams),
			async handler(this: ServicesThis, ctx: Context<ValidateParams, CallerMeta>): Promise<ValidateView> {
				return { spec: validateSpec(ctx.params.deployment, ctx.params.exposed_service, ctx.params.exposed_port, this.settings.gpuOptions) };
			},
		},
		/** What a deploy would apply now, without applying it. */
		manifests: {
			rest: "GET /:id/manifests",
			params: idParams,
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<ManifestsView> {
				const doc = await this.findVisible<StoredService>(ctx, ctx.params.id);
				const spec = validateSpec(doc.deployment, doc.exposed_service, doc.exposed_port, this.settings.gpuOptions);
				return { manifests: specManifests(targetOf(doc), spec, this.settings) };
			},
		},
		deploy: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /:id/deploy",
			params: strictParams(idParams),
			async handler(this: ServicesThis, ctx: Context<IdParams, CallerMeta>): Promise<DeployView> {
				const { doc, manifests } = await this.deploy(ctx, ctx.params.id);
				const view = this.publicView(doc);
				return { id: doc.id, resourceName: doc.resourceName, host: view.host, deployedAt: view.deployedAt as string, manifests };
			},
		},
		status: statusAction("GET /:id/status"),
		/** Removes what was deployed and keeps the entity (the seed's DELETE); the claims stay with keepVolumes=true. */
		undeploy: undeployAction("POST /:id/undeploy", false),

		// The KITeGG endpoint's routes, at the root, shapes unchanged. `:id` is the caller's (lib/specs/external.ts) or an entity id.
		/** With the seed's record in the body: creates or updates the record under that id, then deploys it. */
		compatDeploy: {
			retryPolicy: NOT_RETRIED,
			rest: { method: "PUT", fullPath: "/kubernetes/services/:id/deploy" },
			params: compatDeployParams,
			async handler(this: ServicesThis, ctx: Context<CompatDeployParams, CallerMeta>): Promise<V1Deployment> {
				const id = hasPayload(ctx.params) ? await this.upsertRecord(ctx, ctx.params) : await this.entityIdFor(ctx.params.id);
				const { doc, manifests } = await this.deploy(ctx, id);
				// The seed answers with the deployment spec: the Deployment as the apiserver now holds it.
				return (await readDeployment(getKubeClient(), doc)) ?? (manifests.find(m => m.kind === "Deployment") as V1Deployment);
			},
		},
		compatStatus: statusAction({ method: "GET", fullPath: "/kubernetes/services/:id" }, true),
		compatDelete: undeployAction({ method: "DELETE", fullPath: "/kubernetes/services/:id" }, false, true),
	},
	events: {
		/** A removed namespace takes its objects with it; the entities go too. */
		"k8s.namespaces.removed": {
			async handler(this: ServicesThis, ctx: Context<{ id?: string }>) {
				const nsId = ctx.params?.id;
				if (!nsId) return;
				for (const doc of await this.findRaw<StoredService>({ namespace: nsId })) await this.dropEntity(doc);
			},
		},
	},
	methods,
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
