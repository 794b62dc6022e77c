import type { V1Job, V1JobStatus } from "../k8s";
import type { JobPhase, JobResources } from "../api/jobs";
import { entityAnnotations, managedLabels } from "./labels";
import { workloadSecurity } from "./security";

export type { JobPhase, JobResources };

/** The one container of every Berth job; logs are read from it. */
export const JOB_CONTAINER = "job";

/** Label the job controller puts on every pod of a Job (Kubernetes 1.27+). */
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";


/** Everything a Job manifest is built from: an entity's stored fields, defaults already applied. */
export interface JobRun {
	id: string;
	/** The Job's name, a UUID. */
	name: string;
	/** The container's argv. */
	command: string[];
	image: string;
	env: { name: string; value: string }[];
	resources: JobResources;
	/** Wall-clock limit of the whole Job (activeDeadlineSeconds). */
	timeoutSeconds: number;
	backoffLimit: number;
	ttlSecondsAfterFinished: number;
}

/** A shell string runs through `sh -c`, so pipes and quotes work as they would in a terminal. */
export function argvOf(input: { cmd?: string; command?: string[] }): string[] {
	return input.cmd !== undefined ? ["sh", "-c", input.cmd] : [...(input.command ?? [])];
}

/**
 * The Job of one run. Safe by construction: no retries unless asked, a deadline, requests and
 * limits, no service-account token, no service links, no privilege escalation, and a TTL so
 * finished Jobs do not pile up (their logs are kept by Berth, not by the pods).
 */
export function jobFor(run: JobRun, namespace: string): V1Job {
	const labels = managedLabels("job", run.id, run.name);
	return {
		apiVersion: "batch/v1",
		kind: "Job",
		metadata: { name: run.name, namespace, labels, annotations: entityAnnotations("job", run.id) },
		spec: {
			completions: 1,
			parallelism: 1,
			backoffLimit: run.backoffLimit,
			activeDeadlineSeconds: run.timeoutSeconds,
			ttlSecondsAfterFinished: run.ttlSecondsAfterFinished,
			template: {
				metadata: { labels, annotations: entityAnnotations("job", run.id) },
				spec: {
					restartPolicy: "Never",
					automountServiceAccountToken: false,
					enableServiceLinks: false,
					securityContext: workloadSecurity().pod,
					containers: [
						{
							name: JOB_CONTAINER,
							image: run.image,
							imagePullPolicy: "IfNotPresent",
							command: run.command,
							env: run.env.length ? run.env : undefined,
							resources: { requests: { ...run.resources.requests }, limits: { ...run.resources.limits } },
							securityContext: workloadSecurity().container,
						},
					],
				},
			},
		},
	};
}

/** The label selector of a Job's pods. */
export function jobPodSelector(name: string): string {
	return `${JOB_NAME_LABEL}=${name}`;
}


/** Where a Job stands, from its status: a final condition wins, then running pods. */
export function jobPhase(status: V1JobStatus | undefined): Exclude<JobPhase, "Deleted"> {
	const final = status?.conditions?.find(c => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
	if (final) return final.type as "Complete" | "Failed";
	return (status?.active ?? 0) > 0 ? "Running" : "Pending";
}

export function isFinished(phase: string | undefined): boolean {
	return phase === "Complete" || phase === "Failed" || phase === "Deleted";
}

/** The object's JSON as the apiserver sends it: dates as RFC 3339 strings, no undefined fields. */
export function toWire<T>(obj: T): T {
	return JSON.parse(JSON.stringify(obj)) as T;
}
