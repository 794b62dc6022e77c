import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	BUILD_FIELDS,
	buildIdParams,
	buildLogsParams,
	createBuildParams,
	listBuildsParams,
	type BuildEntity,
	type BuildIdParams,
	type BuildLogsParams,
	type BuildsSettings,
	type CreateBuildParams,
	type ListBuildsParams,
} from "../lib/api/builds";
import type { NamespaceRef } from "../lib/api/namespaces";
import { answerCreated, getVisibleAction, withoutGenericActions, type RestMeta } from "../lib/api/rest";
import { strictParams } from "../lib/api/rules";
import { keyStillUsable } from "../lib/access-watch";
import { buildResources, buildsSettings, checkGitUrl, destinationOf, imageNameOf, limitRangeDefaults } from "../lib/builds/checks";
import { reconcileBuild, type BuiltImageEntry, type StoredBuild } from "../lib/builds/reconcile";
import { loadConfig } from "../lib/config";
import { followLogs } from "../lib/deployments/live";
import { buildsDisabled, NOT_RETRIED } from "../lib/errors";
import { readJobLogs } from "../lib/jobs/logs";
import { claim, type UpdatingAdapter } from "../lib/jobs/store";
import { getKubeClient, Kinds, type KubernetesObject, type V1Job, type V1LimitRange, type V1Pod } from "../lib/k8s";
import { BUILD_COMPONENT, BUILD_CONTAINER, BUILD_REGISTRY_SECRET_NAME, buildJobFor, registrySecretCopy } from "../lib/manifests/build";
import { jobPodSelector } from "../lib/manifests/job";
import { LABEL_COMPONENT, LABEL_ID, MANAGED_SELECTOR } from "../lib/manifests/labels";
import { LIMIT_RANGE_NAME } from "../lib/manifests/namespace";
import { streamOwner } from "../lib/reads";
import { deleteIfOwned } from "../lib/tombstones";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";

type BuildsMethods = typeof methods;

interface BuildsThis extends DbBackedService<BuildsMethods & MembershipMethods & RefsMethods & ControllerMethods & ControllerLocals & { settings: BuildsSettings }> {}

type Meta = CallerMeta & RestMeta;

/** The Jobs of builds and their pods: what the controller watches. */
const BUILD_SELECTOR = `${MANAGED_SELECTOR},${LABEL_COMPONENT}=${BUILD_COMPONENT}`;

/**
 * Image builds (v1.k8s.builds; v1.k8s.images.build delegates here): each runs the builder as a Job
 * in the caller's namespace, where its quota and LimitRange apply, and pushes to BUILD_REGISTRY.
 * The Job's watch records the build's status; on success the image joins the namespace's catalog.
 */
const methods = {
	async startBuild(this: BuildsThis, ctx: Context<unknown, CallerMeta>, params: CreateBuildParams, ns: NamespaceRef): Promise<BuildEntity> {
		const registry = this.settings.registry;
		if (!registry) throw buildsDisabled("Builds are off on this Berth: BUILD_REGISTRY is not set");
		const kube = getKubeClient();
		const name = imageNameOf(params);
		const tag = params.tag ?? "latest";
		const limitRange = await kube.get<V1LimitRange>({ apiVersion: "v1", kind: "LimitRange", name: LIMIT_RANGE_NAME, namespace: ns.name });
		const resources = buildResources(params, limitRangeDefaults(limitRange), this.settings);
		const jobName = `build-${randomUUID()}`;
		const saved = (await this.insertEntity(ctx, {
			jobName,
			namespace: ns.id,
			namespaceName: ns.name,
			namespaceUid: ns.uid ?? null,
			git: params.git,
			...(params.ref ? { ref: params.ref } : {}),
			...(params.context ? { context: params.context } : {}),
			dockerfile: params.dockerfile ?? "Dockerfile",
			name,
			tag,
			...(params.description ? { description: params.description } : {}),
			destination: destinationOf(registry, ns.name, name, tag),
			resources,
			timeoutSeconds: Math.min(params.timeoutSeconds ?? this.settings.defaultTimeoutSeconds, this.settings.maxTimeoutSeconds),
			status: "pending",
			finished: false,
			owner: ctx.meta.userID,
			members: [],
		})) as unknown as BuildEntity;
		try {
			const registrySecret = await this.copyRegistrySecret(ns);
			const s = this.settings;
			// Created, not applied: a Job of that name that is not this build's is a 409, never taken over.
			await kube.create(buildJobFor({ ...saved, builderImage: s.builderImage, ttlSecondsAfterFinished: s.ttlSecondsAfterFinished, registrySecret, registryInsecure: s.registryInsecure }, ns.name));
		} catch (err) {
			// Nothing runs, so nothing is recorded: the caller sees why.
			await this.removeEntity(ctx, saved.id);
			throw err;
		}
		this.reconciler?.enqueue(saved.id);
		return saved;
	},

	/**
	 * BUILD_REGISTRY_SECRET copied into the build's namespace (a pod mounts only Secrets of its own
	 * namespace), kept current by server-side apply. Its values are never logged nor returned.
	 */
	async copyRegistrySecret(this: BuildsThis, ns: NamespaceRef): Promise<string | undefined> {
		const ref = this.settings.registrySecret;
		if (!ref) return undefined;
		const kube = getKubeClient();
		const source = await kube.get<KubernetesObject & { type?: string; data?: Record<string, string> }>({ apiVersion: "v1", kind: "Secret", name: ref.name, namespace: ref.namespace });
		if (!source?.data?.[".dockerconfigjson"])
			throw buildsDisabled(`The registry credentials (BUILD_REGISTRY_SECRET ${ref.namespace}/${ref.name}) are missing or not a dockerconfigjson Secret`);
		await kube.apply(registrySecretCopy({ ".dockerconfigjson": source.data[".dockerconfigjson"] }, ns.name, ns.id));
		return BUILD_REGISTRY_SECRET_NAME;
	},

	async podsOf(this: BuildsThis, doc: StoredBuild): Promise<V1Pod[]> {
		return getKubeClient().list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: jobPodSelector(doc.jobName) });
	},

	async readLogs(this: BuildsThis, doc: Pick<StoredBuild, "namespaceName" | "jobName">): Promise<string> {
		return readJobLogs(getKubeClient(), doc.namespaceName, doc.jobName, this.settings.maxLogBytes, BUILD_CONTAINER);
	},

	/** Records what the build's Job is now (lib/builds/reconcile.ts). */
	async syncBuild(this: BuildsThis, id: string): Promise<{ requeueAfterMs?: number } | void> {
		const kube = getKubeClient();
		return reconcileBuild(id, {
			find: async buildId => (await this.loadDoc(buildId)) as StoredBuild | undefined,
			readJob: async (namespace, name) => (this.syncedCaches()?.get("Job")?.get(name, namespace) as V1Job | undefined) ?? (await kube.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name, namespace })),
			readPods: (namespace, jobName) => kube.list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(jobName) }),
			readLogs: (namespaceName, jobName) => this.readLogs({ namespaceName, jobName }),
			claim: (query, update) => claim(this.adapter as unknown as UpdatingAdapter, query, update),
			addToCatalog: entry => this.addToCatalog(entry),
			emit: (event, payload) => void this.broker.emit(event, payload),
			fence: () => this.fence(),
		});
	},

	/** The contract with v1.k8s.images: Berth's own call (`scope: false`), as the refs mixin reads the catalog. */
	async addToCatalog(this: BuildsThis, entry: BuiltImageEntry): Promise<{ id: string }> {
		return this.broker.call<{ id: string }, BuiltImageEntry & { scope: boolean }>("v1.k8s.images.create", { ...entry, scope: false }, { meta: { ...SYSTEM_META } });
	},
};

const BuildsService: ServiceSchema<BuildsSettings & ServiceSettingSchema, BuildsMethods, ControllerLocals, BuildsThis> = {
	name: "k8s.builds",
	version: 1,
	mixins: [
		createControllerMixin<BuildsThis>({
			name: "k8s.builds",
			watch: [Kinds.Job, Kinds.Pod].map(kind => ({ kind, selector: BUILD_SELECTOR, keyOf: (obj: KubernetesObject) => obj.metadata?.labels?.[LABEL_ID] })),
			reconcile: (self, key) => self.syncBuild(key),
			listKeys: async self => (await self.findRaw<StoredBuild>({ $or: [{ finished: { $ne: true } }, { catalogPending: true }] })).map(d => d.id),
			orphans: self => ({ kinds: [Kinds.Job], selector: BUILD_SELECTOR, exists: async id => Boolean(await self.loadDoc(id)) }),
			// Finishing a build captures its logs and writes its catalog entry once: the watching node does it.
			everyNode: false,
		}),
		withoutGenericActions,
		createDbMixin({ collection: "builds", fields: BUILD_FIELDS, unique: [["jobName"]] }),
		createMembershipMixin({ entityName: "Build" }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/builds" } as BuildsSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			summary: "Build an image from a Git repository into a namespace's catalog",
			params: strictParams(createBuildParams),
			async handler(this: BuildsThis, ctx: Context<CreateBuildParams, Meta>): Promise<BuildEntity> {
				checkGitUrl(ctx.params.git);
				const ns = await this.lookupNamespace(ctx, ctx.params.namespace, null);
				const build = await this.startBuild(ctx, ctx.params, ns);
				return answerCreated(ctx, `/api/v1/k8s/builds/${build.id}`, build);
			},
		},
		list: {
			rest: "GET /",
			summary: "The builds of your namespaces (or of one)",
			params: listBuildsParams,
			async handler(this: BuildsThis, ctx: Context<ListBuildsParams, CallerMeta>): Promise<BuildEntity[]> {
				const filter = ctx.params.namespace ? { namespace: (await this.lookupNamespace(ctx, ctx.params.namespace, null, "view")).id } : {};
				const docs = await this.findRaw<StoredBuild>(await this.scopedQuery(ctx, filter));
				return docs.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(doc => this.publicView<BuildEntity>(doc));
			},
		},
		get: { ...getVisibleAction<BuildEntity>(buildIdParams), summary: "A build: its status, image and digest" },
		logs: {
			rest: "GET /:id/logs",
			summary: "The builder's output (text); `follow=true` streams it until the build ends",
			params: buildLogsParams,
			async handler(this: BuildsThis, ctx: Context<BuildLogsParams, CallerMeta & RestMeta & { $responseType?: string }>): Promise<string | Readable> {
				const doc = (await this.findVisible(ctx, ctx.params.id)) as StoredBuild;
				ctx.meta.$responseType = "text/plain; charset=utf-8";
				if (doc.logsCapturedAt) return doc.logs ?? "";
				if (!ctx.params.follow) return this.readLogs(doc);
				const recheck = async () => (await keyStillUsable(ctx)) && Boolean(await this.findVisible(ctx, doc.id));
				const access = { recheck, recheckMs: loadConfig().streamRecheckSeconds * 1000, owner: streamOwner(ctx.meta) };
				return followLogs(getKubeClient(), doc, await this.podsOf(doc), { id: doc.id, container: BUILD_CONTAINER, maxSeconds: ctx.params.maxSeconds }, access);
			},
		},
	},
	events: {
		/** A removed namespace takes its Jobs with it; the builds' records go too. */
		"k8s.namespaces.removed": {
			async handler(this: BuildsThis, ctx: Context<{ id?: string }>) {
				const nsId = ctx.params?.id;
				if (!nsId) return;
				for (const doc of await this.findRaw<StoredBuild>({ namespace: nsId })) {
					await deleteIfOwned(getKubeClient(), { apiVersion: "batch/v1", kind: "Job", name: doc.jobName, namespace: doc.namespaceName }, doc.id).catch(() => undefined);
					await this.removeEntity(ctx, doc.id);
				}
			},
		},
	},
	methods,
	created(this: BuildsThis) {
		// Read when the broker creates the service, so each broker sees the environment of its time.
		Object.assign(this.settings, buildsSettings());
	},
};

export default BuildsService;
