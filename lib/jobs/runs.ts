/**
 * The runs of a cronjob: each Job its CronJob makes (on the schedule or by a trigger) is recorded
 * when the watch first sees it, then followed and finished exactly as a job is (lib/jobs/reconcile.ts:
 * status, then its logs captured once). The oldest records beyond CRONJOBS_RUNS_KEPT are dropped.
 * Runs live in the cronjobs collection beside their cronjob, told apart by `kind: "run"`.
 */
import type { CronRunEntity } from "../api/cronjobs";
import type { V1Job } from "../k8s";
import { ANNOTATION_ID } from "../manifests/labels";
import { INSTANTIATE_ANNOTATION } from "./cron";
import { reconcileJob, type JobSyncDeps } from "./reconcile";
import type { StoredJob } from "./store";

/** What a run's record holds beyond its view: as a job's (logs, last object, the finished mark). */
export interface StoredRun extends CronRunEntity {
	kind: "run";
	owner: string;
	members: string[];
	logs?: string;
	lastObject?: string;
	finished?: boolean;
	deleting?: boolean;
}

/** The cronjob fields a run record copies: where it runs and whose it is. */
export interface RunParent {
	id: string;
	namespace: string;
	namespaceName: string;
	owner: string;
}

/** A query for the runs of a cronjob, or for cronjobs only (never their runs). */
export const runsOf = (cronJob: string): Record<string, unknown> => ({ kind: "run", cronJob });
export const CRONJOBS_ONLY = { kind: { $ne: "run" } } as const;

/** The cronjob entity a Job was made for (the CronJob's jobTemplate annotation), if any. */
export function parentIdOf(job: V1Job): string | undefined {
	return job.metadata?.annotations?.[ANNOTATION_ID];
}

/** The first record of a run the watch has just seen. */
export function newRun(job: V1Job, parent: RunParent): Omit<StoredRun, "id" | "createdAt" | "updatedAt"> {
	return {
		kind: "run",
		cronJob: parent.id,
		name: job.metadata!.name!,
		namespace: parent.namespace,
		namespaceName: parent.namespaceName,
		trigger: job.metadata?.annotations?.[INSTANTIATE_ANNOTATION] === "manual" ? "manual" : "schedule",
		phase: "Pending",
		status: {},
		finished: false,
		owner: parent.owner,
		members: [],
	};
}

export interface RunSyncDeps extends Omit<JobSyncDeps, "findByName" | "publicView"> {
	findRun(name: string): Promise<StoredRun | undefined>;
	findParent(id: string): Promise<RunParent | undefined>;
	/** Inserts the record; a concurrent insert of the same name (unique) is not an error. */
	insertRun(run: Omit<StoredRun, "id" | "createdAt" | "updatedAt">): Promise<void>;
	publicView(doc: StoredRun): CronRunEntity;
	/** Drops the records of a cronjob's runs beyond the newest `keep`. */
	trim(cronJob: string): Promise<void>;
}

/** Level-based sync of one run's Job (`namespace/name`): recorded first, then followed as a job. */
export async function reconcileRun(key: string, deps: RunSyncDeps): Promise<void> {
	const slash = key.indexOf("/");
	const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
	let run = await deps.findRun(name);
	if (!run) {
		const job = await deps.readJob(namespace, name);
		const parentId = job && parentIdOf(job);
		const parent = parentId ? await deps.findParent(parentId) : undefined;
		// A Job of a cronjob being removed, or of none Berth knows: nothing to record.
		if (!job || !parent || parent.namespaceName !== namespace) return;
		await deps.insertRun(newRun(job, parent));
		run = await deps.findRun(name);
		if (!run) return;
		await deps.trim(run.cronJob);
	}
	const wasFinished = run.finished;
	await reconcileJob(key, { ...deps, findByName: async () => run as unknown as StoredJob, publicView: doc => deps.publicView(doc as unknown as StoredRun) as never });
	if (!wasFinished) await deps.trim(run.cronJob);
}

/** The ids of a cronjob's run records to drop: all but the newest `keep` (records oldest first). */
export function beyondKept(runs: { id: string; createdAt: string }[], keep: number): string[] {
	const sorted = [...runs].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
	return sorted.slice(0, Math.max(0, sorted.length - keep)).map(r => r.id);
}
