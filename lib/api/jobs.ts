/**
 * The contract of v1.k8s.jobs: its entity, params, views, settings and validator rules. The
 * service, the typed client and the CLI import them from here.
 */
import type { JobStatusLike } from "../compat/jobs";
import { IMAGE_REF, idRule, integerRule } from "./rules";

/** Longest `cmd` (and total `command`) accepted, in bytes of UTF-8. */
export type JobPhase = "Pending" | "Running" | "Complete" | "Failed" | "Deleted";

export interface JobResources {
	requests: { cpu: string; memory: string };
	limits: { cpu: string; memory: string };
}

export const MAX_CMD_BYTES = 64 * 1024;

export interface JobsSettings {
	rest: string;
	/** Image of jobs that name none (JOBS_DEFAULT_IMAGE). */
	defaultImage: string;
	/** The Berth namespace the seed's `/jobs` routes act in (JOBS_COMPAT_NAMESPACE). */
	compatNamespace: string;
	defaultTimeoutSeconds: number;
	maxTimeoutSeconds: number;
	defaultTtlSeconds: number;
	/** Captured logs are cut to their last this many bytes (JOBS_MAX_LOG_BYTES). */
	maxLogBytes: number;
	defaultResources: JobResources;
	/** A job may ask for at most this much (per container). */
	maxResources: { cpu: string; memory: string };
}

export type EnvInput = Record<string, string> | { name: string; value?: string }[];

export interface ResourcesInput {
	requests?: { cpu?: string; memory?: string };
	limits?: { cpu?: string; memory?: string };
}

export interface CreateJobParams {
	cmd?: string;
	command?: string[];
	image?: string;
	/** The caller's namespace, by entity id or name. */
	namespace: string;
	env?: EnvInput;
	resources?: ResourcesInput;
	timeoutSeconds?: number;
	ttlSecondsAfterFinished?: number;
	backoffLimit?: number;
}

export interface ListJobsParams {
	namespace?: string;
}

export interface JobIdParams {
	/** The entity id. */
	id: string;
}

export interface CompatCreateParams {
	cmd: string;
	/** Not part of the seed: only here so that sending both is refused, as on Berth's route. */
	command?: string[];
}

export interface CompatJobParams {
	job: string;
}

/** The status as stored from the watch: the Job's own status (apiserver JSON) and where it stands. */
export type JobStatusView = { phase: JobPhase; finishedAt?: string } & JobStatusLike;

export interface JobEntity {
	id: string;
	/** The Kubernetes Job's name: a UUID. */
	name: string;
	/** Namespace entity id. */
	namespace: string;
	/** The Kubernetes namespace. */
	namespaceName: string;
	cmd?: string;
	command: string[];
	image: string;
	env: { name: string; value: string }[];
	resources: JobResources;
	timeoutSeconds: number;
	ttlSecondsAfterFinished: number;
	backoffLimit: number;
	/** Created through the seed's `/jobs` routes. */
	compat: boolean;
	phase: JobPhase;
	status: JobStatusLike;
	uid?: string;
	finishedAt?: string;
	logsCapturedAt?: string;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

/** What a job runs and where: the fields a job and a cronjob (lib/api/cronjobs.ts) both show. */
export const JOB_SPEC_FIELDS = ["name", "namespace", "namespaceName", "cmd", "command", "image", "env", "resources", "timeoutSeconds", "ttlSecondsAfterFinished", "backoffLimit"];

/** The fields clients see; anything else stored (logs, the last Job seen) never leaves the service. */
export const JOB_FIELDS = [
	...JOB_SPEC_FIELDS,
	"compat",
	"phase",
	"status",
	"uid",
	"finishedAt",
	"logsCapturedAt",
	"owner",
	"members",
];

const quantityRule = { type: "string", optional: true, max: 32 } as const;
const resourceListRule = { type: "object", optional: true, strict: "remove", props: { cpu: quantityRule, memory: quantityRule } } as const;

export const createJobParams = {
	cmd: { type: "string", max: MAX_CMD_BYTES, optional: true },
	command: { type: "array", items: { type: "string", max: MAX_CMD_BYTES }, min: 1, max: 256, optional: true },
	image: { type: "string", min: 1, max: 512, pattern: IMAGE_REF, optional: true },
	namespace: idRule,
	env: {
		type: "multi",
		optional: true,
		rules: [
			{ type: "record", key: { type: "string" }, value: { type: "string", max: 32 * 1024 } },
			{ type: "array", max: 100, items: { type: "object", props: { name: { type: "string", min: 1, max: 256 }, value: { type: "string", max: 32 * 1024, optional: true } } } },
		],
	},
	resources: { type: "object", optional: true, strict: "remove", props: { requests: resourceListRule, limits: resourceListRule } },
	timeoutSeconds: integerRule(1, 24 * 3600),
	ttlSecondsAfterFinished: integerRule(10, 7 * 24 * 3600),
	backoffLimit: integerRule(0, 10),
	// A schedule never runs at once: it belongs to a cronjob (lib/api/cronjobs.ts), which overrides this rule.
	schedule: { type: "forbidden", optional: true, messages: { forbidden: "A job with a schedule is a cronjob: POST it to /api/v1/k8s/cronjobs" } },
} as const;

export const listJobsParams = { namespace: { ...idRule, optional: true } } as const;
export const jobIdParams = { id: idRule } as const;
export const compatCreateParams = { cmd: { type: "string", max: MAX_CMD_BYTES }, command: { type: "any", optional: true } } as const;
export const compatJobParams = { job: idRule } as const;
