import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	compatCreateParams,
	compatJobParams,
	createJobParams,
	JOB_FIELDS,
	jobIdParams,
	listJobsParams,
	type CompatCreateParams,
	type CompatJobParams,
	type CreateJobParams,
	type JobEntity,
	type JobIdParams,
	type JobsSettings,
	type JobStatusView,
	type ListJobsParams,
} from "../lib/api/jobs";
import type { NamespaceRef } from "../lib/api/namespaces";
import { answerCreated, getVisibleAction, withoutGenericActions, type RestMeta } from "../lib/api/rest";
import { compatJob, compatListItem, compatStatus, type CompatJobListItem, type CompatJobStatus, type CompatObject } from "../lib/compat/jobs";
import { conflict, forbidden, NOT_RETRIED, notFound } from "../lib/errors";
import { checkCommand, jobRunOf, jobsSettings } from "../lib/jobs/checks";
import { readJobLogs } from "../lib/jobs/logs";
import { reconcileJob } from "../lib/jobs/reconcile";
import { claim, jobKey, lastSeenJob, type StoredJob, type UpdatingAdapter } from "../lib/jobs/store";
import { getKubeClient, Kinds, type KubeClient, type V1Job } from "../lib/k8s";
import { jobFor } from "../lib/manifests/job";
import { deleteIfOwned, isTombstoned } from "../lib/tombstones";
import { MANAGED_SELECTOR } from "../lib/manifests/labels";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, mayAccess, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";
import { strictParams } from "../lib/api/rules";

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type JobsMethods = typeof methods;

interface JobsThis extends DbBackedService<JobsMethods & MembershipMethods & RefsMethods & ControllerMethods & ControllerLocals & { settings: JobsSettings }> {}

type Meta = CallerMeta & RestMeta;

/** moleculer-db's and the membership mixin's actions: they would bypass the cluster, so this API has its own. */

const JOB_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=job`;

function text(ctx: Context<unknown, Record<string, unknown>>, body: string): string {
	ctx.meta.$responseType = "text/plain; charset=utf-8";
	return body;
}

/**
 * Ad-hoc commands run as Kubernetes Jobs, in the caller's namespace (v1.k8s.namespaces.lookup).
 * Status comes from a Job informer; when a Job finishes its logs are captured into the DB, so they
 * outlive the pods. Also serves the orchestrate seed's `/jobs` routes, in a shared namespace.
 */
const methods = {
	async createJob(this: JobsThis, ctx: Context<unknown, CallerMeta>, params: Omit<CreateJobParams, "namespace">, ns: NamespaceRef, compat: boolean): Promise<{ entity: JobEntity; job: V1Job }> {
		const run = jobRunOf(params, this.settings, randomUUID());
		const saved = (await this.insertEntity(ctx, {
			...run,
			cmd: params.cmd,
			namespace: ns.id,
			namespaceName: ns.name,
			namespaceUid: ns.uid ?? null,
			compat,
			phase: "Pending",
			status: {},
			finished: false,
			owner: ctx.meta.userID,
			// Access is the namespace's (a compat job's: its owner's), decided at each call.
			members: [],
		})) as unknown as JobEntity;
		let job: V1Job;
		try {
			// Created, not applied: a Job of that name that is not this entity's is a 409, never taken over.
			job = await getKubeClient().create(jobFor({ ...run, id: saved.id }, ns.name));
		} catch (err) {
			// Nothing runs, so nothing is recorded: the caller sees the apiserver's answer.
			await this.removeEntity(ctx, saved.id);
			throw err;
		}
		// Removed while its Job was applied: the Job goes too (lib/tombstones.ts).
		if (isTombstoned(await this.loadDoc<StoredJob>(saved.id))) await this.deleteJob({ ...saved, namespaceName: ns.name } as StoredJob);
		this.reconciler?.enqueue(jobKey(ns.name, run.name));
		return { entity: { ...saved, uid: job.metadata?.uid }, job };
	},

	/**
	 * findVisible for the seed's routes, which name a job by its Job's name in the compat
	 * namespace rather than by entity id; the same access rule (mayAccess), else 404.
	 */
	async findCompatJob(this: JobsThis, ctx: Context<unknown, CallerMeta>, name: string): Promise<StoredJob> {
		const [doc] = await this.findRaw<StoredJob>({ name, namespaceName: this.settings.compatNamespace });
		if (!doc || !mayAccess(ctx, doc, doc.namespaceName)) throw notFound("Job", name);
		return doc;
	},

	/**
	 * The seed's routes share one namespace that Berth owns ("system"); it is created on first use.
	 * Each job in it belongs to its caller alone. A tenant's namespace of the same name is never used.
	 */
	async compatNamespace(this: JobsThis, ctx: Context<unknown, CallerMeta>): Promise<NamespaceRef> {
		const name = this.settings.compatNamespace;
		if (ctx.meta.namespaces && !ctx.meta.namespaces.includes(name)) throw forbidden(`This API key is confined to namespaces that do not include "${name}", where /jobs runs`);
		const system: CallerMeta & { keyID?: string } = { ...SYSTEM_META, namespaces: undefined, keyID: undefined };
		const resolve = async (): Promise<NamespaceRef | undefined> => {
			try {
				return await ctx.call<NamespaceRef, { name: string }>("v1.k8s.namespaces.resolveName", { name });
			} catch (err) {
				if ((err as { code?: number }).code === 404) return undefined;
				throw err;
			}
		};
		let ns = await resolve();
		if (!ns) {
			try {
				// broker.call, not ctx.call: moleculer merges a callee's meta back into the caller's,
				// which would leave this request running as "system" afterwards.
				ns = await this.broker.call<NamespaceRef, { name: string }>("v1.k8s.namespaces.create", { name }, { meta: system, parentCtx: ctx });
			} catch (err) {
				// Another request created it first; any other conflict (a namespace of that name
				// that Berth did not make) is the caller's answer.
				if ((err as { code?: number }).code !== 409) throw err;
				ns = await resolve();
				if (!ns) throw err;
			}
		}
		if (ns.owner !== SYSTEM_META.userID) throw conflict(`Namespace "${name}" (JOBS_COMPAT_NAMESPACE) belongs to a tenant; /jobs needs a namespace Berth owns`, { namespace: name });
		return ns;
	},

	/** Captured logs once the job has finished; until then, what its pods have written so far. */
	async logsOf(this: JobsThis, doc: StoredJob): Promise<string> {
		if (doc.logsCapturedAt) return doc.logs ?? "";
		return readJobLogs(getKubeClient(), doc.namespaceName, doc.name, this.settings.maxLogBytes);
	},

	/** Deletes the job's Job, only the one Berth made for it (background propagation: its pods go with it). */
	async deleteJob(this: JobsThis, doc: StoredJob, kube: KubeClient = getKubeClient()): Promise<void> {
		await deleteIfOwned(kube, { apiVersion: "batch/v1", kind: "Job", name: doc.name, namespace: doc.namespaceName }, doc.id);
	},

	/** Drops the entity (and its logs) and stops watching its Job. */
	async forgetJob(this: JobsThis, ctx: Context, doc: StoredJob): Promise<void> {
		await this.removeEntity(ctx, doc.id);
		this.reconciler?.forget(jobKey(doc.namespaceName, doc.name));
	},

	/** Records what the Job of `key` is now (lib/jobs/reconcile.ts), reading it from the watch's cache first. */
	async syncJob(this: JobsThis, key: string): Promise<void> {
		const kube = getKubeClient();
		await reconcileJob(key, {
			findByName: async name => (await this.findRaw<StoredJob>({ name }))[0],
			readJob: async (namespace, name) => (this.syncedCaches()?.get("Job")?.get(name, namespace) as V1Job | undefined) ?? (await kube.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name, namespace })),
			readLogs: (namespace, name) => readJobLogs(kube, namespace, name, this.settings.maxLogBytes),
			claim: (query, update) => claim(this.adapter as unknown as UpdatingAdapter, query, update),
			publicView: doc => this.publicView<JobEntity>(doc),
			emit: (event, payload) => void this.broker.emit(event, payload),
			fence: () => this.fence(),
			finishRemoval: async doc => {
				await this.deleteJob(doc, this.leaderKube());
				await this.forgetJob(this.systemContext(), doc);
			},
		});
	},
};

const JobsService: ServiceSchema<JobsSettings & ServiceSettingSchema, JobsMethods, ControllerLocals, JobsThis> = {
	name: "k8s.jobs",
	version: 1,
	// The first mixin wins: it drops the generic actions before this schema defines its own, so
	// moleculer's merge does not blend moleculer-db's params into them.
	mixins: [
		createControllerMixin<JobsThis>({
			name: "k8s.jobs",
			watch: [{ kind: Kinds.Job, selector: JOB_SELECTOR, keyOf: job => (job.metadata?.namespace && job.metadata?.name ? jobKey(job.metadata.namespace, job.metadata.name) : undefined) }],
			reconcile: (self, key) => self.syncJob(key),
			listKeys: async self => (await self.findRaw<StoredJob>({ $or: [{ finished: { $ne: true } }, { deleting: true }] })).map(d => jobKey(d.namespaceName, d.name)),
			orphans: self => ({ kinds: [Kinds.Job], selector: JOB_SELECTOR, exists: async id => Boolean(await self.loadDoc(id)) }),
			// Finishing a job captures its logs once: one node does it, the one that watches.
			everyNode: false,
		}),
		withoutGenericActions,
		createDbMixin({ collection: "jobs", fields: JOB_FIELDS, unique: [["name"]] }),
		createMembershipMixin({ entityName: "Job", selfDecided: { field: "compat", value: true }, hidden: doc => Boolean(doc.deleting) }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/jobs" } as JobsSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: strictParams(createJobParams),
			async handler(this: JobsThis, ctx: Context<CreateJobParams, Meta>): Promise<JobEntity> {
				checkCommand(ctx.params);
				// field null: an unknown namespace stays the namespaces service's 404.
				const ns = await this.lookupNamespace(ctx, ctx.params.namespace, null);
				const { entity } = await this.createJob(ctx, ctx.params, ns, false);
				return answerCreated(ctx, `/api/v1/k8s/jobs/${entity.id}`, entity);
			},
		},
		list: {
			rest: "GET /",
			params: listJobsParams,
			async handler(this: JobsThis, ctx: Context<ListJobsParams, CallerMeta>): Promise<JobEntity[]> {
				const filters: Record<string, unknown>[] = [];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace, null, "view")).id });
				// API keys confined to some namespaces see only jobs there.
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = await this.scopedQuery(ctx, filters.length === 0 ? {} : filters.length === 1 ? filters[0] : { $and: filters });
				return (await this.findRaw<StoredJob>(query)).map(doc => this.publicView<JobEntity>(doc));
			},
		},
		get: getVisibleAction<JobEntity>(jobIdParams),
		status: {
			rest: "GET /:id/status",
			params: jobIdParams,
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta>): Promise<JobStatusView> {
				const doc = await this.findVisible<StoredJob>(ctx, ctx.params.id);
				return { phase: doc.phase, finishedAt: doc.finishedAt, ...(doc.status ?? {}) };
			},
		},
		logs: {
			rest: "GET /:id/logs",
			params: jobIdParams,
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta & Record<string, unknown>>): Promise<string> {
				return text(ctx, await this.logsOf(await this.findVisible<StoredJob>(ctx, ctx.params.id)));
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: jobIdParams,
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta>): Promise<JobEntity> {
				const doc = await this.findVisible<StoredJob>(ctx, ctx.params.id, "edit");
				// Marked first (lib/tombstones.ts): the watch never records it as deleted, and if this node dies now the leader finishes the remove.
				await this.patchEntity(ctx, doc.id, { deleting: true });
				await this.deleteJob(doc);
				await this.forgetJob(ctx, doc);
				return this.publicView<JobEntity>(doc);
			},
		},

		// The orchestrate seed's routes, at the root, shapes unchanged. They act in the compat namespace.
		compatCreate: {
			rest: { method: "POST", fullPath: "/jobs" },
			params: compatCreateParams,
			async handler(this: JobsThis, ctx: Context<CompatCreateParams, CallerMeta>): Promise<CompatObject> {
				checkCommand(ctx.params);
				const ns = await this.compatNamespace(ctx);
				const { job } = await this.createJob(ctx, { cmd: ctx.params.cmd }, ns, true);
				return compatJob(job as Record<string, unknown>);
			},
		},
		compatList: {
			rest: { method: "GET", fullPath: "/jobs" },
			params: {},
			async handler(this: JobsThis, ctx: Context<unknown, CallerMeta>): Promise<CompatJobListItem[]> {
				const docs = await this.findRaw<StoredJob>(await this.scopedQuery(ctx, { compat: true, namespaceName: this.settings.compatNamespace }));
				return docs.map(doc => compatListItem(doc.name, doc.status));
			},
		},
		compatGet: {
			rest: { method: "GET", fullPath: "/jobs/:job" },
			params: compatJobParams,
			async handler(this: JobsThis, ctx: Context<CompatJobParams, CallerMeta>): Promise<CompatObject> {
				const doc = await this.findCompatJob(ctx, ctx.params.job);
				const live = await getKubeClient().get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: doc.name, namespace: doc.namespaceName });
				return compatJob(live ? (live as Record<string, unknown>) : lastSeenJob(doc));
			},
		},
		compatStatus: {
			rest: { method: "GET", fullPath: "/jobs/:job/status" },
			params: compatJobParams,
			async handler(this: JobsThis, ctx: Context<CompatJobParams, CallerMeta>): Promise<CompatJobStatus> {
				return compatStatus((await this.findCompatJob(ctx, ctx.params.job)).status);
			},
		},
		compatLogs: {
			rest: { method: "GET", fullPath: "/jobs/:job/logs" },
			params: compatJobParams,
			async handler(this: JobsThis, ctx: Context<CompatJobParams, CallerMeta & Record<string, unknown>>): Promise<string> {
				return text(ctx, await this.logsOf(await this.findCompatJob(ctx, ctx.params.job)));
			},
		},
	},
	events: {
		/** A removed namespace takes its Jobs with it; their entities (and logs) go too. */
		"k8s.namespaces.removed": {
			async handler(this: JobsThis, ctx: Context<{ id?: string; name?: string }>) {
				const nsId = ctx.params?.id;
				if (!nsId) return;
				for (const doc of await this.findRaw<StoredJob>({ namespace: nsId })) await this.forgetJob(ctx, doc);
			},
		},
	},
	methods,
	created(this: JobsThis) {
		// Read when the broker creates the service, so each broker sees the environment of its time.
		Object.assign(this.settings, jobsSettings());
	},
};

export default JobsService;
