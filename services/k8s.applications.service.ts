import { randomBytes } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	activityParams,
	deployParams,
	idParams,
	instanceParams,
	listParams,
	templateNameParams,
	templateParams,
	type ActivityParams,
	type ApplicationView,
	type BinderView,
	type DeployParams,
	type IdParams,
	type InstanceParams,
	type LaunchedApplication,
	type LaunchParams,
	type ListParams,
	type TemplateNameParams,
	type TemplateParams,
	type TemplateView,
} from "../lib/api/applications";
import { answerCreated, withoutGenericActions, type RestMeta } from "../lib/api/rest";
import { checkRemovable, findVisibleInstance, listFilter, type Caller } from "../lib/applications/access";
import { checkTemplate, isAppId, newInstance, type TemplateImage } from "../lib/applications/checks";
import { requestedIdleMs } from "../lib/applications/culling";
import { checkLimits } from "../lib/applications/limits";
import { instanceKeyOf, WATCH_SELECTOR } from "../lib/applications/live";
import { ensureAppsNamespace, reconcileInstance, type ReconcileDeps } from "../lib/applications/reconcile";
import { applicationsSettings, type ApplicationsConfig } from "../lib/applications/settings";
import { ACTIVE, applicationStore, endInstance, isActive, PUBLIC_FIELDS, recordActivity, type ApplicationStore, type StoredApplication } from "../lib/applications/store";
import { launcherLocation } from "../lib/applications/token";
import { applicationView, binderView, templateView } from "../lib/applications/views";
import { conflict, forbidden, NOT_RETRIED, notFound } from "../lib/errors";
import { getKubeClient, Kinds, type KubeClient } from "../lib/k8s";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, isAdmin, isUnscoped, mayAccess, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";
import { strictParams } from "../lib/api/rules";

type Meta = CallerMeta & RestMeta;

export interface ApplicationsSettings extends ServiceSettingSchema, ApplicationsConfig {
	rest: string;
}


/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type ApplicationsMethods = typeof methods;

interface ApplicationsLocals extends ControllerLocals {
	/** This process has applied the namespace (and its quota) since it started. */
	namespaceApplied: boolean;
	store: ApplicationStore;
	/** What the controller's reconcile works with (lib/applications/reconcile.ts). */
	apps: ReconcileDeps;
}

interface ApplicationsThis extends DbBackedService<ApplicationsMethods & MembershipMethods & RefsMethods & ControllerMethods & ApplicationsLocals & { settings: ApplicationsSettings }> {}

/**
 * Ephemeral applications (the binder deploy API): instances of launchable catalog images, each a
 * Deployment, a Service and a `/user/<id>` Ingress rule in one shared namespace. Actions only write
 * the DB and wake the controller; the controller, on the leader node only, brings instances up,
 * records when they are Ready, and culls idle or old ones (lib/applications/reconcile.ts).
 */
const methods = {
	/**
	 * Stores the instance, admits it under the limits, and wakes the controller; the cluster work
	 * happens after the answer. Stored before it is checked, so that launches racing on several
	 * nodes see each other: the earliest ones within the limit win.
	 */
	async launchInstance(this: ApplicationsThis, ctx: Context<unknown, Meta>, templateName: string, idleMs?: number): Promise<StoredApplication> {
		const image = await this.resolveTemplate(ctx, templateName);
		const { namespace, maxPerOwner, policy } = this.settings;
		const confined = ctx.meta.namespaces;
		if (confined && !confined.includes(namespace)) throw forbidden(`This API key is confined to namespaces that do not include "${namespace}", where applications run`);
		const kube = getKubeClient();
		await ensureAppsNamespace(kube, this.settings, this.namespaceApplied);
		this.namespaceApplied = true;
		const stored = await this.store.insert(newInstance(image, namespace, randomBytes(16).toString("hex"), ctx.meta.userID, undefined, idleMs));
		const { appId } = stored;
		try {
			await checkLimits(this.store, kube, stored, maxPerOwner);
		} catch (err) {
			await this.store.remove(appId);
			throw err;
		}
		await this.store.claim({ appId, status: "pending" }, { status: "deploying" });
		const admitted = (await this.store.load(appId)) as StoredApplication;
		this.wake(appId);
		ctx.emit("k8s.applications.launched", applicationView(admitted, policy));
		return admitted;
	},

	/**
	 * A launchable catalog image by id or name (the refs mixin's lookup). A name the catalog does
	 * not have is 404 here, not the refs mixin's 422: the template is the resource of the route.
	 */
	async resolveTemplate(this: ApplicationsThis, ctx: Context<unknown, Meta>, ref: string): Promise<TemplateImage> {
		let image: TemplateImage;
		try {
			// v1.k8s.images answers the whole catalog entry; the refs mixin types only what deployments use.
			image = (await this.resolveImage(ctx, ref, { field: "template", sharedOnly: true })) as unknown as TemplateImage;
		} catch (err) {
			if ((err as { code?: number }).code === 422) throw notFound("Template", ref);
			throw err;
		}
		return checkTemplate(image, ref, Boolean(ctx.meta.userID));
	},

	/** The caller as lib/applications/access.ts sees it. */
	callerOf(this: ApplicationsThis, ctx: Context<unknown, Meta>): Caller {
		return {
			signedIn: Boolean(ctx.meta.userID),
			privileged: isAdmin(ctx.meta) || isUnscoped(ctx),
			confinedTo: ctx.meta.namespaces,
			mayAccess: doc => mayAccess(ctx, doc, doc.namespaceName),
		};
	},

	async keepAlive(this: ApplicationsThis, ctx: Context<unknown, Meta>, appId: string, template?: string): Promise<StoredApplication> {
		const found = await findVisibleInstance(this.store, this.callerOf(ctx), appId, template);
		const doc = await recordActivity(this.store, this.settings.policy, found, true);
		if (!isActive(doc)) throw conflict(`Application ${appId} is ${doc.status}; it can no longer be kept alive`, { id: appId, status: doc.status });
		return doc;
	},

	/** The owner (or an admin) ends an instance; the controller deletes its objects. */
	async requestRemoval(this: ApplicationsThis, ctx: Context<unknown, Meta>, appId: string): Promise<StoredApplication> {
		const caller = this.callerOf(ctx);
		const doc = await findVisibleInstance(this.store, caller, appId);
		checkRemovable(caller, doc);
		if (await endInstance(this.store, doc, "deleted", "requested", "Deleted on request")) {
			this.wake(appId);
			// On the leader the objects are gone by the time the caller hears back.
			if (this.reconciler?.isStarted) await this.reconciler.sync(appId).catch(err => this.logger.warn(`Deleting application ${appId} failed; the controller retries:`, (err as Error).message));
		}
		return (await this.store.load(appId)) as StoredApplication;
	},

	/** One instance's view for the caller: the launcher's location carries the token (lib/applications/token.ts). */
	async shownTo<V extends BinderView>(this: ApplicationsThis, ctx: Context<unknown, Meta>, doc: StoredApplication, view: V): Promise<V> {
		const location = await launcherLocation(getKubeClient(), doc, ctx.meta.userID);
		return location === view.location ? view : { ...view, location };
	},

	/** Tells whichever node runs the controller to look at an instance now. */
	wake(this: ApplicationsThis, appId: string): void {
		void this.broker.broadcast("k8s.applications.changed", { id: appId }, { groups: [this.name] });
	},
};

const ApplicationsService: ServiceSchema<ApplicationsSettings, ApplicationsMethods, ApplicationsLocals, ApplicationsThis> = {
	name: "k8s.applications",
	version: 1,
	// The first mixin drops the generic actions before this schema defines its own.
	mixins: [
		createControllerMixin<ApplicationsThis>({
			name: "k8s.applications",
			watch: self => [Kinds.Pod, Kinds.Deployment].map(kind => ({ kind, namespace: self.settings.namespace, selector: WATCH_SELECTOR, keyOf: instanceKeyOf })),
			reconcile: (self, appId) => reconcileInstance(self.apps, appId),
			listKeys: async self => (await self.store.find({ $or: [{ status: { $in: ACTIVE } }, { cleanup: "pending" }] })).map(d => d.appId),
			resyncMs: self => self.settings.resyncSeconds * 1000,
			// Culling and every status transition happen once, on the one node that leads.
			everyNode: false,
		}),
		withoutGenericActions,
		createDbMixin({ collection: "applications", fields: PUBLIC_FIELDS, unique: [["appId"]] }),
		createMembershipMixin({ entityName: "Application", accessFrom: "self" }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/applications" } as ApplicationsSettings,
	actions: {
		// The binder deploy API, at the root, shapes unchanged; errors as binder-protocol reads them (lib/compat/binder.ts).
		/** binder-protocol's launch (binder-client 1.0.3): `POST /applications/` with the template in the body. */
		binderDeploy: {
			rest: { method: "POST", fullPath: "/applications" },
			public: true,
			params: deployParams,
			async handler(this: ApplicationsThis, ctx: Context<DeployParams, Meta>): Promise<LaunchedApplication> {
				const idleMs = requestedIdleMs(ctx.params["cull-timeout"], this.settings.idleBounds);
				return { id: (await this.launchInstance(ctx, ctx.params["template-name"], idleMs)).appId };
			},
		},
		/** The seed's README form: the template in the path. */
		binderLaunch: {
			rest: { method: "POST", fullPath: "/applications/:template" },
			public: true,
			params: templateParams,
			async handler(this: ApplicationsThis, ctx: Context<TemplateParams, Meta>): Promise<LaunchedApplication> {
				return { id: (await this.launchInstance(ctx, ctx.params.template)).appId };
			},
		},
		binderStatus: {
			rest: { method: "GET", fullPath: "/applications/:template/:id" },
			public: true,
			params: instanceParams,
			async handler(this: ApplicationsThis, ctx: Context<InstanceParams, Meta>): Promise<BinderView> {
				const doc = await recordActivity(this.store, this.settings.policy, await findVisibleInstance(this.store, this.callerOf(ctx), ctx.params.id, ctx.params.template), false);
				return this.shownTo(ctx, doc, binderView(doc));
			},
		},
		binderList: {
			rest: { method: "GET", fullPath: "/applications/:template" },
			params: templateParams,
			async handler(this: ApplicationsThis, ctx: Context<TemplateParams, Meta>): Promise<BinderView[]> {
				const docs = await this.store.find(await this.scopedQuery(ctx, listFilter(this.callerOf(ctx), { template: ctx.params.template })));
				return docs.map(binderView);
			},
		},
		binderKeepalive: {
			rest: { method: "POST", fullPath: "/applications/:template/:id/keepalive" },
			public: true,
			params: instanceParams,
			async handler(this: ApplicationsThis, ctx: Context<InstanceParams, Meta>): Promise<BinderView> {
				const doc = await this.keepAlive(ctx, ctx.params.id, ctx.params.template);
				return this.shownTo(ctx, doc, binderView(doc));
			},
		},

		// Berth's API. Not named create/get/remove: the membership mixin's hooks for those expect DB ids.
		launch: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			public: true,
			params: strictParams(templateParams),
			async handler(this: ApplicationsThis, ctx: Context<LaunchParams, Meta>): Promise<ApplicationView> {
				const doc = await this.launchInstance(ctx, ctx.params.template);
				return answerCreated(ctx, `/api/v1/k8s/applications/${doc.appId}`, applicationView(doc, this.settings.policy));
			},
		},
		/** What may be launched: every template with a key, the public ones without. */
		templates: {
			rest: "GET /templates",
			public: true,
			params: {},
			async handler(this: ApplicationsThis, ctx: Context<Record<string, never>, Meta>): Promise<TemplateView[]> {
				const images = await ctx.call<TemplateImage[], { launchable: boolean }>("v1.k8s.images.list", { launchable: true });
				return images.filter(i => ctx.meta.userID || i.public).map(templateView);
			},
		},
		template: {
			rest: "GET /templates/:name",
			public: true,
			params: templateNameParams,
			async handler(this: ApplicationsThis, ctx: Context<TemplateNameParams, Meta>): Promise<TemplateView> {
				return templateView(await this.resolveTemplate(ctx, ctx.params.name));
			},
		},
		list: {
			rest: "GET /",
			params: listParams,
			async handler(this: ApplicationsThis, ctx: Context<ListParams, Meta>): Promise<ApplicationView[]> {
				const filter: Record<string, unknown> = {};
				if (ctx.params.template) filter.template = ctx.params.template;
				if (ctx.params.status) filter.status = ctx.params.status === "deploying" ? { $in: ["pending", "deploying"] } : ctx.params.status;
				const docs = await this.store.find(await this.scopedQuery(ctx, listFilter(this.callerOf(ctx), filter)));
				return docs.map(d => applicationView(d, this.settings.policy));
			},
		},
		status: {
			rest: "GET /:id",
			public: true,
			params: idParams,
			async handler(this: ApplicationsThis, ctx: Context<IdParams, Meta>): Promise<ApplicationView> {
				const doc = await recordActivity(this.store, this.settings.policy, await findVisibleInstance(this.store, this.callerOf(ctx), ctx.params.id), false);
				return this.shownTo(ctx, doc, applicationView(doc, this.settings.policy));
			},
		},
		keepalive: {
			rest: "POST /:id/keepalive",
			public: true,
			params: strictParams(idParams),
			async handler(this: ApplicationsThis, ctx: Context<IdParams, Meta>): Promise<ApplicationView> {
				const doc = await this.keepAlive(ctx, ctx.params.id);
				return this.shownTo(ctx, doc, applicationView(doc, this.settings.policy));
			},
		},
		delete: {
			rest: "DELETE /:id",
			params: idParams,
			async handler(this: ApplicationsThis, ctx: Context<IdParams, Meta>): Promise<ApplicationView> {
				return applicationView(await this.requestRemoval(ctx, ctx.params.id), this.settings.policy);
			},
		},
		/**
		 * Traffic seen through instances' routes (by whatever can measure it: an ingress log reader,
		 * a proxy). Counts as activity, like a poll. Mesh only: no REST route.
		 */
		recordActivity: {
			visibility: "public",
			params: activityParams,
			async handler(this: ApplicationsThis, ctx: Context<ActivityParams, Meta>): Promise<{ recorded: number }> {
				let recorded = 0;
				for (const appId of new Set(ctx.params.ids)) {
					const doc = isAppId(appId) ? await this.store.load(appId) : undefined;
					if (doc && isActive(doc)) (await recordActivity(this.store, this.settings.policy, doc, false), recorded++);
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
	methods,
	created(this: ApplicationsThis) {
		// Read when the broker creates the service, so each broker sees the environment of its time.
		Object.assign(this.settings, applicationsSettings());
		this.namespaceApplied = false;
		this.store = applicationStore(this);
		const self = this;
		this.apps = {
			store: this.store,
			// Leader-only work: each of its writes passes the fence.
			get kube(): KubeClient {
				return self.leaderKube();
			},
			config: this.settings,
			announce: (event, doc) => void self.broker.emit(`k8s.applications.${event}`, applicationView(doc, self.settings.policy)),
			forget: appId => self.reconciler?.forget(appId),
			fence: () => self.fence(),
		};
	},
};

export default ApplicationsService;
