import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	CRONJOB_FIELDS,
	cronJobActionParams,
	cronJobIdParams,
	cronRunParams,
	createCronJobParams,
	RUN_FIELDS,
	type CreateCronJobParams,
	type CronJobEntity,
	type CronJobIdParams,
	type CronJobsSettings,
	type CronRunEntity,
	type CronRunParams,
} from "../lib/api/cronjobs";
import { listJobsParams, type ListJobsParams } from "../lib/api/jobs";
import { answerCreated, withoutGenericActions, type RestMeta } from "../lib/api/rest";
import { NOT_RETRIED, notFound } from "../lib/errors";
import { checkCommand, jobRunOf, jobsSettings } from "../lib/jobs/checks";
import { checkSchedule, CRON_SELECTOR, cronJobFor, cronKey, runKey, triggeredJobFor, triggeredName, type CronRun } from "../lib/jobs/cron";
import { readJobLogs } from "../lib/jobs/logs";
import { beyondKept, CRONJOBS_ONLY, newRun, parentIdOf, reconcileRun, runsOf, type StoredRun } from "../lib/jobs/runs";
import { claim, type UpdatingAdapter } from "../lib/jobs/store";
import { getKubeClient, Kinds, type KubeClient, type V1CronJob, type V1Job } from "../lib/k8s";
import { ANNOTATION_ID } from "../lib/manifests/labels";
import { deleteIfOwned } from "../lib/tombstones";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";

type CronJobsMethods = typeof methods;
interface CronJobsThis extends DbBackedService<CronJobsMethods & MembershipMethods & RefsMethods & ControllerMethods & ControllerLocals & { settings: CronJobsSettings & { jobs: ReturnType<typeof jobsSettings> } }> {}
type Meta = CallerMeta & RestMeta;

/** What is stored of a cronjob: its view, the run it is built from, and the tombstone. */
type StoredCron = CronJobEntity & { kind?: "cronjob" | "run"; deleting?: boolean; namespaceUid?: string | null };

const CRON_REF = (doc: { name: string; namespaceName: string }) => ({ apiVersion: "batch/v1", kind: "CronJob", name: doc.name, namespace: doc.namespaceName });

/**
 * Scheduled jobs: a cronjob is a job's command on a schedule, run by the cluster's CronJob
 * controller. Each run is a Job; the watch records it, follows its status and keeps its logs once it
 * has finished, as v1.k8s.jobs does for a job. Visible to the namespace's members.
 */
const methods = {
	/** The CronJob's fields from a stored cronjob (its job fields were checked and defaulted at create). */
	cronRunOf(this: CronJobsThis, doc: StoredCron): CronRun {
		const { id, name, command, image, env, resources, timeoutSeconds, backoffLimit, ttlSecondsAfterFinished, schedule, timeZone, suspend, concurrencyPolicy } = doc;
		return { id, name, command, image, env, resources, timeoutSeconds, backoffLimit, ttlSecondsAfterFinished, schedule, timeZone, suspend, concurrencyPolicy };
	},

	/** Applies the CronJob of a cronjob as stored (server-side apply: idempotent, any node). */
	async applyCron(this: CronJobsThis, doc: StoredCron, kube: KubeClient = getKubeClient()): Promise<V1CronJob> {
		return kube.apply(cronJobFor(this.cronRunOf(doc), doc.namespaceName));
	},

	/** A cronjob the caller may see (`need`), never a run's record: else 404. */
	async findCron(this: CronJobsThis, ctx: Context<unknown, CallerMeta>, id: string, need: "view" | "edit" = "view"): Promise<StoredCron> {
		return this.findVisible<StoredCron>(ctx, id, need);
	},

	/** Sets `suspend` and applies it at once, so the answer is what the cluster holds. */
	async setSuspended(this: CronJobsThis, ctx: Context<CronJobIdParams, CallerMeta>, suspend: boolean): Promise<CronJobEntity> {
		const doc = await this.findCron(ctx, ctx.params.id, "edit");
		const saved = (await this.patchEntity(ctx, doc.id, { suspend })) as unknown as StoredCron;
		await this.applyCron({ ...doc, suspend });
		this.reconciler?.enqueue(cronKey(doc.id));
		return this.publicView<CronJobEntity>(saved);
	},

	runView(this: CronJobsThis, doc: StoredRun): CronRunEntity {
		const out: Record<string, unknown> = { id: doc.id, createdAt: doc.createdAt, updatedAt: doc.updatedAt };
		for (const f of RUN_FIELDS) if ((doc as unknown as Record<string, unknown>)[f] !== undefined) out[f] = (doc as unknown as Record<string, unknown>)[f];
		return out as unknown as CronRunEntity;
	},

	/** Records a run; one the watch recorded first (same Job name, unique) is kept as it is. */
	async insertRun(this: CronJobsThis, run: Omit<StoredRun, "id" | "createdAt" | "updatedAt">): Promise<void> {
		try {
			await this.insertEntity(this.systemContext(), run as unknown as Record<string, unknown>);
		} catch (err) {
			if (!(await this.findRaw({ name: run.name })).length) throw err;
		}
	},

	/** Drops the records of runs beyond CRONJOBS_RUNS_KEPT (finished ones only: a running one stays followed). */
	async trimRuns(this: CronJobsThis, cronJob: string): Promise<void> {
		const finished = (await this.findRaw<StoredRun>({ ...runsOf(cronJob), finished: true })).length;
		const all = await this.findRaw<StoredRun>(runsOf(cronJob));
		if (all.length <= this.settings.runsKept || !finished) return;
		const drop = new Set(beyondKept(all, this.settings.runsKept));
		for (const run of all) if (drop.has(run.id) && run.finished) await this.removeEntity(this.systemContext(), run.id);
	},

	/** The CronJob (only Berth's, its Jobs with it), the runs' records, then the cronjob. */
	async removeCron(this: CronJobsThis, ctx: Context, doc: StoredCron, kube: KubeClient = getKubeClient()): Promise<void> {
		await deleteIfOwned(kube, CRON_REF(doc), doc.id);
		for (const run of await this.findRaw<StoredRun>(runsOf(doc.id))) await this.removeEntity(ctx, run.id);
		await this.removeEntity(ctx, doc.id);
		this.reconciler?.forget(cronKey(doc.id));
	},

	/** A cronjob: its CronJob applied as stored, and the CronJob's status recorded. */
	async syncCron(this: CronJobsThis, id: string): Promise<void> {
		const doc = await this.loadDoc<StoredCron>(id);
		if (!doc || doc.kind === "run") return;
		if (doc.deleting) return this.removeCron(this.systemContext(), doc, this.leaderKube());
		const live = await this.applyCron(doc, this.leaderKube());
		const status = { lastScheduleTime: toIso(live.status?.lastScheduleTime), lastSuccessfulTime: toIso(live.status?.lastSuccessfulTime), uid: live.metadata?.uid };
		if (status.lastScheduleTime !== doc.lastScheduleTime || status.lastSuccessfulTime !== doc.lastSuccessfulTime || status.uid !== doc.uid) await this.patchEntity(this.systemContext(), id, status);
	},

	/** A run's Job: recorded, followed, its logs captured once it has finished (lib/jobs/runs.ts). */
	async syncRun(this: CronJobsThis, key: string): Promise<void> {
		const kube = getKubeClient();
		const maxLogBytes = this.settings.jobs.maxLogBytes;
		await reconcileRun(key, {
			findRun: async name => (await this.findRaw<StoredRun>({ kind: "run", name }))[0],
			findParent: async id => {
				const doc = await this.loadDoc<StoredCron>(id);
				return doc && doc.kind !== "run" && !doc.deleting ? doc : undefined;
			},
			insertRun: run => this.insertRun(run),
			trim: cronJob => this.trimRuns(cronJob),
			readJob: async (namespace, name) => (this.syncedCaches()?.get("Job")?.get(name, namespace) as V1Job | undefined) ?? (await kube.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name, namespace })),
			readLogs: (namespace, name) => readJobLogs(kube, namespace, name, maxLogBytes),
			claim: async (query, update) => {
				const n = await claim(this.adapter as unknown as UpdatingAdapter, query, update);
				if (n) await this.clearCache();
				return n;
			},
			publicView: doc => this.runView(doc),
			emit: (event, payload) => void this.broker.emit(event === "k8s.jobs.completed" ? "k8s.cronjobs.runCompleted" : "k8s.cronjobs.runFailed", payload),
			fence: () => this.fence(),
		});
	},
};

function toIso(t: Date | string | undefined): string | undefined {
	return t === undefined ? undefined : new Date(t).toISOString();
}

const CronJobsService: ServiceSchema<CronJobsSettings & ServiceSettingSchema, CronJobsMethods, ControllerLocals, CronJobsThis> = {
	name: "k8s.cronjobs",
	version: 1,
	mixins: [
		createControllerMixin<CronJobsThis>({
			name: "k8s.cronjobs",
			watch: [
				{ kind: Kinds.CronJob, selector: CRON_SELECTOR, keyOf: cron => (cron.metadata?.annotations?.[ANNOTATION_ID] ? cronKey(cron.metadata.annotations[ANNOTATION_ID]) : undefined) },
				{ kind: Kinds.Job, selector: CRON_SELECTOR, keyOf: job => (job.metadata?.namespace && job.metadata?.name && parentIdOf(job as V1Job) ? runKey(job.metadata.namespace, job.metadata.name) : undefined) },
			],
			reconcile: (self, key) => (key.startsWith("cron:") ? self.syncCron(key.slice(5)) : self.syncRun(key.slice(4))),
			listKeys: async self => [
				...(await self.findRaw<StoredCron>(CRONJOBS_ONLY)).map(d => cronKey(d.id)),
				...(await self.findRaw<StoredRun>({ kind: "run", finished: { $ne: true } })).map(d => runKey(d.namespaceName, d.name)),
			],
			orphans: self => ({ kinds: [Kinds.CronJob], selector: CRON_SELECTOR, exists: async id => Boolean(await self.loadDoc(id)) }),
			// Finishing a run captures its logs once: one node does it, the one that watches.
			everyNode: false,
		}),
		withoutGenericActions,
		createDbMixin({ collection: "cronjobs", fields: CRONJOB_FIELDS, unique: [["name"]] }),
		createMembershipMixin({ entityName: "CronJob", hidden: doc => Boolean(doc.deleting) || doc.kind === "run" }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/cronjobs" } as CronJobsSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: createCronJobParams,
			async handler(this: CronJobsThis, ctx: Context<CreateCronJobParams, Meta>): Promise<CronJobEntity> {
				checkCommand(ctx.params);
				checkSchedule(ctx.params);
				const ns = await this.lookupNamespace(ctx, ctx.params.namespace, null);
				const { schedule, timeZone, suspend = false, concurrencyPolicy = "Forbid" } = ctx.params;
				const run = jobRunOf(ctx.params, this.settings.jobs, randomUUID());
				const saved = (await this.insertEntity(ctx, { ...run, cmd: ctx.params.cmd, schedule, timeZone, suspend, concurrencyPolicy, kind: "cronjob", namespace: ns.id, namespaceName: ns.name, namespaceUid: ns.uid ?? null, owner: ctx.meta.userID, members: [] })) as unknown as StoredCron;
				let live: V1CronJob;
				try {
					// Created, not applied: a CronJob of that name that is not this entity's is a 409, never taken over.
					live = await getKubeClient().create(cronJobFor(this.cronRunOf(saved), ns.name));
				} catch (err) {
					await this.removeEntity(ctx, saved.id);
					throw err;
				}
				this.reconciler?.enqueue(cronKey(saved.id));
				return answerCreated(ctx, `/api/v1/k8s/cronjobs/${saved.id}`, { ...saved, uid: live.metadata?.uid });
			},
		},
		list: {
			rest: "GET /",
			params: listJobsParams,
			async handler(this: CronJobsThis, ctx: Context<ListJobsParams, CallerMeta>): Promise<CronJobEntity[]> {
				const filters: Record<string, unknown>[] = [CRONJOBS_ONLY, { deleting: { $ne: true } }];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace, null, "view")).id });
				return (await this.findRaw<StoredCron>(await this.scopedQuery(ctx, { $and: filters }))).map(doc => this.publicView<CronJobEntity>(doc));
			},
		},
		get: {
			rest: "GET /:id",
			params: cronJobIdParams,
			async handler(this: CronJobsThis, ctx: Context<CronJobIdParams, CallerMeta>): Promise<CronJobEntity> {
				return this.publicView<CronJobEntity>(await this.findCron(ctx, ctx.params.id));
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: cronJobIdParams,
			async handler(this: CronJobsThis, ctx: Context<CronJobIdParams, CallerMeta>): Promise<CronJobEntity> {
				const doc = await this.findCron(ctx, ctx.params.id, "edit");
				// Marked first (lib/tombstones.ts): if this node dies now, the leader finishes the remove.
				await this.patchEntity(ctx, doc.id, { deleting: true });
				await this.removeCron(ctx, doc);
				return this.publicView<CronJobEntity>(doc);
			},
		},
		suspend: {
			rest: "POST /:id/suspend",
			params: cronJobActionParams,
			handler(this: CronJobsThis, ctx: Context<CronJobIdParams, CallerMeta>): Promise<CronJobEntity> {
				return this.setSuspended(ctx, true);
			},
		},
		resume: {
			rest: "POST /:id/resume",
			params: cronJobActionParams,
			handler(this: CronJobsThis, ctx: Context<CronJobIdParams, CallerMeta>): Promise<CronJobEntity> {
				return this.setSuspended(ctx, false);
			},
		},
		trigger: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /:id/trigger",
			params: cronJobActionParams,
			async handler(this: CronJobsThis, ctx: Context<CronJobIdParams, Meta>): Promise<CronRunEntity> {
				const doc = await this.findCron(ctx, ctx.params.id, "edit");
				const kube = getKubeClient();
				// The live CronJob: its uid owns the run, so the run goes when the CronJob does.
				const live = (await kube.get<V1CronJob>(CRON_REF(doc))) ?? (await this.applyCron(doc));
				const job = await kube.create(triggeredJobFor(live, triggeredName(doc.name)));
				await this.insertRun(newRun(job, doc));
				this.reconciler?.enqueue(runKey(doc.namespaceName, job.metadata!.name!));
				const [run] = await this.findRaw<StoredRun>({ kind: "run", name: job.metadata!.name! });
				return answerCreated(ctx, `/api/v1/k8s/cronjobs/${doc.id}/runs/${run.name}`, this.runView(run));
			},
		},
		runs: {
			rest: "GET /:id/runs",
			params: cronJobIdParams,
			async handler(this: CronJobsThis, ctx: Context<CronJobIdParams, CallerMeta>): Promise<CronRunEntity[]> {
				const doc = await this.findCron(ctx, ctx.params.id);
				return (await this.findRaw<StoredRun>(runsOf(doc.id))).map(run => this.runView(run)).reverse();
			},
		},
		runLogs: {
			rest: "GET /:id/runs/:run/logs",
			params: cronRunParams,
			async handler(this: CronJobsThis, ctx: Context<CronRunParams, CallerMeta & Record<string, unknown>>): Promise<string> {
				const doc = await this.findCron(ctx, ctx.params.id);
				const [run] = await this.findRaw<StoredRun>({ ...runsOf(doc.id), name: ctx.params.run });
				if (!run) throw notFound("Run", ctx.params.run);
				ctx.meta.$responseType = "text/plain; charset=utf-8";
				return run.logsCapturedAt ? (run.logs ?? "") : readJobLogs(getKubeClient(), run.namespaceName, run.name, this.settings.jobs.maxLogBytes);
			},
		},
	},
	events: {
		/** A removed namespace takes its CronJobs and their Jobs with it; the records go too. */
		"k8s.namespaces.removed": {
			async handler(this: CronJobsThis, ctx: Context<{ id?: string }>) {
				if (!ctx.params?.id) return;
				for (const doc of await this.findRaw<StoredCron>({ namespace: ctx.params.id })) await this.removeEntity(ctx, doc.id);
			},
		},
	},
	methods,
	created(this: CronJobsThis) {
		// Read when the broker creates the service, so each broker sees the environment of its time.
		Object.assign(this.settings, { jobs: jobsSettings(), runsKept: positive(process.env.CRONJOBS_RUNS_KEPT, 20) });
	},
};

function positive(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n > 0 ? n : fallback;
}

export default CronJobsService;
