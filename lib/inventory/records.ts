/**
 * Records: live objects in, compact records out. A pod record keeps a dozen fields, not the pod.
 * Secrets keep their key names and never a value; no record keeps annotations (kubectl's
 * last-applied-configuration annotation holds a Secret's values in clear).
 */
import type {
	KubernetesObject,
	V1ConfigMap,
	V1DaemonSet,
	V1Deployment,
	V1Job,
	V1Namespace,
	V1Pod,
	V1ReplicaSet,
	V1Secret,
	V1Service,
	V1ServiceAccount,
	V1StatefulSet,
} from "../k8s";
import { ANNOTATION_ID, ANNOTATION_KIND, LABEL_COMPONENT, LABEL_ID, LABEL_PREFIX, isManaged } from "../manifests/labels";
import { INVENTORY_KINDS, inventoryKindOf, type InventoryKind } from "./kinds";


export type Provenance = "berth" | "external";

/** Set on a ReplicaSet a Berth adoption left behind: its pods go once the adopted deployment's are up. */
export const ANNOTATION_SUPERSEDED_BY = `${LABEL_PREFIX}/superseded-by`;
export const ANNOTATION_SUPERSEDED_AT = `${LABEL_PREFIX}/superseded-at`;

export interface OwnerRef {
	kind: string;
	name: string;
}

interface BaseRecord {
	kind: string;
	name: string;
	/** Absent for Namespaces. */
	namespace?: string;
	uid?: string;
	/** Made by Berth (its managed-by label), or by anyone else. */
	provenance: Provenance;
	/** The Berth entity a managed object belongs to. */
	entity?: { kind: string; id: string };
	labels: Record<string, string>;
	createdAt?: string;
	/** The controlling owner (ownerReferences with controller: true). */
	owner?: OwnerRef;
}

export interface NamespaceRecord extends BaseRecord {
	kind: "Namespace";
	phase?: string;
}

export interface ReplicaCounts {
	desired: number;
	current: number;
	ready: number;
	available: number;
	updated: number;
}

export interface ControllerRecord extends BaseRecord {
	kind: "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job";
	replicas: ReplicaCounts;
	images: string[];
	/** Jobs: completions wanted, succeeded and failed pods. */
	completions?: { desired: number; succeeded: number; failed: number };
	/** The ServiceAccount the pod template names (the XOS tree's Slice principal). */
	serviceAccount?: string;
	/** ReplicaSets an adoption orphaned: the name of the Deployment Berth replaces them with, and since when. */
	supersededBy?: string;
	supersededAt?: string;
}

export interface PodRecord extends BaseRecord {
	kind: "Pod";
	phase: string;
	podIP?: string;
	node?: string;
	images: string[];
	ready: boolean;
	restarts: number;
}

export interface ServicePortRecord {
	name?: string;
	port: number;
	targetPort?: number | string;
	protocol: string;
	nodePort?: number;
}

export interface ServiceRecord extends BaseRecord {
	kind: "Service";
	type: string;
	clusterIP?: string;
	ports: ServicePortRecord[];
	selector?: Record<string, string>;
}

export interface ConfigMapRecord extends BaseRecord {
	kind: "ConfigMap";
	keys: string[];
}

/** Names and keys only: a Secret's values never enter the inventory. */
export interface SecretRecord extends BaseRecord {
	kind: "Secret";
	type?: string;
	keys: string[];
}

export interface ServiceAccountRecord extends BaseRecord {
	kind: "ServiceAccount";
	automountToken?: boolean;
	imagePullSecrets: string[];
}

export type InventoryRecord = NamespaceRecord | ControllerRecord | PodRecord | ServiceRecord | ConfigMapRecord | SecretRecord | ServiceAccountRecord;

export interface NamespaceSummary extends NamespaceRecord {
	/** Objects of each kind in the namespace. */
	counts: Partial<Record<InventoryKind, number>>;
}

/** A record as the API shows it: owned objects with their whole owner chain (nearest first), namespaces with counts. */
export type InventoryView = (InventoryRecord | NamespaceSummary) & { owners?: OwnerRef[] };

function iso(t: Date | string | undefined): string | undefined {
	if (!t) return undefined;
	const d = t instanceof Date ? t : new Date(t);
	return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function base(obj: KubernetesObject): BaseRecord {
	const meta = obj.metadata ?? {};
	const labels = meta.labels ?? {};
	const provenance: Provenance = isManaged(labels) ? "berth" : "external";
	const out: BaseRecord = { kind: obj.kind ?? "", name: meta.name ?? "", provenance, labels: { ...labels } };
	if (meta.namespace) out.namespace = meta.namespace;
	if (meta.uid) out.uid = meta.uid;
	const created = iso(meta.creationTimestamp as Date | string | undefined);
	if (created) out.createdAt = created;
	if (provenance === "berth") {
		const id = labels[LABEL_ID] ?? meta.annotations?.[ANNOTATION_ID];
		const kind = meta.annotations?.[ANNOTATION_KIND] ?? labels[LABEL_COMPONENT];
		if (id) out.entity = { kind: kind ?? "unknown", id };
	}
	const controller = meta.ownerReferences?.find(o => o.controller) ?? (meta.ownerReferences?.length === 1 ? meta.ownerReferences[0] : undefined);
	if (controller) out.owner = { kind: controller.kind, name: controller.name };
	return out;
}

/** The containers' images, then the init containers': the first is the pod's main image. */
function imagesOf(spec: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } | undefined): string[] {
	const images = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map(c => c.image).filter((i): i is string => Boolean(i));
	return Array.from(new Set(images));
}

function namespaceRecord(ns: V1Namespace): NamespaceRecord {
	return { ...base(ns), kind: "Namespace", phase: ns.status?.phase };
}

type Controller = V1Deployment | V1StatefulSet | V1DaemonSet | V1ReplicaSet | V1Job;

/** The fields every controller record shares; `extra` (a Job's completions) goes before the images. */
function controllerRecord(obj: Controller, kind: ControllerRecord["kind"], replicas: ReplicaCounts, extra: Partial<ControllerRecord> = {}): ControllerRecord {
	const rec: ControllerRecord = { ...base(obj), kind, replicas, ...extra, images: imagesOf(obj.spec?.template?.spec) };
	const account = obj.spec?.template?.spec?.serviceAccountName;
	if (account) rec.serviceAccount = account;
	return rec;
}

function deploymentRecord(d: V1Deployment): ControllerRecord {
	const s = d.status;
	return controllerRecord(d, "Deployment", { desired: d.spec?.replicas ?? 1, current: s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.updatedReplicas ?? 0 });
}

function statefulSetRecord(d: V1StatefulSet): ControllerRecord {
	const s = d.status;
	return controllerRecord(d, "StatefulSet", { desired: d.spec?.replicas ?? 1, current: s?.currentReplicas ?? s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.updatedReplicas ?? 0 });
}

function daemonSetRecord(d: V1DaemonSet): ControllerRecord {
	const s = d.status;
	return controllerRecord(d, "DaemonSet", { desired: s?.desiredNumberScheduled ?? 0, current: s?.currentNumberScheduled ?? 0, ready: s?.numberReady ?? 0, available: s?.numberAvailable ?? 0, updated: s?.updatedNumberScheduled ?? 0 });
}

function replicaSetRecord(d: V1ReplicaSet): ControllerRecord {
	const s = d.status;
	// A ReplicaSet's pods are all of its one template: "updated" is every pod it has.
	const rec = controllerRecord(d, "ReplicaSet", { desired: d.spec?.replicas ?? 1, current: s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.replicas ?? 0 });
	const supersededBy = d.metadata?.annotations?.[ANNOTATION_SUPERSEDED_BY];
	if (supersededBy) {
		rec.supersededBy = supersededBy;
		rec.supersededAt = d.metadata?.annotations?.[ANNOTATION_SUPERSEDED_AT];
	}
	return rec;
}

function jobRecord(j: V1Job): ControllerRecord {
	const s = j.status;
	const active = s?.active ?? 0;
	return controllerRecord(
		j,
		"Job",
		{ desired: j.spec?.parallelism ?? 1, current: active, ready: s?.ready ?? 0, available: s?.ready ?? 0, updated: active },
		{ completions: { desired: j.spec?.completions ?? 1, succeeded: s?.succeeded ?? 0, failed: s?.failed ?? 0 } },
	);
}

function podRecord(p: V1Pod): PodRecord {
	const statuses = p.status?.containerStatuses ?? [];
	const rec: PodRecord = {
		...base(p),
		kind: "Pod",
		phase: p.metadata?.deletionTimestamp ? "Terminating" : (p.status?.phase ?? "Unknown"),
		images: imagesOf(p.spec),
		ready: p.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") ?? false,
		restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
	};
	if (p.status?.podIP) rec.podIP = p.status.podIP;
	if (p.spec?.nodeName) rec.node = p.spec.nodeName;
	return rec;
}

function serviceRecord(s: V1Service): ServiceRecord {
	const rec: ServiceRecord = {
		...base(s),
		kind: "Service",
		type: s.spec?.type ?? "ClusterIP",
		ports: (s.spec?.ports ?? []).map(p => {
			const port: ServicePortRecord = { port: p.port, protocol: p.protocol ?? "TCP" };
			if (p.name) port.name = p.name;
			if (p.targetPort !== undefined) port.targetPort = p.targetPort as number | string;
			if (p.nodePort) port.nodePort = p.nodePort;
			return port;
		}),
	};
	if (s.spec?.clusterIP) rec.clusterIP = s.spec.clusterIP;
	if (s.spec?.selector && Object.keys(s.spec.selector).length) rec.selector = { ...s.spec.selector };
	return rec;
}

function configMapRecord(c: V1ConfigMap): ConfigMapRecord {
	return { ...base(c), kind: "ConfigMap", keys: [...Object.keys(c.data ?? {}), ...Object.keys(c.binaryData ?? {})].sort() };
}

function secretRecord(s: V1Secret): SecretRecord {
	const keys = new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})]);
	return { ...base(s), kind: "Secret", type: s.type, keys: [...keys].sort() };
}

function serviceAccountRecord(sa: V1ServiceAccount): ServiceAccountRecord {
	const rec: ServiceAccountRecord = { ...base(sa), kind: "ServiceAccount", imagePullSecrets: (sa.imagePullSecrets ?? []).map(s => s.name ?? "").filter(Boolean) };
	if (sa.automountServiceAccountToken !== undefined) rec.automountToken = sa.automountServiceAccountToken;
	return rec;
}

const converters: Record<InventoryKind, (obj: never) => InventoryRecord> = {
	namespaces: namespaceRecord,
	deployments: deploymentRecord,
	statefulsets: statefulSetRecord,
	daemonsets: daemonSetRecord,
	replicasets: replicaSetRecord,
	jobs: jobRecord,
	pods: podRecord,
	services: serviceRecord,
	configmaps: configMapRecord,
	secrets: secretRecord,
	serviceaccounts: serviceAccountRecord,
};

/** The inventory record of a live object (its `kind` says which); undefined for other kinds. */
export function toRecord(obj: KubernetesObject, kind: InventoryKind | undefined = inventoryKindOf(obj.kind)): InventoryRecord | undefined {
	if (!kind || !obj.metadata?.name) return undefined;
	const rec = converters[kind](obj as never);
	// Objects from a watch carry their kind; objects from a list may not.
	rec.kind = INVENTORY_KINDS[kind] as InventoryRecord["kind"];
	return rec;
}
