import type { V1Container, V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from "./k8s";
import { LABEL_COMPONENT, LABEL_ID } from "./manifests/labels";
import { ReasonCodes, type AppHealth, type AppPhase, type ClaimHealth, type PodHealth, type Reason, type ReasonCode, type Severity } from "./api/status";

// The health shapes are the status contract (lib/api/status.ts); re-exported for existing imports.
export { ReasonCodes };
export type { AppHealth, AppPhase, ClaimHealth, PodHealth, Reason, ReasonCode, Severity };

/** Not re-exported by lib/k8s; derived from the pod type. */
type V1ContainerStatus = NonNullable<NonNullable<V1Pod["status"]>["containerStatuses"]>[number];

/**
 * One app's health at a glance: the Deployment, its pods, Service, Ingress, claims and Secret
 * folded into a phase and reason codes. Pure: objects in, status out; no I/O, no clock.
 */

export interface HealthInput {
	id: string;
	namespace: string;
	/** Used when there is no Deployment to take the name from. */
	name?: string;
	deployment?: V1Deployment;
	/** The entity's pods; deleting ones are ignored. */
	pods?: V1Pod[];
	/** The entity's Services, Ingresses and Secrets. */
	services?: V1Service[];
	ingresses?: V1Ingress[];
	secrets?: V1Secret[];
	/** Claims of the namespace (Berth's); those the pod template mounts are looked up here. */
	claims?: V1PersistentVolumeClaim[];
	/** Whether a Service and an Ingress should exist; by default what Berth generates for the component. */
	expect?: { service: boolean; ingress: boolean };
}

const SEVERITY_ORDER: Severity[] = ["error", "warning", "progress", "ok"];

/** Within one severity, the root causes come first: a quota or a claim explains an unschedulable pod. */
const CODE_ORDER: ReasonCode[] = [
	"QuotaExceeded",
	"FailedCreate",
	"PVCLost",
	"PVCMissing",
	"PVCPending",
	"Unschedulable",
	"SecretMissing",
	"CreateContainerConfigError",
	"ImagePullBackOff",
	"OOMKilled",
	"CrashLoopBackOff",
	"ProgressDeadlineExceeded",
	"PodFailed",
	"ServiceMissing",
	"IngressMissing",
	"DeploymentMissing",
	"Progressing",
	"PodsPending",
	"ContainerCreating",
	"ContainersNotReady",
	"ScaledToZero",
	"Ready",
];

const IMAGE_PULL = new Set(["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable", "SignatureValidationFailed"]);
const CONFIG_ERRORS = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);
const STARTING = new Set(["ContainerCreating", "PodInitializing"]);

/** What Berth generates for a component: a deployment with ports gets a Service, and with a TCP port an Ingress. */
export function expectedObjects(deployment: V1Deployment | undefined): { service: boolean; ingress: boolean } {
	if (!deployment || deployment.metadata?.labels?.[LABEL_COMPONENT] !== "deployment") return { service: false, ingress: false };
	const ports = (deployment.spec?.template?.spec?.containers ?? []).flatMap(c => c.ports ?? []);
	return { service: ports.length > 0, ingress: ports.some(p => (p.protocol ?? "TCP") === "TCP") };
}

/** Names of the claims a pod template mounts. */
export function claimNames(deployment: V1Deployment | undefined): string[] {
	return (deployment?.spec?.template?.spec?.volumes ?? []).flatMap(v => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));
}

interface PodProblem {
	code: ReasonCode;
	severity: Severity;
	message: string;
}

function containerProblem(status: V1ContainerStatus): PodProblem | undefined {
	const waiting = status.state?.waiting;
	const last = status.lastState?.terminated;
	const current = status.state?.terminated;
	if (waiting?.reason) {
		const detail = waiting.message ? `: ${waiting.message}` : "";
		if (IMAGE_PULL.has(waiting.reason)) return { code: "ImagePullBackOff", severity: "error", message: `Container ${status.name} cannot pull image ${status.image}${detail || ` (${waiting.reason})`}` };
		if (waiting.reason === "CrashLoopBackOff") {
			const why = last?.reason ? ` (last exit: ${last.reason}${last.exitCode !== undefined ? `, code ${last.exitCode}` : ""})` : "";
			if (last?.reason === "OOMKilled") return { code: "OOMKilled", severity: "error", message: `Container ${status.name} runs out of memory and keeps restarting (${status.restartCount} restarts)` };
			return { code: "CrashLoopBackOff", severity: "error", message: `Container ${status.name} keeps crashing${why}, ${status.restartCount} restarts` };
		}
		if (CONFIG_ERRORS.has(waiting.reason)) {
			if (/secret .* not found/i.test(waiting.message ?? "")) return { code: "SecretMissing", severity: "error", message: `Container ${status.name}${detail}` };
			return { code: "CreateContainerConfigError", severity: "error", message: `Container ${status.name} cannot start${detail || ` (${waiting.reason})`}` };
		}
		if (STARTING.has(waiting.reason)) return { code: "ContainerCreating", severity: "progress", message: `Container ${status.name} is starting` };
		return { code: "ContainersNotReady", severity: "progress", message: `Container ${status.name} is waiting (${waiting.reason})${detail}` };
	}
	if (current?.reason === "OOMKilled") return { code: "OOMKilled", severity: "error", message: `Container ${status.name} ran out of memory` };
	if (current && (current.exitCode ?? 0) !== 0) return { code: "CrashLoopBackOff", severity: "error", message: `Container ${status.name} exited with code ${current.exitCode}${current.reason ? ` (${current.reason})` : ""}` };
	if (status.state?.running && !status.ready) return { code: "ContainersNotReady", severity: "progress", message: `Container ${status.name} is running but not ready` };
	return undefined;
}

/** The most telling problem of one pod, or undefined when it is running and ready. */
function podProblem(pod: V1Pod, claims: Map<string, ClaimHealth>): PodProblem | undefined {
	const phase = pod.status?.phase ?? "Unknown";
	if (phase === "Succeeded") return undefined;
	if (phase === "Failed") return { code: "PodFailed", severity: "warning", message: `Pod ${pod.metadata?.name} failed${pod.status?.reason ? ` (${pod.status.reason})` : ""}${pod.status?.message ? `: ${pod.status.message}` : ""}` };
	const scheduled = pod.status?.conditions?.find(c => c.type === "PodScheduled");
	if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
		const message = scheduled.message ?? "no node can run it";
		// The scheduler's reason names a claim: the claim is the root cause, not the node.
		if (/persistentvolumeclaim/i.test(message)) {
			const named = /persistentvolumeclaim "([^"]+)" not found/i.exec(message)?.[1];
			if (named) return { code: "PVCMissing", severity: "error", message: `Claim ${named} does not exist` };
			const pending = [...claims.values()].find(c => c.phase === "Pending");
			return { code: "PVCPending", severity: "error", message: pending ? `Claim ${pending.name} is not bound: ${message}` : message };
		}
		return { code: "Unschedulable", severity: "error", message: `Pod ${pod.metadata?.name} cannot be scheduled: ${message}` };
	}
	const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
	const problems = statuses.map(containerProblem).filter((p): p is PodProblem => p !== undefined);
	problems.sort((a, b) => rank(a) - rank(b));
	if (problems[0]) return problems[0];
	if (phase === "Pending") return { code: "PodsPending", severity: "progress", message: `Pod ${pod.metadata?.name} is pending` };
	const ready = pod.status?.conditions?.some(c => c.type === "Ready" && c.status === "True");
	if (!ready) return { code: "ContainersNotReady", severity: "progress", message: `Pod ${pod.metadata?.name} is not ready yet` };
	return undefined;
}

function rank(r: { code: ReasonCode; severity: Severity }): number {
	return SEVERITY_ORDER.indexOf(r.severity) * 100 + CODE_ORDER.indexOf(r.code);
}

function podHealth(pod: V1Pod, problem: PodProblem | undefined): PodHealth {
	const statuses = pod.status?.containerStatuses ?? [];
	const notRunning = statuses.find(c => c.state?.waiting?.reason || (c.state?.terminated && pod.status?.phase !== "Succeeded"));
	// A failed pod's own reason (Evicted) says more than its containers' last words.
	const own = pod.status?.phase === "Failed" ? pod.status.reason : undefined;
	const reason = own ?? notRunning?.state?.waiting?.reason ?? notRunning?.state?.terminated?.reason ?? pod.status?.reason ?? (problem && problem.severity !== "progress" ? problem.code : undefined);
	return {
		name: pod.metadata?.name ?? "",
		phase: pod.status?.phase ?? "Unknown",
		ready: pod.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") ?? false,
		restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
		...(reason ? { reason } : {}),
		...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
	};
}

function containersOf(deployment: V1Deployment | undefined): V1Container[] {
	return deployment?.spec?.template?.spec?.containers ?? [];
}

/** The aggregate health of one app. */
export function appHealth(input: HealthInput): AppHealth {
	const dep = input.deployment;
	const name = dep?.metadata?.name ?? input.name ?? input.id;
	const component = dep?.metadata?.labels?.[LABEL_COMPONENT];
	const pods = (input.pods ?? []).filter(p => !p.metadata?.deletionTimestamp).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
	const expect = input.expect ?? expectedObjects(dep);
	const claimsByName = new Map((input.claims ?? []).map(c => [c.metadata?.name ?? "", c]));
	const claims: ClaimHealth[] = claimNames(dep).map(claim => {
		const pvc = claimsByName.get(claim);
		const capacity = pvc?.status?.capacity?.storage;
		return { name: claim, phase: pvc ? (pvc.metadata?.deletionTimestamp ? "Terminating" : (pvc.status?.phase ?? "Pending")) : "Missing", ...(capacity ? { capacity: String(capacity) } : {}) };
	});
	const claimMap = new Map(claims.map(c => [c.name, c]));
	const service = (input.services ?? []).length > 0;
	const ingress = (input.ingresses ?? []).length > 0;
	const hosts = Array.from(new Set((input.ingresses ?? []).flatMap(i => (i.spec?.rules ?? []).map(r => r.host).filter((h): h is string => Boolean(h)))));
	const s = dep?.status;
	const desired = dep?.spec?.replicas ?? (dep ? 1 : 0);
	const replicas = { desired, current: s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.updatedReplicas ?? 0 };

	const reasons: Reason[] = [];
	const add = (r: Reason) => reasons.push(r);

	if (dep) {
		const condition = (type: string) => s?.conditions?.find(c => c.type === type);
		const failure = condition("ReplicaFailure");
		if (failure?.status === "True") {
			const quota = /exceeded quota|forbidden: .*quota/i.test(failure.message ?? "");
			add({ code: quota ? "QuotaExceeded" : "FailedCreate", severity: "error", message: failure.message ?? failure.reason ?? "Pods cannot be created", object: { kind: "Deployment", name } });
		}
		if (condition("Progressing")?.reason === "ProgressDeadlineExceeded")
			add({ code: "ProgressDeadlineExceeded", severity: "error", message: condition("Progressing")?.message ?? "The rollout did not finish in time", object: { kind: "Deployment", name } });
	}
	for (const c of claims) {
		if (c.phase === "Lost") add({ code: "PVCLost", severity: "error", message: `Claim ${c.name} lost its volume`, object: { kind: "PersistentVolumeClaim", name: c.name } });
		else if (c.phase === "Pending") add({ code: "PVCPending", severity: "progress", message: `Claim ${c.name} is waiting for a volume`, object: { kind: "PersistentVolumeClaim", name: c.name } });
	}
	// Pod problems are counted per code: ten pods in ImagePullBackOff are one reason.
	const byCode = new Map<ReasonCode, Reason>();
	const podViews: PodHealth[] = [];
	for (const pod of pods) {
		const problem = podProblem(pod, claimMap);
		podViews.push(podHealth(pod, problem));
		if (!problem) continue;
		const seen = byCode.get(problem.code);
		if (seen) seen.pods = (seen.pods ?? 1) + 1;
		else byCode.set(problem.code, { ...problem, object: { kind: "Pod", name: pod.metadata?.name ?? "" }, pods: 1 });
	}
	for (const r of byCode.values()) {
		// A claim already reported as pending is the same story as the pod waiting for it, told once, at the pod's severity.
		if (r.code === "PVCPending") {
			const i = reasons.findIndex(x => x.code === "PVCPending");
			if (i >= 0) reasons.splice(i, 1);
		}
		add(r.pods && r.pods > 1 ? { ...r, message: `${r.message} (and ${r.pods - 1} more pod${r.pods > 2 ? "s" : ""})` } : r);
	}
	if (dep && expect.service && !service) add({ code: "ServiceMissing", severity: "warning", message: `The Service of ${name} is missing`, object: { kind: "Service", name } });
	if (dep && expect.ingress && !ingress) add({ code: "IngressMissing", severity: "warning", message: `The Ingress of ${name} is missing`, object: { kind: "Ingress", name } });

	let phase: AppPhase;
	if (!dep) {
		add({ code: "DeploymentMissing", severity: "error", message: `Deployment ${name} is not in the cluster`, object: { kind: "Deployment", name } });
		phase = "Missing";
	} else {
		const settled =
			(s?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 0) && replicas.updated >= desired && replicas.ready >= desired && replicas.available >= desired && replicas.current <= desired;
		const hasError = reasons.some(r => r.severity === "error");
		const hasWarning = reasons.some(r => r.severity === "warning");
		if (hasError) phase = desired > 0 && replicas.ready >= desired && replicas.available >= desired ? "Degraded" : "Failed";
		else if (!settled) {
			phase = "Progressing";
			add({ code: "Progressing", severity: "progress", message: progressMessage(replicas, desired) });
		} else if (hasWarning) phase = "Degraded";
		else if (desired === 0) {
			phase = "ScaledToZero";
			add({ code: "ScaledToZero", severity: "ok", message: "Scaled to zero replicas" });
		} else {
			phase = "Ready";
			add({ code: "Ready", severity: "ok", message: `${replicas.ready} of ${desired} pod${desired === 1 ? "" : "s"} ready` });
		}
	}
	// Settled and healthy: pods still starting are surplus (a surge), not the story.
	const shown = phase === "Ready" || phase === "ScaledToZero" ? reasons.filter(r => r.severity !== "progress") : reasons;
	shown.sort((a, b) => rank(a) - rank(b));
	const top = shown[0];
	return {
		id: input.id,
		name,
		namespace: input.namespace,
		...(component ? { component } : {}),
		phase,
		reason: top.code,
		message: top.message,
		reasons: shown,
		replicas,
		pods: podViews,
		objects: {
			deployment: Boolean(dep),
			service: service ? true : expect.service ? false : null,
			ingress: ingress ? true : expect.ingress ? false : null,
			secret: (input.secrets ?? []).length > 0,
			claims,
		},
		hosts,
		images: containersOf(dep).map(c => c.image ?? ""),
	};
}

function progressMessage(r: AppHealth["replicas"], desired: number): string {
	if (r.updated < desired) return `Rolling out: ${r.updated} of ${desired} pod${desired === 1 ? "" : "s"} updated, ${r.ready} ready`;
	if (r.current > desired) return `Rolling out: ${r.current - desired} old pod${r.current - desired === 1 ? "" : "s"} still terminating`;
	return `${r.ready} of ${desired} pod${desired === 1 ? "" : "s"} ready`;
}

/** Whether two statuses differ: a change worth pushing. */
export function healthChanged(a: AppHealth | undefined, b: AppHealth | undefined): boolean {
	return JSON.stringify(a) !== JSON.stringify(b);
}

/** The entity id an object belongs to (`berth.dev/id`), if Berth made it. */
export function entityIdOf(obj: { metadata?: { labels?: Record<string, string> } }): string | undefined {
	return obj.metadata?.labels?.[LABEL_ID];
}

/** A namespace's apps summed up: how many in each phase, and the worst phase. */
export function namespaceHealth(apps: AppHealth[]): { phase: AppPhase | "Empty"; counts: Partial<Record<AppPhase, number>> } {
	const counts: Partial<Record<AppPhase, number>> = {};
	for (const a of apps) counts[a.phase] = (counts[a.phase] ?? 0) + 1;
	const worst: AppPhase[] = ["Failed", "Missing", "Degraded", "Progressing", "Ready", "ScaledToZero"];
	return { phase: worst.find(p => counts[p]) ?? "Empty", counts };
}
