import type { V1Container, V1Deployment, V1Pod, V1Volume, V1VolumeMount } from "../k8s";
import { catalogCpu, catalogMemory, cpuMillis, bytes, isQuantity } from "../quantity";
import type { ContainerState, PodState } from "../api/deployment-model";
import { selectorLabels } from "./labels";
import { workloadSecurity } from "./security";

export type { ContainerState, PodState };
import { filesConfigMap } from "./configmap";
import { hpaManifest } from "./autoscale";
import { ingressManifest, type IngressSite } from "./ingress";
import { containerProbes } from "./probes";
import { serviceManifest } from "./service";
import {
	ANNOTATION_CONFIG_CHECKSUM,
	ANNOTATION_ENV_CHECKSUM,
	ANNOTATION_RESTARTED_AT,
	DEFAULT_CONFIG_MOUNT,
	deploymentAnnotations,
	deploymentLabels,
	effectivePorts,
	expandBerthVars,
	objectNames,
	SERVED_AT_ROOT,
	type CatalogImage,
	type Condition,
	type DeploymentEntity,
	type DeploymentStatus,
	type GeneratedObject,
	type ObjectNames,
	type ResourceSpec,
} from "./model";

// The entity's shape, names and labels live in the leaf model.ts; re-exported so existing imports hold.
export {
	ANNOTATION_CONFIG_CHECKSUM,
	ANNOTATION_ENV_CHECKSUM,
	ANNOTATION_RESTARTED_AT,
	DEFAULT_CONFIG_MOUNT,
	DEPLOYMENT_KIND,
	ENV_KIND,
	expandBerthVars,
	deploymentAnnotations,
	deploymentLabels,
	effectivePorts,
	objectNames,
} from "./model";
export type {
	CatalogImage,
	Condition,
	DeploymentConfigMap,
	DeploymentEntity,
	DeploymentStatus,
	DeploymentVolume,
	GeneratedObject,
	ImageEnvDeclaration,
	ImagePort,
	ObjectNames,
	Protocol,
	ResourceAmounts,
	ResourceSpec,
} from "./model";

function cpuString(v: number | string): string {
	return typeof v === "number" ? catalogCpu(v) : v;
}

function memoryString(v: number | string): string {
	return typeof v === "number" ? catalogMemory(v) : v;
}

export interface PodResources {
	requests: { cpu?: string; memory?: string };
	limits: { cpu?: string; memory?: string };
}

/**
 * The container's resources: the image's defaults, each amount overridden by the deployment's.
 * A request larger than its limit is capped to the limit (Kubernetes would refuse the pod).
 */
export function podResources(image: Pick<CatalogImage, "resources">, override?: ResourceSpec): PodResources {
	const pick = (section: "limits" | "requests", key: "cpu" | "memory") => override?.[section]?.[key] ?? image.resources?.[section]?.[key];
	const out: PodResources = { requests: {}, limits: {} };
	for (const section of ["limits", "requests"] as const) {
		const cpu = pick(section, "cpu");
		const memory = pick(section, "memory");
		if (cpu !== undefined) out[section].cpu = cpuString(cpu);
		if (memory !== undefined) out[section].memory = memoryString(memory);
	}
	if (out.requests.cpu && out.limits.cpu && cpuMillis(out.requests.cpu) > cpuMillis(out.limits.cpu)) out.requests.cpu = out.limits.cpu;
	if (out.requests.memory && out.limits.memory && bytes(out.requests.memory) > bytes(out.limits.memory)) out.requests.memory = out.limits.memory;
	return out;
}

/** Whether every amount of a resources param is a catalog number or a Kubernetes quantity. */
export function invalidResourceFields(spec: ResourceSpec | undefined): string[] {
	const bad: string[] = [];
	for (const section of ["limits", "requests"] as const)
		for (const key of ["cpu", "memory"] as const) {
			const v = spec?.[section]?.[key];
			if (v === undefined) continue;
			if (typeof v === "number" ? !(Number.isFinite(v) && v > 0) : !isQuantity(v) || !(Number.parseFloat(v) > 0)) bad.push(`resources.${section}.${key}`);
		}
	return bad;
}

/** The container image reference: the catalog's `image`, else registry/repository:tag. */
export function imageReference(image: CatalogImage): string {
	if (image.image) return image.image;
	const repo = [image.registry, image.repository ?? image.name].filter(Boolean).join("/");
	return image.digest ? `${repo}@${image.digest}` : `${repo}:${image.tag ?? "latest"}`;
}
export interface DeploymentInputs {
	deployment: DeploymentEntity;
	image: CatalogImage;
	/** Checksum of the env ConfigMap + Secret data: a change rolls the pods. */
	envChecksum?: string;
	/** Checksum of the configMap files. */
	configChecksum?: string;
}

function volumesOf(inputs: DeploymentInputs, names: ObjectNames): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
	const { deployment: dep, image } = inputs;
	const volumes: V1Volume[] = [];
	const mounts: V1VolumeMount[] = [];
	for (const v of dep.volumes ?? []) {
		if (v.type === "emptyDir") volumes.push({ name: v.name, emptyDir: {} });
		else volumes.push({ name: v.name, persistentVolumeClaim: { claimName: v.persistentVolumeClaim?.claimName ?? v.name, readOnly: v.readOnly || undefined } });
		mounts.push({ name: v.name, mountPath: v.mountPath, readOnly: v.readOnly || undefined, subPath: v.subPath });
	}
	if (dep.configMap && names.configMap) {
		volumes.push({ name: dep.configMap.name, configMap: { name: names.configMap } });
		mounts.push({ name: dep.configMap.name, mountPath: resolveConfigMountPath(dep, image), readOnly: true });
	}
	return { volumes, mounts };
}

function dropUndefined<T>(value: T): T {
	return JSON.parse(JSON.stringify(value)) as T;
}

/** The apps/v1 Deployment of a deployment entity. */
export function deploymentManifest(inputs: DeploymentInputs): V1Deployment {
	const { deployment: dep, image } = inputs;
	const names = objectNames(dep);
	const labels = deploymentLabels(dep);
	const ports = effectivePorts(dep, image);
	const { volumes, mounts } = volumesOf(inputs, names);
	const resources = podResources(image, dep.resources);
	const security = workloadSecurity(image);
	const podAnnotations: Record<string, string> = { ...deploymentAnnotations(dep) };
	if (inputs.envChecksum) podAnnotations[ANNOTATION_ENV_CHECKSUM] = inputs.envChecksum;
	if (inputs.configChecksum) podAnnotations[ANNOTATION_CONFIG_CHECKSUM] = inputs.configChecksum;
	if (dep.restartedAt) podAnnotations[ANNOTATION_RESTARTED_AT] = dep.restartedAt;
	const container: V1Container = {
		name: names.container,
		image: imageReference(image),
		imagePullPolicy: image.imagePullPolicy,
		command: image.command?.length ? expandBerthVars(image.command, SERVED_AT_ROOT) : undefined,
		args: image.args?.length ? expandBerthVars(image.args, SERVED_AT_ROOT) : undefined,
		ports: ports.length ? ports.map(p => ({ name: p.name, containerPort: p.port, protocol: p.protocol })) : undefined,
		// optional: the pods start before v1.k8s.envs has written them, and when a deployment has no envs.
		envFrom: [{ configMapRef: { name: names.env, optional: true } }, { secretRef: { name: names.env, optional: true } }],
		resources: {
			requests: Object.keys(resources.requests).length ? resources.requests : undefined,
			limits: Object.keys(resources.limits).length ? resources.limits : undefined,
		},
		volumeMounts: mounts.length ? mounts : undefined,
		securityContext: security.container,
		...containerProbes(image, dep.probes),
	};
	const pullSecrets = (image.imagePullSecrets ?? []).map(s => ({ name: typeof s === "string" ? s : s.name }));
	return dropUndefined<V1Deployment>({
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name: names.deployment, namespace: dep.namespaceName, labels, annotations: deploymentAnnotations(dep) },
		spec: {
			// With autoscale the HPA (or `kubectl scale`) owns replicas: applied without them, Berth's field manager lets go.
			replicas: dep.autoscale ? undefined : dep.replicas,
			selector: { matchLabels: selectorLabels(dep.name) },
			template: {
				metadata: { labels, annotations: podAnnotations },
				spec: {
					securityContext: security.pod,
					containers: [container],
					volumes: volumes.length ? volumes : undefined,
					imagePullSecrets: pullSecrets.length ? pullSecrets : undefined,
				},
			},
		},
	});
}

/** One pod's share of the quota, in millicores and bytes, keyed like a ResourceQuota's `hard`. */
export function podFootprint(resources: PodResources): Record<string, number> {
	const out: Record<string, number> = { pods: 1 };
	if (resources.requests.cpu) out["requests.cpu"] = out.cpu = cpuMillis(resources.requests.cpu);
	if (resources.requests.memory) out["requests.memory"] = out.memory = bytes(resources.requests.memory);
	if (resources.limits.cpu) out["limits.cpu"] = cpuMillis(resources.limits.cpu);
	if (resources.limits.memory) out["limits.memory"] = bytes(resources.limits.memory);
	return out;
}

/** Everything generated for one deployment, in apply order: files, Service, Deployment, its HPA, Ingress. */
export function deploymentManifests(inputs: DeploymentInputs, site: string | IngressSite): GeneratedObject[] {
	const dep = inputs.deployment;
	const objects: (GeneratedObject | undefined)[] = [
		filesConfigMap(dep),
		serviceManifest(dep, inputs.image),
		deploymentManifest(inputs),
		hpaManifest(dep),
		ingressManifest(dep, inputs.image, site),
	];
	return objects.filter((o): o is GeneratedObject => o !== undefined);
}

/** Config directories of well-known images, for catalog entries that name no `configMountPath`. */
const WELL_KNOWN_CONFIG_DIRS: Record<string, string> = {
	nginx: "/etc/nginx/conf.d",
	"library/nginx": "/etc/nginx/conf.d",
	php: "/usr/local/etc/php/conf.d",
	"library/php": "/usr/local/etc/php/conf.d",
};

/** Where the configMap files go: the deployment's mountPath, the image's, a well-known one, or /etc/config. */
export function resolveConfigMountPath(dep: Pick<DeploymentEntity, "configMap">, image: Pick<CatalogImage, "configMountPath" | "repository" | "image" | "name">): string {
	if (dep.configMap?.mountPath) return dep.configMap.mountPath;
	if (image.configMountPath) return image.configMountPath;
	const repo = image.repository ?? image.image?.replace(/[:@].*$/, "").replace(/^docker\.io\//, "") ?? image.name;
	return WELL_KNOWN_CONFIG_DIRS[repo] ?? DEFAULT_CONFIG_MOUNT;
}

/** What `status` and the entity's status hold: the Deployment's numbers and Berth's conditions. */
export function deploymentStatus(
	live: Pick<V1Deployment, "metadata" | "spec" | "status"> | undefined,
	applied: { ok: boolean; reason?: string; message?: string },
	previous: Condition[] | undefined,
	now: string,
): DeploymentStatus {
	const s = live?.status;
	const wanted = live?.spec?.replicas ?? 0;
	const ready = s?.readyReplicas ?? 0;
	const k8sCondition = (type: string) => s?.conditions?.find(c => c.type === type);
	const conditions: Condition[] = [
		applied.ok
			? { type: "Applied", status: "True", reason: "Applied", message: "Every generated object is applied" }
			: { type: "Applied", status: "False", reason: applied.reason ?? "ApplyFailed", message: applied.message },
	];
	for (const type of ["Available", "Progressing", "ReplicaFailure"]) {
		const c = k8sCondition(type);
		if (c) conditions.push({ type, status: c.status as Condition["status"], reason: c.reason, message: c.message });
	}
	// A condition keeps its transition time for as long as its status stays the same.
	for (const c of conditions) {
		const before = previous?.find(p => p.type === c.type);
		c.lastTransitionTime = before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now;
	}
	const settled = live !== undefined && (s?.observedGeneration ?? 0) >= (live.metadata?.generation ?? 0) && (s?.updatedReplicas ?? 0) >= wanted && ready >= wanted && (s?.replicas ?? 0) <= wanted;
	let phase: DeploymentStatus["phase"];
	if (!applied.ok || k8sCondition("Progressing")?.reason === "ProgressDeadlineExceeded" || k8sCondition("ReplicaFailure")?.status === "True") phase = "Failed";
	else if (!live) phase = "Pending";
	else if (settled && wanted === 0) phase = "Scaled to zero";
	else if (settled) phase = "Running";
	else phase = "Progressing";
	return {
		phase,
		replicas: wanted,
		readyReplicas: ready,
		availableReplicas: s?.availableReplicas ?? 0,
		updatedReplicas: s?.updatedReplicas ?? 0,
		observedGeneration: s?.observedGeneration,
		conditions,
	};
}

/** Whether two statuses differ in anything but transition times (a write-back is needed). */
export function statusChanged(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
	const strip = (s: DeploymentStatus | undefined) => (s ? JSON.stringify({ ...s, conditions: s.conditions.map(c => ({ ...c, lastTransitionTime: undefined })) }) : "");
	return strip(a) !== strip(b);
}

/** A pod as the `pods` and `state` actions show it. */
export function podState(pod: V1Pod): PodState {
	const containers: ContainerState[] = (pod.status?.containerStatuses ?? []).map(c => {
		const st = c.state;
		const state: ContainerState["state"] = st?.running ? "running" : st?.waiting ? "waiting" : st?.terminated ? "terminated" : "unknown";
		const when = st?.running?.startedAt ?? st?.terminated?.startedAt;
		return {
			name: c.name,
			ready: c.ready,
			restartCount: c.restartCount,
			state,
			reason: st?.waiting?.reason ?? st?.terminated?.reason,
			message: st?.waiting?.message ?? st?.terminated?.message,
			startedAt: when ? new Date(when).toISOString() : undefined,
		};
	});
	const start = pod.status?.startTime;
	return {
		name: pod.metadata?.name ?? "",
		phase: pod.status?.phase ?? "Unknown",
		ready: pod.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") ?? false,
		restarts: containers.reduce((n, c) => n + c.restartCount, 0),
		node: pod.spec?.nodeName,
		ip: pod.status?.podIP,
		startTime: start ? new Date(start).toISOString() : undefined,
		containers,
	};
}
