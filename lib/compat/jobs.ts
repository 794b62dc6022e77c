/**
 * The orchestrate seed's JSON shapes. Its API answered with the Python Kubernetes client's models:
 * snake_case keys, every model field present (null when unset), keys of free-form maps (labels,
 * annotations, fieldsV1, resource lists) untouched, and times as Python's isoformat
 * ("2022-05-28T15:46:58+00:00"). Pure functions: Kubernetes objects in (typed with Dates, or wire
 * JSON with strings), plain JSON out.
 */

export interface CompatCondition {
	last_probe_time: string | null;
	last_transition_time: string | null;
	message: string | null;
	reason: string | null;
	status: string | null;
	type: string | null;
}

export interface CompatJobStatus {
	active: number | null;
	completed_indexes: string | null;
	completion_time: string | null;
	conditions: CompatCondition[] | null;
	failed: number | null;
	ready: number | null;
	start_time: string | null;
	succeeded: number | null;
	uncounted_terminated_pods: { failed: string[] | null; succeeded: string[] | null } | null;
}

export type CompatJobListItem = { job: string } & CompatJobStatus;

export type CompatObject = Record<string, unknown>;

/** A Job status as either client-node's typed model or the apiserver's JSON. */
export interface JobStatusLike {
	active?: number;
	completedIndexes?: string;
	completionTime?: Date | string;
	conditions?: { lastProbeTime?: Date | string; lastTransitionTime?: Date | string; message?: string; reason?: string; status?: string; type?: string }[];
	failed?: number;
	ready?: number;
	startTime?: Date | string;
	succeeded?: number;
	uncountedTerminatedPods?: { failed?: string[]; succeeded?: string[] };
}

/** Python's name for a field: the generator's underscore() (podIPs → pod_i_ps, fieldsV1 → fields_v1). */
export function snakeCase(key: string): string {
	return key
		.replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
		.replace(/([a-z\d])([A-Z])/g, "$1_$2")
		.replace(/-/g, "_")
		.toLowerCase();
}

function pad(n: number, width = 2): string {
	return String(n).padStart(width, "0");
}

/** A time as Python's `datetime.isoformat()` of a UTC datetime; null when absent or unparseable. */
export function compatTime(value: unknown): string | null {
	if (value === undefined || value === null || value === "") return null;
	const date = value instanceof Date ? value : new Date(String(value));
	if (Number.isNaN(date.getTime())) return null;
	const base = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
	const ms = date.getUTCMilliseconds();
	return `${base}${ms ? `.${pad(ms * 1000, 6)}` : ""}+00:00`;
}

function orNull<T>(value: T | undefined | null): T | null {
	return value === undefined ? null : value;
}

export function compatStatus(status: JobStatusLike | undefined | null): CompatJobStatus {
	const s = status ?? {};
	return {
		active: orNull(s.active),
		completed_indexes: orNull(s.completedIndexes),
		completion_time: compatTime(s.completionTime),
		conditions: s.conditions
			? s.conditions.map(c => ({
					last_probe_time: compatTime(c.lastProbeTime),
					last_transition_time: compatTime(c.lastTransitionTime),
					message: orNull(c.message),
					reason: orNull(c.reason),
					status: orNull(c.status),
					type: orNull(c.type),
				}))
			: null,
		failed: orNull(s.failed),
		ready: orNull(s.ready),
		start_time: compatTime(s.startTime),
		succeeded: orNull(s.succeeded),
		uncounted_terminated_pods: s.uncountedTerminatedPods
			? { failed: orNull(s.uncountedTerminatedPods.failed), succeeded: orNull(s.uncountedTerminatedPods.succeeded) }
			: null,
	};
}

/** One row of `GET /jobs`: the Job's name, then its status. */
export function compatListItem(name: string, status: JobStatusLike | undefined | null): CompatJobListItem {
	return { job: name, ...compatStatus(status) };
}

/** Fields whose values are maps of user-chosen keys: their keys stay as they are. */
const MAP_FIELDS = new Set([
	"labels",
	"annotations",
	"fieldsV1",
	"matchLabels",
	"nodeSelector",
	"limits",
	"requests",
	"overhead",
	"data",
	"binaryData",
	"stringData",
	"hard",
	"used",
	"capacity",
	"allocatable",
	"volumeAttributes",
	"parameters",
]);

/** Fields holding a metav1.Time: rendered like Python's datetimes. */
const TIME_FIELDS = new Set([
	"creationTimestamp",
	"deletionTimestamp",
	"time",
	"lastProbeTime",
	"lastTransitionTime",
	"lastUpdateTime",
	"lastHeartbeatTime",
	"startTime",
	"completionTime",
	"startedAt",
	"finishedAt",
	"eventTime",
]);

/**
 * The fields each model of the seed's output declares; Python lists them all, null when unset.
 * Only the models whose output the seed shows (plus the Job's spec and status) are filled in;
 * deeper objects (the pod template) carry the fields that are set.
 */
const MODEL_FIELDS = {
	job: ["apiVersion", "kind", "metadata", "spec", "status"],
	metadata: [
		"annotations",
		"clusterName",
		"creationTimestamp",
		"deletionGracePeriodSeconds",
		"deletionTimestamp",
		"finalizers",
		"generateName",
		"generation",
		"labels",
		"managedFields",
		"name",
		"namespace",
		"ownerReferences",
		"resourceVersion",
		"selfLink",
		"uid",
	],
	managedField: ["apiVersion", "fieldsType", "fieldsV1", "manager", "operation", "subresource", "time"],
	spec: ["activeDeadlineSeconds", "backoffLimit", "completionMode", "completions", "manualSelector", "parallelism", "selector", "suspend", "template", "ttlSecondsAfterFinished"],
} as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Deep copy of a free-form map (dates rendered, keys untouched). */
function copyMap(value: unknown): unknown {
	if (value instanceof Date) return compatTime(value);
	if (Array.isArray(value)) return value.map(copyMap);
	if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyMap(v)]));
	return value;
}

/** A model object in Python's shape: snake_case keys in alphabetical order, `declared` fields null when unset. */
function model(obj: Record<string, unknown>, declared: readonly string[] = [], nested: Record<string, (v: unknown) => unknown> = {}): CompatObject {
	const keys = Array.from(new Set([...declared, ...Object.keys(obj).filter(k => obj[k] !== undefined)]));
	const entries = keys.map(key => {
		const value = obj[key];
		let out: unknown;
		if (value === undefined || value === null) out = null;
		else if (nested[key]) out = nested[key](value);
		else out = convert(key, value);
		return [snakeCase(key), out] as const;
	});
	entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return Object.fromEntries(entries);
}

function convert(key: string, value: unknown): unknown {
	if (value === undefined || value === null) return null;
	if (TIME_FIELDS.has(key)) return compatTime(value);
	if (value instanceof Date) return compatTime(value);
	if (MAP_FIELDS.has(key)) return copyMap(value);
	if (Array.isArray(value)) return value.map(item => (isPlainObject(item) ? model(item) : convert("", item)));
	if (isPlainObject(value)) return model(value);
	return value;
}

/** A Job (typed or wire JSON) as the seed's API returned it from create and detail. */
export function compatJob(job: Record<string, unknown> & { status?: JobStatusLike }): CompatObject {
	return model(job, MODEL_FIELDS.job, {
		metadata: m =>
			model(m as Record<string, unknown>, MODEL_FIELDS.metadata, {
				managedFields: list => (list as Record<string, unknown>[]).map(f => model(f, MODEL_FIELDS.managedField)),
			}),
		spec: s => model(s as Record<string, unknown>, MODEL_FIELDS.spec),
		status: s => compatStatus(s as JobStatusLike),
	});
}
