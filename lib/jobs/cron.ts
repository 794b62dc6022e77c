/**
 * Scheduled jobs, pure: the rules of a `schedule` (the cron syntax the CronJob controller reads)
 * and of a `timeZone`, the CronJob manifest (a job's own pod template and safety defaults, run on
 * a schedule), and the Job of a run started by hand.
 */
import type { CronJobEntity } from "../api/cronjobs";
import { invalidField } from "../errors";
import type { V1CronJob, V1Job } from "../k8s";
import { jobFor, type JobRun } from "../manifests/job";
import { entityAnnotations, managedLabels, MANAGED_SELECTOR } from "../manifests/labels";

/** The component label of a CronJob and of every Job it makes (never `job`: those are v1.k8s.jobs' own). */
export const CRON_COMPONENT = "cronjob";
export const CRON_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=${CRON_COMPONENT}`;
/** What `kubectl create job --from=cronjob/…` writes on a Job it makes; a trigger writes it too. */
export const INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate";

const MACROS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
	name: string;
	min: number;
	max: number;
	/** Names accepted for values (JAN = 1, SUN = 0), case-insensitive. */
	names?: string[];
	/** `?` stands for "any" (day of month and day of week only). */
	question?: boolean;
}

/** The five fields, in order, with the ranges the CronJob controller's parser accepts. */
const FIELDS: FieldSpec[] = [
	{ name: "minute", min: 0, max: 59 },
	{ name: "hour", min: 0, max: 23 },
	{ name: "day of month", min: 1, max: 31, question: true },
	{ name: "month", min: 1, max: 12, names: MONTHS },
	{ name: "day of week", min: 0, max: 6, names: DAYS, question: true },
];

function valueOf(text: string, spec: FieldSpec): number | string {
	const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
	if (named >= 0) return spec.name === "month" ? named + 1 : named;
	if (!/^\d+$/.test(text)) return `"${text}" is not a number${spec.names ? " or a name" : ""}`;
	const n = Number(text);
	return n < spec.min || n > spec.max ? `${n} is outside ${spec.min}-${spec.max}` : n;
}

/** What is wrong with one element of a field's list (`*`, `5`, `1-5`, `*\/15`, `MON-FRI`, `10/5`), or undefined. */
function elementError(element: string, spec: FieldSpec): string | undefined {
	const [range, step, extra] = element.split("/");
	if (extra !== undefined) return `"${element}" has more than one step`;
	if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `the step of "${element}" is not a positive number`;
	if (step !== undefined && Number(step) > spec.max - spec.min + 1) return `the step of "${element}" is larger than the range`;
	if (range === "*" || (range === "?" && spec.question)) return undefined;
	const [from, to, more] = range.split("-");
	if (more !== undefined || from === "" || to === "") return `"${range}" is not a value or a range`;
	const a = valueOf(from, spec);
	if (typeof a === "string") return a;
	if (to === undefined) return undefined;
	const b = valueOf(to, spec);
	if (typeof b === "string") return b;
	return a > b ? `the range "${range}" runs backwards` : undefined;
}

/**
 * What is wrong with a schedule, or undefined when the CronJob controller would run it: five
 * fields (minute hour day-of-month month day-of-week) of values, ranges, steps and lists, month and
 * day names, or one of the @-macros (@hourly, @daily, …). A time zone goes in `timeZone`, not here.
 */
export function scheduleError(schedule: string): string | undefined {
	const text = schedule.trim();
	if (!text) return "The schedule is empty";
	if (/^(CRON_)?TZ=/i.test(text)) return "Give the time zone in timeZone, not in the schedule";
	if (text.startsWith("@")) return MACROS.has(text.toLowerCase()) ? undefined : `Unknown macro "${text}" (use one of ${[...MACROS].join(", ")})`;
	const parts = text.split(/\s+/);
	if (parts.length !== 5) return `A schedule has 5 fields (minute hour day-of-month month day-of-week), not ${parts.length}`;
	for (let i = 0; i < 5; i++) {
		for (const element of parts[i].split(",")) {
			const error = elementError(element, FIELDS[i]);
			if (error) return `In the ${FIELDS[i].name} field: ${error}`;
		}
	}
	return undefined;
}

/** An IANA zone name as Kubernetes takes it (`Europe/Paris`, `UTC`): not an offset, known to this runtime's tz database. */
export function timeZoneError(zone: string): string | undefined {
	if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone) || zone.length > 64) return `"${zone}" is not an IANA time zone name (e.g. "Europe/Paris", "UTC")`;
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: zone });
		return undefined;
	} catch {
		return `Unknown time zone "${zone}"`;
	}
}

/** Refuses a bad schedule or time zone with a 422 naming the field. */
export function checkSchedule(params: { schedule: string; timeZone?: string }): void {
	const error = scheduleError(params.schedule);
	if (error) throw invalidField("schedule", error, params.schedule);
	const zoneError = params.timeZone === undefined ? undefined : timeZoneError(params.timeZone);
	if (zoneError) throw invalidField("timeZone", zoneError, params.timeZone);
}

/** What a CronJob is built from: the stored entity's job fields, its schedule and its switches. */
export type CronRun = JobRun & Pick<CronJobEntity, "schedule" | "timeZone" | "suspend" | "concurrencyPolicy">;

/** Labels of the CronJob, its Jobs and their pods: the entity's, under the cronjob component. */
export function cronLabels(run: Pick<CronRun, "id" | "name">): Record<string, string> {
	return managedLabels(CRON_COMPONENT, run.id, run.name);
}

/**
 * The CronJob: each run is the Job a job of the same fields would get (jobFor: no retries unless
 * asked, a deadline, requests and limits, no service-account token, the restricted security
 * context, a TTL), labelled as this entity's. Runs never overlap unless asked, and a run missed
 * by more than five minutes (the controller was down) is skipped rather than started late.
 */
export function cronJobFor(run: CronRun, namespace: string): V1CronJob {
	const labels = cronLabels(run);
	const annotations = entityAnnotations(CRON_COMPONENT, run.id);
	const job = jobFor(run, namespace);
	const template = { ...job.spec!.template, metadata: { labels, annotations } };
	return {
		apiVersion: "batch/v1",
		kind: "CronJob",
		metadata: { name: run.name, namespace, labels, annotations },
		spec: {
			schedule: run.schedule,
			...(run.timeZone ? { timeZone: run.timeZone } : {}),
			suspend: run.suspend,
			concurrencyPolicy: run.concurrencyPolicy,
			startingDeadlineSeconds: 300,
			successfulJobsHistoryLimit: 3,
			failedJobsHistoryLimit: 3,
			jobTemplate: { metadata: { labels, annotations }, spec: { ...job.spec!, template } },
		},
	};
}

/** The Job of a run started now by hand: the CronJob's jobTemplate, owned by the CronJob, marked manual. */
export function triggeredJobFor(cronJob: V1CronJob, name: string): V1Job {
	const meta = cronJob.metadata!;
	const template = cronJob.spec!.jobTemplate;
	return {
		apiVersion: "batch/v1",
		kind: "Job",
		metadata: {
			name,
			namespace: meta.namespace,
			labels: { ...template.metadata?.labels },
			annotations: { ...template.metadata?.annotations, [INSTANTIATE_ANNOTATION]: "manual" },
			ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: meta.name!, uid: meta.uid!, controller: true, blockOwnerDeletion: true }],
		},
		spec: template.spec,
	};
}

/** A run's Job name for a trigger: the CronJob's name and a suffix unique to the millisecond (≤ 63 characters). */
export function triggeredName(cronName: string, now = Date.now()): string {
	return `${cronName}-m${now.toString(36)}`.slice(0, 63);
}

/** The reconciler's keys: a CronJob by its entity id, a run by its Job's namespace and name. */
export const cronKey = (id: string): string => `cron:${id}`;
export const runKey = (namespace: string, name: string): string => `run:${namespace}/${name}`;
