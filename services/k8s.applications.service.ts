import { randomBytes } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { loadConfig } from "../lib/config";
import { activityDue, cullAt, cullDecision, cullPolicyFromEnv, type CullPolicy } from "../lib/culling";
import { conflict, forbidden, NOT_RETRIED, notFound, quotaExceeded, unauthorized } from "../lib/errors";
import { getKubeClient, Kinds, type V1Deployment, type V1Namespace, type V1Pod, type V1ResourceQuota, type V1Secret } from "../lib/k8s";
import {
	APPLICATION_KIND,
	APPS_NAMESPACE_ID,
	applicationFootprint,
	applicationManifests,
	applicationNames,
	applicationsNamespaceManifests,
	generatedSecretKeys,
	instanceHealth,
	locationOf,
	type ApplicationInstance,
	type ApplicationTemplate,
} from "../lib/manifests/application";
import { quotaShortfalls } from "../lib/manifests/deployment";
import { ANNOTATION_ID, LABEL_ID, MANAGED_SELECTOR } from "../lib/manifests/labels";
import { DEFAULT_QUOTA, QUOTA_NAME, isSystemNamespace, type NamespaceQuota } from "../lib/manifests/namespace";
import { secretValues } from "../lib/manifests/secret";
import { bytes, cpuMillis, isQuantity } from "../lib/quantity";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { canSee, createMembershipMixin, isAdmin, isUnscoped, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import type { ImageEntity } from "./k8s.images.service";

// ---------------------------------------------------------------------------------------------
// Types

/** The statuses of the binder protocol. */
export type ApplicationStatus = "deploying" | "running" | "deleted" | "failed";

/**
 * Why an instance ended: culled (`idle`, `max-age`), deleted on `requested`, or failed:
 * `start-timeout`, `cannot-start` (its container cannot start: a bad image, a crash loop),
 * `rejected` (the apiserver refused its objects), `interrupted` (the node that took the launch
 * stopped before admitting it).
 */
export type EndReason = "idle" | "max-age" | "requested" | "start-timeout" | "cannot-start" | "rejected" | "interrupted";

/** What the binder routes answer, field for field. */
export interface BinderView {
	id: string;
	"template-name": string;
	/** `<PUBLIC_HOST>/user/<id>` once a pod is Ready; null before. */
	location: string | null;
	status: ApplicationStatus;
}

/** Berth's own answer: the binder fields and the instance's bookkeeping. */
export interface ApplicationView extends BinderView {
	/** The Kubernetes namespace the instance runs in. */
	namespace: string;
	/** The caller who launched it, or "anonymous". */
	owner: string;
	reason?: EndReason;
	message?: string;
	/** Objects are still being deleted (status deleted or failed). */
	terminating?: boolean;
	lastActivityAt: string;
	/** When the instance will be culled if nothing happens (active instances only). */
	cullAt?: string;
	readyAt?: string;
	endedAt?: string;
	createdAt: string;
	updatedAt: string;
}

export interface TemplateParams {
	template: string;
}
export interface LaunchParams {
	/** A launchable catalog image, by id or name. */
	template: string;
}
export interface TemplateNameParams {
	name: string;
}

/** A template as clients choose one: what it runs, what it serves, whether it needs a key. */
export interface TemplateView {
	/** The catalog image's id. */
	id: string;
	name: string;
	description: string;
	image: string;
	public: boolean;
	ports: { name: string; port: number; protocol: string }[];
	/** cpu in millicores, memory in Mi, as the catalog writes them. */
	resources: ImageEntity["resources"];
}
export interface InstanceParams {
	template: string;
	id: string;
}
export interface IdParams {
	id: string;
}
export interface ListParams {
	template?: string;
	status?: ApplicationStatus;
}
export interface ActivityParams {
	ids: string[];
}

/** `pending`: stored, not yet admitted by the limits (never shown: it reads as deploying). */
type StoredStatus = "pending" | ApplicationStatus;

/** How far an ended instance's objects have been deleted. */
type Cleanup = "none" | "pending" | "done";

interface StoredApplication {
	/** The DB's id; never shown. */
	id: string;
	/** The public id: 32 hex characters. */
	appId: string;
	template: string;
	templateId: string;
	/** The catalog entry as it was at launch. */
	spec: ApplicationTemplate;
	/** The Kubernetes namespace. */
	namespaceName: string;
	status: StoredStatus;
	location: string | null;
	reason?: EndReason;
	message?: string;
	cleanup: Cleanup;
	/** One pod's share of the quota, as a list: NeDB and MongoDB refuse "." in keys ("requests.cpu"). */
	footprint: { resource: string; amount: number }[];
	owner: string;
	members: string[];
	anonymous: boolean;
	lastActivityAt: string;
	readyAt?: string;
	endedAt?: string;
	cleanedAt?: string;
	createdAt: string;
	updatedAt: string;
}

/** `$statusCode`/`$location` shape the REST answer (moleculer-web). */
type Meta = CallerMeta & { $statusCode?: number; $location?: string };

// ---------------------------------------------------------------------------------------------
// Settings

/** The owner of instances launched without a key. */
export const ANONYMOUS = "anonymous";
/** A launch is admitted within this long; a `pending` instance older than that lost its launching node. */
const PENDING_GRACE_MS = 30_000;
const ACTIVE: StoredStatus[] = ["pending", "deploying", "running"];

export interface ApplicationsSettings extends ServiceSettingSchema {
	rest: string;
	/** APPS_NAMESPACE: the Berth namespace every instance runs in, created on first use. */
	namespace: string;
	/** PUBLIC_HOST: what locations start with. */
	publicHost: string;
	/** APPS_INGRESS_CLASS */
	ingressClassName?: string;
	policy: CullPolicy;
	/** APPS_MAX_PER_OWNER: instances deploying or running at once per owner (all anonymous launches are one owner). */
	maxPerOwner: number;
	/** The namespace's quota: APPS_QUOTA_CPU / _MEMORY / _PODS over the tenants' default. */
	quota: NamespaceQuota;
	resyncSeconds: number;
}

function positiveInt(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n > 0 ? n : fallback;
}

export function applicationsSettings(env: NodeJS.ProcessEnv = process.env): Omit<ApplicationsSettings, "rest"> {
	const config = loadConfig(env);
	const quota: NamespaceQuota = { ...DEFAULT_QUOTA };
	if (env.APPS_QUOTA_CPU && isQuantity(env.APPS_QUOTA_CPU) && cpuMillis(env.APPS_QUOTA_CPU) >= 1) quota.cpu = env.APPS_QUOTA_CPU;
	if (env.APPS_QUOTA_MEMORY && isQuantity(env.APPS_QUOTA_MEMORY) && bytes(env.APPS_QUOTA_MEMORY) >= 2 ** 20) quota.memory = env.APPS_QUOTA_MEMORY;
	quota.pods = positiveInt(env.APPS_QUOTA_PODS, quota.pods);
	return {
		namespace: env.APPS_NAMESPACE || "berth-apps",
		publicHost: env.PUBLIC_HOST || config.baseDomain,
		ingressClassName: env.APPS_INGRESS_CLASS || undefined,
		policy: cullPolicyFromEnv(env),
		maxPerOwner: positiveInt(env.APPS_MAX_PER_OWNER, 10),
		quota,
		resyncSeconds: config.resyncSeconds,
	};
}

// ---------------------------------------------------------------------------------------------
// Validation

const templateRule = { type: "string", min: 1, max: 253 } as const;
/** Any string: an id that is not 32 hex characters is simply not found. */
const idRule = { type: "string", min: 1, max: 64 } as const;
const APP_ID = /^[0-9a-f]{32}$/;

const GENERIC_ACTIONS = ["list", "find", "count", "create", "insert", "get", "update", "remove", "addMember", "removeMember", "transfer"];
const PUBLIC_FIELDS = ["appId", "template", "status", "location", "owner", "members"];
const SNAPSHOT_FIELDS = ["id", "name", "image", "registry", "repository", "tag", "digest", "imagePullPolicy", "imagePullSecrets", "ports", "env", "volumes", "resources", "command", "args"] as const;

const WATCH_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=${APPLICATION_KIND}`;
/** Deleted in this order: the route first, so nothing reaches a pod that is going away. */
const OWNED_KINDS = [Kinds.Ingress, Kinds.Service, Kinds.Deployment, Kinds.Secret];

function ownedSelector(appId: string): string {
	return `${WATCH_SELECTOR},${LABEL_ID}=${appId}`;
}

function snapshot(image: ImageEntity): ApplicationTemplate {
	const out: Record<string, unknown> = {};
	for (const f of SNAPSHOT_FIELDS) if ((image as unknown as Record<string, unknown>)[f] !== undefined) out[f] = (image as unknown as Record<string, unknown>)[f];
	out.id = String(image.id);
	return out as unknown as ApplicationTemplate;
}

function templateView(image: ImageEntity): TemplateView {
	return {
		id: String(image.id),
		name: image.name,
		description: image.description,
		image: image.image,
		public: image.public === true,
		ports: image.ports ?? [],
		resources: image.resources,
	};
}

function publicStatus(status: StoredStatus): ApplicationStatus {
	return status === "pending" ? "deploying" : status;
}

function isActive(doc: Pick<StoredApplication, "status">): doc is StoredApplication & { status: "pending" | "deploying" | "running" } {
	return ACTIVE.includes(doc.status);
}

function amountOf(resource: string, q: string): number {
	return resource.includes("cpu") ? cpuMillis(q) : resource.includes("memory") ? bytes(q) : Number.parseFloat(q);
}

// ---------------------------------------------------------------------------------------------
// Service

interface ApplicationsMethods {
	launchInstance(ctx: Context<unknown, Meta>, template: string): Promise<StoredApplication>;
	resolveTemplate(ctx: Context<unknown, Meta>, name: string): Promise<ImageEntity>;
	appsNamespace(): Promise<string>;
	checkLimits(ctx: Context<unknown, Meta>, doc: StoredApplication): Promise<void>;
	findVisible(ctx: Context<unknown, Meta>, appId: string, template?: string): Promise<StoredApplication>;
	listVisible(ctx: Context<unknown, Meta>, filter: Record<string, unknown>): Promise<StoredApplication[]>;
	recordActivity(doc: StoredApplication, force: boolean): Promise<StoredApplication>;
	keepAlive(ctx: Context<unknown, Meta>, appId: string, template?: string): Promise<StoredApplication>;
	requestRemoval(ctx: Context<unknown, Meta>, appId: string): Promise<StoredApplication>;
	loadApp(appId: string): Promise<StoredApplication | undefined>;
	findRaw(query: Record<string, unknown>): Promise<StoredApplication[]>;
	claim(query: Record<string, unknown>, set: Record<string, unknown>): Promise<number>;
	announceOnce(appId: string, event: string): Promise<boolean>;
	end(doc: StoredApplication, status: "deleted" | "failed", reason: EndReason, message?: string, guard?: Record<string, unknown>): Promise<boolean>;
	reconcileApp(appId: string): Promise<{ requeueAfterMs?: number } | void>;
	applyInstance(doc: StoredApplication): Promise<V1Deployment | undefined>;
	finishCleanup(doc: StoredApplication): Promise<void>;
	cleanUpEnded(appId: string): Promise<{ requeueAfterMs?: number } | void>;
	wake(appId: string): void;
	view(doc: StoredApplication): ApplicationView;
	binderView(doc: StoredApplication): BinderView;
}

interface ApplicationsLocals extends ControllerLocals {
	/** This process has applied the namespace (and its quota) since it started. */
	namespaceApplied: boolean;
}

type ApplicationsThis = DbBackedService<ApplicationsMethods & MembershipMethods & ControllerMethods & ApplicationsLocals & { settings: ApplicationsSettings }>;

/**
 * Ephemeral applications (the binder deploy API): instances of launchable catalog images, each a
 * Deployment, a Service and a `/user/<id>` Ingress rule in one shared namespace. Actions only write
 * the DB and wake the controller; the controller, on the leader node only, brings instances up,
 * records when they are Ready, and culls idle or old ones. Every transition is a conditional
 * update, so a restart resumes work half done and no transition (or its event) happens twice.
 */
const ApplicationsService: ServiceSchema<ApplicationsSettings, ApplicationsMethods, ApplicationsLocals, ApplicationsThis> = {
	name: "k8s.applications",
	version: 1,
	// The first mixin drops the generic actions before this schema defines its own.
	mixins: [
		createControllerMixin<ApplicationsThis>({
			name: "k8s.applications",
			watch: self => [Kinds.Pod, Kinds.Deployment].map(kind => ({ kind, namespace: self.settings.namespace, selector: WATCH_SELECTOR, keyOf: obj => obj.metadata?.labels?.[LABEL_ID] })),
			reconcile: (self, appId) => self.reconcileApp(appId),
			listKeys: async self => (await self.findRaw({ $or: [{ status: { $in: ACTIVE } }, { cleanup: "pending" }] })).map(d => d.appId),
			resyncMs: self => self.settings.resyncSeconds * 1000,
			// Culling and every status transition happen once, on the one node that leads.
			everyNode: false,
		}),
		{ actions: Object.fromEntries(GENERIC_ACTIONS.map(a => [a, false])) },
		createDbMixin({ collection: "applications", fields: PUBLIC_FIELDS, unique: [["appId"]] }),
		createMembershipMixin({ entityName: "Application" }),
	],
	settings: { rest: "/v1/k8s/applications" } as ApplicationsSettings,
	actions: {
		// The binder deploy API, at the root, shapes unchanged.
		binderLaunch: {
			rest: { method: "POST", fullPath: "/applications/:template" },
			public: true,
			params: { template: templateRule },
			async handler(this: ApplicationsThis, ctx: Context<TemplateParams, Meta>): Promise<{ id: string }> {
				return { id: (await this.launchInstance(ctx, ctx.params.template)).appId };
			},
		},
		binderStatus: {
			rest: { method: "GET", fullPath: "/applications/:template/:id" },
			public: true,
			params: { template: templateRule, id: idRule },
			async handler(this: ApplicationsThis, ctx: Context<InstanceParams, Meta>): Promise<BinderView> {
				const doc = await this.findVisible(ctx, ctx.params.id, ctx.params.template);
				return this.binderView(await this.recordActivity(doc, false));
			},
		},
		binderList: {
			rest: { method: "GET", fullPath: "/applications/:template" },
			params: { template: templateRule },
			async handler(this: ApplicationsThis, ctx: Context<TemplateParams, Meta>): Promise<BinderView[]> {
				return (await this.listVisible(ctx, { template: ctx.params.template })).map(d => this.binderView(d));
			},
		},
		binderKeepalive: {
			rest: { method: "POST", fullPath: "/applications/:template/:id/keepalive" },
			public: true,
			params: { template: templateRule, id: idRule },
			async handler(this: ApplicationsThis, ctx: Context<InstanceParams, Meta>): Promise<BinderView> {
				return this.binderView(await this.keepAlive(ctx, ctx.params.id, ctx.params.template));
			},
		},

		// Berth's API. Not named create/get/remove: the membership mixin's hooks for those expect DB ids.
		launch: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			public: true,
			params: { template: templateRule },
			async handler(this: ApplicationsThis, ctx: Context<LaunchParams, Meta>): Promise<ApplicationView> {
				const doc = await this.launchInstance(ctx, ctx.params.template);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/v1/k8s/applications/${doc.appId}`;
				return this.view(doc);
			},
		},
		/** What may be launched: every template with a key, the public ones without. */
		templates: {
			rest: "GET /templates",
			public: true,
			params: {},
			async handler(this: ApplicationsThis, ctx: Context<Record<string, never>, Meta>): Promise<TemplateView[]> {
				const images = await ctx.call<ImageEntity[], { launchable: boolean }>("v1.k8s.images.list", { launchable: true });
				return images.filter(i => ctx.meta.userID || i.public).map(templateView);
			},
		},
		template: {
			rest: "GET /templates/:name",
			public: true,
			params: { name: templateRule },
			async handler(this: ApplicationsThis, ctx: Context<TemplateNameParams, Meta>): Promise<TemplateView> {
				return templateView(await this.resolveTemplate(ctx, ctx.params.name));
			},
		},
		list: {
			rest: "GET /",
			params: {
				template: { ...templateRule, optional: true },
				status: { type: "enum", values: ["deploying", "running", "deleted", "failed"], optional: true },
			},
			async handler(this: ApplicationsThis, ctx: Context<ListParams, Meta>): Promise<ApplicationView[]> {
				const filter: Record<string, unknown> = {};
				if (ctx.params.template) filter.template = ctx.params.template;
				if (ctx.params.status) filter.status = ctx.params.status === "deploying" ? { $in: ["pending", "deploying"] } : ctx.params.status;
				return (await this.listVisible(ctx, filter)).map(d => this.view(d));
			},
		},
		status: {
			rest: "GET /:id",
			public: true,
			params: { id: idRule },
			async handler(this: ApplicationsThis, ctx: Context<IdParams, Meta>): Promise<ApplicationView> {
				return this.view(await this.recordActivity(await this.findVisible(ctx, ctx.params.id), false));
			},
		},
		keepalive: {
			rest: "POST /:id/keepalive",
			public: true,
			params: { id: idRule },
			async handler(this: ApplicationsThis, ctx: Context<IdParams, Meta>): Promise<ApplicationView> {
				return this.view(await this.keepAlive(ctx, ctx.params.id));
			},
		},
		delete: {
			rest: "DELETE /:id",
			params: { id: idRule },
			async handler(this: ApplicationsThis, ctx: Context<IdParams, Meta>): Promise<ApplicationView> {
				return this.view(await this.requestRemoval(ctx, ctx.params.id));
			},
		},
		/**
		 * Traffic seen through instances' routes (by whatever can measure it: an ingress log reader,
		 * a proxy). Counts as activity, like a poll. Mesh only: no REST route.
		 */
		recordActivity: {
			visibility: "public",
			params: { ids: { type: "array", items: idRule, min: 1, max: 1000 } },
			async handler(this: ApplicationsThis, ctx: Context<ActivityParams, Meta>): Promise<{ recorded: number }> {
				let recorded = 0;
				for (const appId of new Set(ctx.params.ids)) {
					const doc = APP_ID.test(appId) ? await this.loadApp(appId) : undefined;
					if (doc && isActive(doc)) (await this.recordActivity(doc, false), recorded++);
				}
				return { recorded };
			},
		},
	},
	events: {
		/** Broadcast to this service's nodes: the one running the controller looks at the instance. */
		"k8s.applications.changed": {
			params: { id: "string" },
			handler(this: ApplicationsThis, ctx: Context<{ id: string }>) {
				if (this.reconciler?.isStarted) this.reconciler.enqueue(ctx.params.id);
			},
		},
	},
	methods: {
		/**
		 * Stores the instance, admits it under the limits, and wakes the controller; the cluster work
		 * happens after the answer. Stored before it is checked, so that launches racing on several
		 * nodes see each other: the earliest ones within the limit win.
		 */
		async launchInstance(this: ApplicationsThis, ctx: Context<unknown, Meta>, templateName: string): Promise<StoredApplication> {
			const image = await this.resolveTemplate(ctx, templateName);
			const confined = ctx.meta.namespaces;
			if (confined && !confined.includes(this.settings.namespace)) throw forbidden(`This API key is confined to namespaces that do not include "${this.settings.namespace}", where applications run`);
			const namespaceName = await this.appsNamespace();
			const spec = snapshot(image);
			const anonymous = !ctx.meta.userID;
			const now = new Date().toISOString();
			const appId = randomBytes(16).toString("hex");
			const doc: Omit<StoredApplication, "id"> = {
				appId,
				template: image.name,
				templateId: spec.id,
				spec,
				namespaceName,
				status: "pending",
				location: null,
				cleanup: "none",
				footprint: Object.entries(applicationFootprint(spec)).map(([resource, amount]) => ({ resource, amount })),
				owner: anonymous ? ANONYMOUS : (ctx.meta.userID as string),
				members: [],
				anonymous,
				lastActivityAt: now,
				createdAt: now,
				updatedAt: now,
			};
			await this.adapter.insert({ ...doc });
			const stored = (await this.loadApp(appId)) as StoredApplication;
			try {
				await this.checkLimits(ctx, stored);
			} catch (err) {
				await (this.adapter as unknown as { removeMany(q: Record<string, unknown>): Promise<unknown> }).removeMany({ appId });
				throw err;
			}
			await this.claim({ appId, status: "pending" }, { status: "deploying" });
			const admitted = (await this.loadApp(appId)) as StoredApplication;
			this.wake(appId);
			ctx.emit("k8s.applications.launched", this.view(admitted));
			return admitted;
		},

		/**
		 * A launchable catalog image by id or name. Without a key only public templates launch: any
		 * other catalog image is 401. A name the catalog does not have is 404, key or not.
		 */
		async resolveTemplate(this: ApplicationsThis, ctx: Context<unknown, Meta>, ref: string): Promise<ImageEntity> {
			const missing = (err: unknown) => (err as { code?: number }).code === 404 || (err as { code?: number }).code === 422;
			let image: ImageEntity | undefined;
			for (const [action, params] of [["v1.k8s.images.get", { id: ref }], ["v1.k8s.images.resolveName", { name: ref }]] as const) {
				try {
					image = await ctx.call<ImageEntity, typeof params>(action, params);
					break;
				} catch (err) {
					if (!missing(err)) throw err;
				}
			}
			if (!image) throw notFound("Template", ref);
			if (!ctx.meta.userID && !(image.launchable && image.public)) throw unauthorized(`Only public templates launch without an API key, and "${image.name}" is not one`);
			if (!image.launchable) throw notFound("Template", ref);
			return image;
		},

		/**
		 * The namespace of all instances (APPS_NAMESPACE), with its quota: applied on first use by this
		 * process, and again whenever it has gone. One that exists and is not Berth's applications
		 * namespace (a tenant's, a system one) is never used.
		 */
		async appsNamespace(this: ApplicationsThis): Promise<string> {
			const name = this.settings.namespace;
			const refuse = () => conflict(`Namespace "${name}" (APPS_NAMESPACE) is not Berth's applications namespace; choose another name`, { namespace: name });
			if (isSystemNamespace(name)) throw refuse();
			const kube = getKubeClient();
			const live = await kube.get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name });
			if (live && live.metadata?.annotations?.[ANNOTATION_ID] !== APPS_NAMESPACE_ID) throw refuse();
			if (!live || !this.namespaceApplied) {
				for (const obj of applicationsNamespaceManifests(name, this.settings.quota)) await kube.apply(obj);
				this.namespaceApplied = true;
			}
			return name;
		},

		/**
		 * The per-owner limit, counting only instances launched before this one, and the namespace's
		 * quota, with Berth's own bookkeeping of every other live instance as a floor for what the
		 * cluster reports (its `used` lags behind pods being created).
		 */
		async checkLimits(this: ApplicationsThis, ctx: Context<unknown, Meta>, doc: StoredApplication): Promise<void> {
			const freshPending = new Date(Date.now() - PENDING_GRACE_MS).toISOString();
			// Only this namespace's: instances elsewhere (APPS_NAMESPACE was another) hold no share of its quota.
			const live = await this.findRaw({
				namespaceName: doc.namespaceName,
				$or: [{ status: { $in: ["deploying", "running"] } }, { status: "pending", createdAt: { $gt: freshPending } }, { cleanup: "pending" }],
			});
			const before = (a: StoredApplication) => a.createdAt < doc.createdAt || (a.createdAt === doc.createdAt && a.appId < doc.appId);
			const ahead = live.filter(a => a.appId !== doc.appId && a.owner === doc.owner && a.anonymous === doc.anonymous && isActive(a) && before(a));
			const max = this.settings.maxPerOwner;
			if (ahead.length >= max) {
				const who = doc.anonymous ? "Anonymous launches" : `${doc.owner}`;
				throw quotaExceeded(`${who} already ${doc.anonymous ? "have" : "has"} ${ahead.length} instance${ahead.length === 1 ? "" : "s"} deploying or running, the most allowed at once (APPS_MAX_PER_OWNER=${max}); delete one or wait for it to be culled`, {
					limit: "APPS_MAX_PER_OWNER",
					max,
					active: ahead.length,
				});
			}
			const rq = await getKubeClient().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: QUOTA_NAME, namespace: doc.namespaceName });
			const quota = { hard: rq?.status?.hard ?? rq?.spec?.hard, used: rq?.status?.used };
			if (!quota.hard || !Object.keys(quota.hard).length) return;
			const others = live.filter(a => a.appId !== doc.appId);
			const used: Record<string, string> = { ...(quota.used ?? {}) };
			for (const resource of Object.keys(quota.hard)) {
				const booked = others.reduce((n, a) => n + (a.footprint.find(f => f.resource === resource)?.amount ?? 0), 0);
				const reported = quota.used?.[resource] === undefined ? 0 : amountOf(resource, quota.used[resource]);
				if (booked > reported) used[resource] = resource.includes("cpu") ? `${booked}m` : String(booked);
			}
			const perPod = Object.fromEntries(doc.footprint.map(f => [f.resource, f.amount]));
			const shortfalls = quotaShortfalls({ hard: quota.hard, used }, { replicas: 1, perPod });
			if (shortfalls.length) {
				const reason = shortfalls.map(s => `${s.resource}: needs ${s.requested} more, ${s.used} of ${s.hard} already used`).join("; ");
				throw quotaExceeded(`The applications namespace's quota cannot hold another "${doc.template}" instance (${reason})`, { namespace: doc.namespaceName, shortfalls });
			}
		},

		/**
		 * Anyone with the id may see an anonymous instance (the id is the capability, as in binder);
		 * another caller's instance is 404, like a missing one.
		 */
		async findVisible(this: ApplicationsThis, ctx: Context<unknown, Meta>, appId: string, template?: string): Promise<StoredApplication> {
			const doc = APP_ID.test(appId) ? await this.loadApp(appId) : undefined;
			if (!doc || (template !== undefined && doc.template !== template)) throw notFound("Application", appId);
			if (doc.anonymous || isUnscoped(ctx) || isAdmin(ctx.meta) || canSee(ctx.meta, doc)) return doc;
			throw notFound("Application", appId);
		},

		/** The caller's instances (an admin's: everyone's, anonymous ones included), oldest first. */
		async listVisible(this: ApplicationsThis, ctx: Context<unknown, Meta>, filter: Record<string, unknown>): Promise<StoredApplication[]> {
			if (!ctx.meta.userID && !isUnscoped(ctx)) throw unauthorized();
			const mine = isAdmin(ctx.meta) || isUnscoped(ctx) ? filter : { $and: [filter, { anonymous: { $ne: true } }] };
			return this.findRaw(this.scopedQuery(ctx, mine));
		},

		/** Records activity on a live instance; polls write at most once per activity resolution. */
		async recordActivity(this: ApplicationsThis, doc: StoredApplication, force: boolean): Promise<StoredApplication> {
			if (!isActive(doc)) return doc;
			const now = Date.now();
			if (!force && !activityDue(doc.lastActivityAt, this.settings.policy, now)) return doc;
			const at = new Date(now).toISOString();
			const written = await this.claim({ appId: doc.appId, status: { $in: ACTIVE } }, { lastActivityAt: at });
			// Lost to a cull that got there first: the fresh state says so.
			return written ? { ...doc, lastActivityAt: at } : ((await this.loadApp(doc.appId)) ?? doc);
		},

		async keepAlive(this: ApplicationsThis, ctx: Context<unknown, Meta>, appId: string, template?: string): Promise<StoredApplication> {
			const doc = await this.recordActivity(await this.findVisible(ctx, appId, template), true);
			if (!isActive(doc)) throw conflict(`Application ${appId} is ${doc.status}; it can no longer be kept alive`, { id: appId, status: doc.status });
			return doc;
		},

		/** The owner (or an admin) ends an instance; the controller deletes its objects. */
		async requestRemoval(this: ApplicationsThis, ctx: Context<unknown, Meta>, appId: string): Promise<StoredApplication> {
			const doc = await this.findVisible(ctx, appId);
			if (doc.anonymous && !isAdmin(ctx.meta) && !isUnscoped(ctx)) throw notFound("Application", appId);
			if (await this.end(doc, "deleted", "requested", "Deleted on request")) {
				this.wake(appId);
				// On the leader the objects are gone by the time the caller hears back.
				if (this.reconciler?.isStarted) await this.reconciler.sync(appId).catch(err => this.logger.warn(`Deleting application ${appId} failed; the controller retries:`, (err as Error).message));
			}
			return (await this.loadApp(appId)) as StoredApplication;
		},

		async loadApp(this: ApplicationsThis, appId: string): Promise<StoredApplication | undefined> {
			const [doc] = await this.findRaw({ appId });
			return doc;
		},

		async findRaw(this: ApplicationsThis, query: Record<string, unknown>): Promise<StoredApplication[]> {
			const rows = await this.adapter.find({ query, sort: ["createdAt"] });
			const docs: StoredApplication[] = [];
			for (const row of rows) {
				const doc = this.adapter.afterRetrieveTransformID(await this.adapter.entityToObject(row), "id") as unknown as StoredApplication;
				doc.id = String(doc.id);
				docs.push(doc);
			}
			return docs;
		},

		/**
		 * A conditional update; the count says whether it matched. State written this way converges
		 * whoever writes it; what must happen only once (an event) also needs announceOnce.
		 */
		async claim(this: ApplicationsThis, query: Record<string, unknown>, set: Record<string, unknown>): Promise<number> {
			const adapter = this.adapter as unknown as { updateMany(q: Record<string, unknown>, u: Record<string, unknown>): Promise<number> };
			return Number(await adapter.updateMany(query, { $set: { ...set, updatedAt: new Date().toISOString() } })) || 0;
		},

		/**
		 * Whether this node is the one to announce `event` for an instance. NeDB belongs to one process
		 * and runs its updates one at a time, so the conditional update before this has already let
		 * exactly one caller through. MongoDB-compatible stores need not make a conditional update
		 * atomic (FerretDB does not: two nodes can both match the same state), but they do refuse a
		 * second insert of the same _id: the node whose insert lands announces.
		 */
		async announceOnce(this: ApplicationsThis, appId: string, event: string): Promise<boolean> {
			if (!this.dbBackend.mongoUri) return true;
			const db = (this.adapter as unknown as { db: { collection(name: string): { insertOne(doc: Record<string, unknown>): Promise<unknown> } } }).db;
			try {
				await db.collection("applications_announced").insertOne({ _id: `${appId}/${event}`, at: new Date().toISOString() });
				return true;
			} catch (err) {
				if ((err as { code?: number }).code === 11000) return false;
				throw err;
			}
		},

		/**
		 * Marks a live instance ended, objects still to delete: the decision is in the DB before anything
		 * is deleted, so a restart finishes it. `guard` narrows the claim (e.g. to the activity the
		 * decision was based on, so a keep-alive that arrives meanwhile wins).
		 */
		async end(this: ApplicationsThis, doc: StoredApplication, status: "deleted" | "failed", reason: EndReason, message?: string, guard: Record<string, unknown> = {}): Promise<boolean> {
			const set: Record<string, unknown> = { status, reason, cleanup: "pending", endedAt: new Date().toISOString() };
			if (message) set.message = message;
			return (await this.claim({ appId: doc.appId, status: { $in: ACTIVE }, cleanup: "none", ...guard }, set)) > 0;
		},

		/**
		 * Level-based: reads the instance and the cluster, then either ends it (culled, failed) or
		 * applies its objects and records when it is Ready. Asks to run again at its next deadline.
		 */
		async reconcileApp(this: ApplicationsThis, appId: string): Promise<{ requeueAfterMs?: number } | void> {
			const doc = await this.loadApp(appId);
			if (!doc) return;
			if (doc.cleanup === "pending") return this.finishCleanup(doc);
			if (!isActive(doc)) return;
			const now = Date.now();
			if (doc.status === "pending") {
				const age = now - Date.parse(doc.createdAt);
				if (age < PENDING_GRACE_MS) return { requeueAfterMs: PENDING_GRACE_MS - age + 100 };
				if (await this.end(doc, "failed", "interrupted", "The node that took the launch stopped before admitting it", { status: "pending" })) return this.cleanUpEnded(appId);
				return { requeueAfterMs: 100 };
			}
			const decision = cullDecision({ status: doc.status, createdAt: doc.createdAt, lastActivityAt: doc.lastActivityAt }, this.settings.policy, now);
			if (decision.action !== "keep") {
				const failed = decision.action === "fail";
				const message = failed ? `Not Ready within ${this.settings.policy.startTimeoutMs / 1000} s of the launch` : decision.reason === "idle" ? `No activity for ${this.settings.policy.idleMs / 1000} s` : `Older than ${this.settings.policy.maxAgeMs / 1000} s`;
				// Guarded by the activity the decision read: a keep-alive that lands first wins.
				if (await this.end(doc, failed ? "failed" : "deleted", decision.reason, message, { status: doc.status, lastActivityAt: doc.lastActivityAt }))
					return this.cleanUpEnded(appId);
				return { requeueAfterMs: 50 };
			}
			let live: V1Deployment | undefined;
			try {
				live = await this.applyInstance(doc);
			} catch (err) {
				const code = (err as { code?: number }).code;
				// The apiserver refused the objects (422), or the namespace is gone (404): waiting will not help.
				if (code === 422 || code === 404) {
					if (await this.end(doc, "failed", "rejected", (err as Error).message, { status: doc.status })) return this.cleanUpEnded(appId);
					return;
				}
				throw err;
			}
			const pods = await getKubeClient().list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: ownedSelector(appId) });
			const health = instanceHealth(pods, live);
			if (health.failure) {
				if (await this.end(doc, "failed", "cannot-start", health.failure, { status: doc.status })) return this.cleanUpEnded(appId);
				return { requeueAfterMs: 50 };
			}
			if (health.ready && doc.status === "deploying") {
				const location = locationOf(this.settings.publicHost, appId);
				if ((await this.claim({ appId, status: "deploying", cleanup: "none" }, { status: "running", location, readyAt: new Date().toISOString() })) && (await this.announceOnce(appId, "running")))
					this.broker.emit("k8s.applications.running", this.view({ ...doc, status: "running", location }));
			}
			// Until Ready the pod watch wakes it; the timer is the fallback. After that only deadlines matter.
			const ceiling = health.ready ? this.settings.resyncSeconds * 1000 : 2000;
			return { requeueAfterMs: Math.max(10, Math.min(decision.recheckInMs + 20, ceiling)) };
		},

		/**
		 * Deletes an instance's objects once its end is on record. Read back first: on a store whose
		 * updates are not atomic, a concurrent write (a keep-alive) may have replaced the record.
		 */
		async cleanUpEnded(this: ApplicationsThis, appId: string): Promise<{ requeueAfterMs?: number } | void> {
			const fresh = await this.loadApp(appId);
			if (fresh?.cleanup === "pending") return this.finishCleanup(fresh);
			return { requeueAfterMs: 50 };
		},

		/** Applies the instance's objects; its generated secret values are made once and then kept. */
		async applyInstance(this: ApplicationsThis, doc: StoredApplication): Promise<V1Deployment | undefined> {
			const kube = getKubeClient();
			const inst: ApplicationInstance = { id: doc.appId, namespace: doc.namespaceName, template: doc.spec };
			const generated: Record<string, string> = {};
			const keys = generatedSecretKeys(doc.spec);
			if (keys.length) {
				const existing = await kube.get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: applicationNames(doc.appId).secret, namespace: doc.namespaceName });
				const kept = secretValues(existing);
				for (const key of keys) generated[key] = kept[key] ?? randomBytes(24).toString("hex");
			}
			let live: V1Deployment | undefined;
			for (const obj of applicationManifests(inst, { publicHost: this.settings.publicHost, ingressClassName: this.settings.ingressClassName }, generated)) {
				const applied = await kube.apply(obj);
				if (obj.kind === "Deployment") live = applied as V1Deployment;
			}
			return live;
		},

		/** Deletes whatever is left of an ended instance, then records that; only the node whose record wins announces it. */
		async finishCleanup(this: ApplicationsThis, doc: StoredApplication): Promise<void> {
			const kube = getKubeClient();
			for (const kind of OWNED_KINDS)
				for (const obj of await kube.list(kind, { namespace: doc.namespaceName, labelSelector: ownedSelector(doc.appId) }))
					await kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name: obj.metadata?.name as string, namespace: doc.namespaceName });
			const cleanedAt = new Date().toISOString();
			const event = doc.status === "failed" ? "failed" : doc.reason === "idle" || doc.reason === "max-age" ? "culled" : "deleted";
			if ((await this.claim({ appId: doc.appId, cleanup: "pending" }, { cleanup: "done", cleanedAt })) && (await this.announceOnce(doc.appId, event)))
				this.broker.emit(`k8s.applications.${event}`, this.view({ ...doc, cleanup: "done", cleanedAt }));
			this.reconciler?.forget(doc.appId);
		},

		/** Tells whichever node runs the controller to look at an instance now. */
		wake(this: ApplicationsThis, appId: string): void {
			void this.broker.broadcast("k8s.applications.changed", { id: appId }, { groups: [this.name] });
		},

		view(this: ApplicationsThis, doc: StoredApplication): ApplicationView {
			const active = isActive(doc);
			const out: ApplicationView = {
				...this.binderView(doc),
				namespace: doc.namespaceName,
				owner: doc.owner,
				lastActivityAt: doc.lastActivityAt,
				createdAt: doc.createdAt,
				updatedAt: doc.updatedAt,
			};
			if (doc.reason) out.reason = doc.reason;
			if (doc.message) out.message = doc.message;
			if (doc.cleanup === "pending") out.terminating = true;
			if (active) out.cullAt = cullAt({ status: doc.status === "running" ? "running" : "deploying", createdAt: doc.createdAt, lastActivityAt: doc.lastActivityAt }, this.settings.policy);
			if (doc.readyAt) out.readyAt = doc.readyAt;
			if (doc.endedAt) out.endedAt = doc.endedAt;
			return out;
		},

		binderView(this: ApplicationsThis, doc: StoredApplication): BinderView {
			return { id: doc.appId, "template-name": doc.template, location: doc.location ?? null, status: publicStatus(doc.status) };
		},
	},
	created(this: ApplicationsThis) {
		// Read when the broker creates the service, so each broker sees the environment of its time.
		Object.assign(this.settings, applicationsSettings());
		this.namespaceApplied = false;
	},
};

export default ApplicationsService;
