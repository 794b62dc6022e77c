import type { V1Container, V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Pod, V1Service } from "../k8s";
import type { ServiceSpec, SpecContainer, SpecPort } from "../api/services";
import type { GpuOptions } from "../specs/parse";
import { bytes, parseQuantity } from "../quantity";
import { quotaAmount } from "../quota";
import { LABEL_ID, LABEL_PREFIX, entityAnnotations, managedLabels } from "./labels";
import { workloadSecurity } from "./security";

/** `app.kubernetes.io/component` of every object generated for a service spec. */
export const SPEC_KIND = "service-spec";
/** On each PVC: the volume's name in the spec (the status answers with it). */
export const LABEL_VOLUME = `${LABEL_PREFIX}/volume`;

/** What the manifests need of a service entity. */
export interface SpecTarget {
	id: string;
	/** The base of every object's name; fixed when the entity is created. */
	resourceName: string;
	/** The Kubernetes namespace. */
	namespaceName: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface SpecBuildOptions {
	gpuOptions: GpuOptions;
	/** Ingress hosts are `<resourceName>.<namespace>.<baseDomain>`. */
	baseDomain: string;
}

/**
 * Requests and limits of a container that names none. The same as the namespaces' LimitRange
 * defaults, but written into the pod: the quota check then counts exactly what the pod asks for.
 */
export const DEFAULT_CONTAINER_RESOURCES = Object.freeze({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } });

export function pvcName(target: Pick<SpecTarget, "resourceName">, volume: string): string {
	return `${target.resourceName}-${volume}`;
}

export function specLabels(target: Pick<SpecTarget, "id" | "resourceName">, extra: Record<string, string> = {}): Record<string, string> {
	return managedLabels(SPEC_KIND, target.id, target.resourceName, extra);
}

/** Pods of one service entity: the instance and the entity id, neither of which ever changes. */
export function specSelector(target: Pick<SpecTarget, "id" | "resourceName">): Record<string, string> {
	return { "app.kubernetes.io/instance": target.resourceName, [LABEL_ID]: target.id };
}

/** The label selector of everything generated for service entities. */
export const SPEC_SELECTOR = `app.kubernetes.io/managed-by=berth,app.kubernetes.io/component=${SPEC_KIND}`;

/** The label selector of everything generated for entity `id`. */
export function specObjectsSelector(id: string): string {
	return `${SPEC_SELECTOR},${LABEL_ID}=${id}`;
}

export function ingressHost(target: Pick<SpecTarget, "resourceName" | "namespaceName">, baseDomain: string): string {
	return `${target.resourceName}.${target.namespaceName}.${baseDomain}`;
}

/** Whether the entity asks for an Ingress. */
export function isExposed(target: Pick<SpecTarget, "exposed_service" | "exposed_port">): boolean {
	return Boolean(target.exposed_service) && typeof target.exposed_port === "number";
}

export interface ContainerResources {
	requests: Record<string, string>;
	limits: Record<string, string>;
}

/** A container's requests and limits: its own, the defaults for the rest, and its GPU option. */
export function containerResources(container: Pick<SpecContainer, "resources" | "gpu">, gpuOptions: GpuOptions): ContainerResources {
	const out: ContainerResources = { requests: {}, limits: {} };
	for (const key of ["cpu", "memory"] as const) {
		const request = container.resources?.requests?.[key];
		const limit = container.resources?.limits?.[key];
		const defaults = DEFAULT_CONTAINER_RESOURCES;
		// A request above the default limit lifts the limit with it rather than failing a valid ask.
		out.limits[key] = limit ?? (request && parseQuantity(request) > parseQuantity(defaults.limits[key]) ? request : defaults.limits[key]);
		out.requests[key] = request ?? (parseQuantity(defaults.requests[key]) > parseQuantity(out.limits[key]) ? out.limits[key] : defaults.requests[key]);
	}
	const gpu = container.gpu ? gpuOptions[container.gpu] : undefined;
	if (gpu) {
		// Extended resources are not overcommitted: request and limit are the same count.
		out.requests[gpu.resource] = String(gpu.count);
		out.limits[gpu.resource] = String(gpu.count);
	}
	return out;
}

function dropUndefined<T>(value: T): T {
	return JSON.parse(JSON.stringify(value)) as T;
}

function containerManifest(container: SpecContainer, opts: SpecBuildOptions): V1Container {
	return {
		name: container.name,
		image: container.image,
		command: container.command,
		args: container.args,
		ports: container.ports.map(p => ({ name: p.name, containerPort: p.port, protocol: p.protocol })),
		env: container.env?.map(e => ({ name: e.name, value: e.value })),
		resources: containerResources(container, opts.gpuOptions),
		// Only true is written: the apiserver drops a false readOnly, and the applied object should read as the live one.
		volumeMounts: container.volumeMounts.length ? container.volumeMounts.map(m => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly || undefined })) : undefined,
		// A spec names no image user: the pod passes `baseline`, never runAsNonRoot.
		securityContext: workloadSecurity().container,
	};
}

/** The Deployment: one pod with every container of the spec, each volume a claim of its own. */
export function specDeployment(target: SpecTarget, spec: ServiceSpec, opts: SpecBuildOptions): V1Deployment {
	const labels = specLabels(target);
	const mounted = new Set(spec.containers.flatMap(c => c.volumeMounts.map(m => m.name)));
	const volumes = spec.volumes.filter(v => mounted.has(v.name)).map(v => ({ name: v.name, persistentVolumeClaim: { claimName: pvcName(target, v.name) } }));
	return dropUndefined<V1Deployment>({
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name: target.resourceName, namespace: target.namespaceName, labels, annotations: entityAnnotations(SPEC_KIND, target.id) },
		spec: {
			replicas: 1,
			// Volumes are ReadWriteOnce and GPUs scarce: a rolling update would need the old and the new
			// pod at once (and twice the quota), so the old pod goes first.
			strategy: { type: "Recreate" },
			selector: { matchLabels: specSelector(target) },
			template: {
				metadata: { labels, annotations: entityAnnotations(SPEC_KIND, target.id) },
				spec: {
					securityContext: workloadSecurity().pod,
					containers: spec.containers.map(c => containerManifest(c, opts)),
					volumes: volumes.length ? volumes : undefined,
				},
			},
		},
	});
}

/** One ReadWriteOnce claim per volume of the spec. */
export function specPvcs(target: SpecTarget, spec: ServiceSpec): V1PersistentVolumeClaim[] {
	return spec.volumes.map(v => ({
		apiVersion: "v1",
		kind: "PersistentVolumeClaim",
		metadata: {
			name: pvcName(target, v.name),
			namespace: target.namespaceName,
			labels: specLabels(target, { [LABEL_VOLUME]: v.name }),
			annotations: entityAnnotations(SPEC_KIND, target.id),
		},
		spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: v.size } } },
	}));
}

/**
 * Service port names: the spec's own when no other port shares it, else `port-<n>[-udp]`.
 * Kubernetes wants them unique in a Service and at most 15 characters.
 */
export function servicePortNames(spec: ServiceSpec): string[] {
	const ports: SpecPort[] = spec.containers.flatMap(c => c.ports);
	const count = new Map<string, number>();
	for (const p of ports) if (p.name) count.set(p.name, (count.get(p.name) ?? 0) + 1);
	const used = new Set(ports.filter(p => p.name && count.get(p.name) === 1).map(p => p.name as string));
	return ports.map((p, i) => {
		if (p.name && count.get(p.name) === 1) return p.name;
		const generated = `port-${p.port}${p.protocol === "TCP" ? "" : `-${p.protocol.toLowerCase()}`}`;
		const name = used.has(generated) ? `p${i}` : generated;
		used.add(name);
		return name;
	});
}

/** A ClusterIP Service with every port of every container. */
export function specService(target: SpecTarget, spec: ServiceSpec): V1Service {
	const ports = spec.containers.flatMap(c => c.ports);
	const names = servicePortNames(spec);
	return {
		apiVersion: "v1",
		kind: "Service",
		metadata: { name: target.resourceName, namespace: target.namespaceName, labels: specLabels(target), annotations: entityAnnotations(SPEC_KIND, target.id) },
		spec: {
			type: "ClusterIP",
			selector: specSelector(target),
			ports: ports.map((p, i) => ({ name: names[i], port: p.port, targetPort: p.port, protocol: p.protocol })),
		},
	};
}

/** An Ingress to `exposed_port` when the entity exposes one, else undefined. */
export function specIngress(target: SpecTarget, opts: Pick<SpecBuildOptions, "baseDomain">): V1Ingress | undefined {
	if (!isExposed(target)) return undefined;
	return {
		apiVersion: "networking.k8s.io/v1",
		kind: "Ingress",
		metadata: { name: target.resourceName, namespace: target.namespaceName, labels: specLabels(target), annotations: entityAnnotations(SPEC_KIND, target.id) },
		spec: {
			rules: [
				{
					host: ingressHost(target, opts.baseDomain),
					http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: target.resourceName, port: { number: target.exposed_port as number } } } }] },
				},
			],
		},
	};
}

export type SpecObject = V1PersistentVolumeClaim | V1Service | V1Deployment | V1Ingress;

/** Everything generated for a spec, in apply order: claims, Service, Deployment, Ingress. */
export function specManifests(target: SpecTarget, spec: ServiceSpec, opts: SpecBuildOptions): SpecObject[] {
	const ingress = specIngress(target, opts);
	return [...specPvcs(target, spec), specService(target, spec), specDeployment(target, spec, opts), ...(ingress ? [ingress] : [])];
}

// ---------------------------------------------------------------------------------------------
// Quota (the check itself is lib/quota.ts)

/** One pod's share of a namespace's quota, keyed like a ResourceQuota's `hard` (cpu in millicores, bytes). */
export function podFootprint(deployment: V1Deployment): Record<string, number> {
	const out: Record<string, number> = { pods: 1 };
	const add = (key: string, n: number) => (out[key] = (out[key] ?? 0) + n);
	for (const c of deployment.spec?.template.spec?.containers ?? []) {
		for (const [section, amounts] of [["requests", c.resources?.requests], ["limits", c.resources?.limits]] as const) {
			for (const [resource, q] of Object.entries(amounts ?? {})) {
				if (resource === "cpu" || resource === "memory") {
					add(`${section}.${resource}`, quotaAmount(resource, q));
					if (section === "requests") add(resource, quotaAmount(resource, q));
				} else if (section === "requests") add(`requests.${resource}`, quotaAmount(resource, q));
			}
		}
	}
	return out;
}

/** The storage the spec's claims ask for, by claim name, in bytes. */
export function claimSizes(pvcs: V1PersistentVolumeClaim[]): Record<string, number> {
	return Object.fromEntries(pvcs.map(p => [p.metadata?.name as string, bytes(String(p.spec?.resources?.requests?.storage ?? "0"))]));
}

// ---------------------------------------------------------------------------------------------
// Status, in the seed's shape

export interface SpecContainerStatus {
	name: string;
	ready: boolean;
	started: boolean;
}

export interface SpecPodStatus {
	phase: string;
	containers: SpecContainerStatus[];
}

export interface SpecVolumeStatus {
	name: string;
	phase: string;
	/** Null until the claim is bound. */
	capacity: string | null;
}

export interface SpecStatus {
	replicas: number;
	currentReplicas: number;
	pods: SpecPodStatus[];
	volumes: SpecVolumeStatus[];
}

/** Every container of the pod's spec, with its status when the kubelet has reported one. */
function podStatus(pod: V1Pod): SpecPodStatus {
	const statuses = new Map((pod.status?.containerStatuses ?? []).map(s => [s.name, s]));
	return {
		phase: pod.status?.phase ?? "Pending",
		containers: (pod.spec?.containers ?? []).map(c => {
			const s = statuses.get(c.name);
			return { name: c.name, ready: s?.ready ?? false, started: s?.started ?? Boolean(s?.state?.running) };
		}),
	};
}

/** The seed's status object: the Deployment's replica counts, its pods and the claims, and nothing else. */
export function specStatus(deployment: V1Deployment | undefined, pods: V1Pod[], pvcs: V1PersistentVolumeClaim[]): SpecStatus {
	const live = pods.filter(p => !p.metadata?.deletionTimestamp).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
	return {
		replicas: deployment?.spec?.replicas ?? 0,
		currentReplicas: deployment?.status?.replicas ?? 0,
		pods: live.map(podStatus),
		volumes: pvcs
			.filter(p => !p.metadata?.deletionTimestamp)
			.map(p => ({
				name: p.metadata?.labels?.[LABEL_VOLUME] ?? (p.metadata?.name as string),
				phase: p.status?.phase ?? "Pending",
				capacity: p.status?.capacity?.storage !== undefined ? String(p.status.capacity.storage) : null,
			}))
			.sort((a, b) => a.name.localeCompare(b.name)),
	};
}
