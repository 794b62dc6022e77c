/**
 * The contract of v1.k8s.cronjobs: scheduled jobs. A cronjob takes a job's fields (lib/api/jobs.ts)
 * plus its schedule; each run is a Job whose status and logs are kept as a job's are.
 */
import type { JobStatusLike } from "../compat/jobs";
import { createJobParams, JOB_SPEC_FIELDS, type CreateJobParams, type JobEntity, type JobPhase } from "./jobs";
import { idRule, strictParams } from "./rules";

export type ConcurrencyPolicy = "Allow" | "Forbid" | "Replace";

export interface CreateCronJobParams extends CreateJobParams {
	/** Cron syntax: five fields (minute hour day-of-month month day-of-week) or a macro (@hourly). */
	schedule: string;
	/** An IANA zone the schedule is read in (default: the controller's, UTC). */
	timeZone?: string;
	/** Created paused. */
	suspend?: boolean;
	/** Whether a run may start while the last one still runs (default Forbid). */
	concurrencyPolicy?: ConcurrencyPolicy;
}

export interface CronJobEntity extends Omit<JobEntity, "compat" | "phase" | "status" | "finishedAt" | "logsCapturedAt"> {
	schedule: string;
	timeZone?: string;
	suspend: boolean;
	concurrencyPolicy: ConcurrencyPolicy;
	/** From the CronJob's status. */
	lastScheduleTime?: string;
	lastSuccessfulTime?: string;
}

/** One run: a Job the CronJob made, on its schedule or by a trigger. */
export interface CronRunEntity {
	id: string;
	/** The cronjob's entity id. */
	cronJob: string;
	/** The Job's name. */
	name: string;
	namespace: string;
	namespaceName: string;
	trigger: "schedule" | "manual";
	phase: JobPhase;
	status: JobStatusLike;
	uid?: string;
	finishedAt?: string;
	logsCapturedAt?: string;
	createdAt: string;
	updatedAt: string;
}

export interface CronJobsSettings {
	rest: string;
	/** Runs whose record (status and logs) is kept per cronjob (CRONJOBS_RUNS_KEPT). */
	runsKept: number;
}

export interface CronJobIdParams {
	id: string;
}

export interface CronRunParams {
	id: string;
	/** The run's Job name. */
	run: string;
}

export const CRONJOB_FIELDS = [
	...JOB_SPEC_FIELDS,
	"schedule",
	"timeZone",
	"suspend",
	"concurrencyPolicy",
	"lastScheduleTime",
	"lastSuccessfulTime",
	"uid",
	"owner",
	"members",
];

export const RUN_FIELDS = ["cronJob", "name", "namespace", "namespaceName", "trigger", "phase", "status", "uid", "finishedAt", "logsCapturedAt"];

export const createCronJobParams = strictParams({
	...createJobParams,
	schedule: { type: "string", min: 1, max: 256 },
	timeZone: { type: "string", min: 1, max: 64, optional: true },
	suspend: { type: "boolean", optional: true },
	concurrencyPolicy: { type: "enum", values: ["Allow", "Forbid", "Replace"], optional: true },
} as const);

export const cronJobIdParams = { id: idRule } as const;
/** Suspend, resume and trigger take nothing but the id. */
export const cronJobActionParams = strictParams(cronJobIdParams);
export const cronRunParams = { id: idRule, run: { type: "string", min: 1, max: 63 } } as const;
