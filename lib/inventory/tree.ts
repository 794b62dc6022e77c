/**
 * One namespace as the XOS Kubernetes service models it (docs/api/inventory.md, "The XOS tree"):
 * a TrustDomain (the Namespace) holding Principals (ServiceAccounts), Slices (controllers),
 * Instances (pods, each with the Slice that manages it), ConfigMaps and Secrets (key names only)
 * and ServicePorts (NodePorts). Pure: built from the records the inventory keeps, whoever made the
 * objects. Field names are XOS's (snake_case) where XOS names the field.
 */
import type { ControllerRecord, NamespaceRecord, PodRecord, Provenance, SecretRecord, ServiceAccountRecord, ServiceRecord, ConfigMapRecord } from "./records";
import type { InventoryStore } from "./store";

/** What every node of the tree says of where it came from. */
interface Made {
	name: string;
	/** Made by Berth (its managed-by label), or by anyone else (Helm, kubectl, another controller). */
	provenance: Provenance;
	/** The Berth entity a managed object belongs to. */
	entity?: { kind: string; id: string };
}

export interface TrustDomain extends Made {
	phase?: string;
	uid?: string;
	labels: Record<string, string>;
	created_at?: string;
}

export interface Principal extends Made {
	trust_domain: string;
	automount_token?: boolean;
	image_pull_secrets: string[];
}

export interface SliceRef {
	controller_kind: string;
	name: string;
}

export interface Slice extends Made {
	trust_domain: string;
	/** Deployment, StatefulSet, DaemonSet, ReplicaSet (one no Deployment owns), Job (one no CronJob owns) or CronJob. */
	controller_kind: string;
	/** The replicas the controller wants (a Job: its parallelism); null for a CronJob, whose Jobs have their own. */
	controller_replica_count: number | null;
	/** The ServiceAccount its pods run as, when the pod template names one. */
	principal?: string;
	images: string[];
	/** How many of its pods are ready, and how many it has (from the controller's status). */
	ready: number;
	current: number;
}

export interface Instance extends Made {
	/** The Slice that manages the pod (the top of its owner chain); absent for a bare pod. */
	slice?: SliceRef;
	/** The first container's image. */
	image?: string;
	images: string[];
	pod_ip?: string;
	node?: string;
	phase: string;
	ready: boolean;
}

export interface ConfigMapNode extends Made {
	trust_domain: string;
	keys: string[];
}

/** Key names only: a Secret's values never enter the inventory. */
export interface SecretNode extends ConfigMapNode {
	type?: string;
}

export interface ServicePort {
	/** The Service, and the name of its port when it has one. */
	service: string;
	name?: string;
	provenance: Provenance;
	protocol: string;
	port: number;
	target_port?: number | string;
	/** The port every node opens. */
	node_port: number;
}

export interface XosTree {
	trust_domain: TrustDomain;
	principals: Principal[];
	slices: Slice[];
	instances: Instance[];
	config_maps: ConfigMapNode[];
	secrets: SecretNode[];
	service_ports: ServicePort[];
}

/** Kinds whose objects are Slices unless a controller the tree also shows owns them. */
const SLICE_KINDS = ["deployments", "statefulsets", "daemonsets", "replicasets", "jobs"] as const;
/** The owners that make a ReplicaSet or a Job part of another Slice rather than one of its own. */
const SLICE_OWNERS = new Set(["Deployment", "CronJob"]);

function made(rec: { name: string; provenance: Provenance; entity?: { kind: string; id: string } }): Made {
	return { name: rec.name, provenance: rec.provenance, ...(rec.entity ? { entity: rec.entity } : {}) };
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function slicesOf(store: InventoryStore, ns: string): Slice[] {
	const slices: Slice[] = [];
	// CronJobs are not watched: each shows as the Slice its Jobs name as their owner.
	const cronJobs = new Map<string, Slice>();
	for (const kind of SLICE_KINDS) {
		for (const rec of store.inNamespace(kind, ns) as IterableIterator<ControllerRecord>) {
			if (rec.owner?.kind === "CronJob" && !cronJobs.has(rec.owner.name))
				cronJobs.set(rec.owner.name, { name: rec.owner.name, provenance: rec.provenance, trust_domain: ns, controller_kind: "CronJob", controller_replica_count: null, images: rec.images, ready: 0, current: 0 });
			if (rec.owner && SLICE_OWNERS.has(rec.owner.kind)) continue;
			slices.push({
				...made(rec),
				trust_domain: ns,
				controller_kind: rec.kind,
				controller_replica_count: rec.replicas.desired,
				...(rec.serviceAccount ? { principal: rec.serviceAccount } : {}),
				images: rec.images,
				ready: rec.replicas.ready,
				current: rec.replicas.current,
			});
		}
	}
	return [...slices, ...cronJobs.values()].sort(byName);
}

function instanceOf(store: InventoryStore, pod: PodRecord): Instance {
	const top = store.ownerChain(pod).at(-1);
	const out: Instance = { ...made(pod), images: pod.images, phase: pod.phase, ready: pod.ready };
	if (top) out.slice = { controller_kind: top.kind, name: top.name };
	if (pod.images[0]) out.image = pod.images[0];
	if (pod.podIP) out.pod_ip = pod.podIP;
	if (pod.node) out.node = pod.node;
	return out;
}

function servicePortsOf(store: InventoryStore, ns: string): ServicePort[] {
	const out: ServicePort[] = [];
	for (const svc of store.inNamespace("services", ns) as IterableIterator<ServiceRecord>)
		for (const p of svc.ports) {
			if (!p.nodePort) continue;
			const port: ServicePort = { service: svc.name, provenance: svc.provenance, protocol: p.protocol, port: p.port, node_port: p.nodePort };
			if (p.name) port.name = p.name;
			if (p.targetPort !== undefined) port.target_port = p.targetPort;
			out.push(port);
		}
	return out.sort((a, b) => a.node_port - b.node_port);
}

/** The tree of namespace `ns`, or undefined when the inventory has no such Namespace. */
export function xosTree(store: InventoryStore, ns: string): XosTree | undefined {
	const domain = store.get("namespaces", undefined, ns) as NamespaceRecord | undefined;
	if (!domain) return undefined;
	const trust_domain: TrustDomain = { ...made(domain), labels: domain.labels };
	if (domain.phase) trust_domain.phase = domain.phase;
	if (domain.uid) trust_domain.uid = domain.uid;
	if (domain.createdAt) trust_domain.created_at = domain.createdAt;
	const principals = [...(store.inNamespace("serviceaccounts", ns) as IterableIterator<ServiceAccountRecord>)].map(sa => ({
		...made(sa),
		trust_domain: ns,
		image_pull_secrets: sa.imagePullSecrets,
		...(sa.automountToken !== undefined ? { automount_token: sa.automountToken } : {}),
	}));
	const keyed = <R extends ConfigMapRecord | SecretRecord>(rec: R) => ({ ...made(rec), trust_domain: ns, keys: rec.keys });
	return {
		trust_domain,
		principals: principals.sort(byName),
		slices: slicesOf(store, ns),
		instances: [...(store.inNamespace("pods", ns) as IterableIterator<PodRecord>)].map(p => instanceOf(store, p)).sort(byName),
		config_maps: [...(store.inNamespace("configmaps", ns) as IterableIterator<ConfigMapRecord>)].map(keyed).sort(byName),
		secrets: [...(store.inNamespace("secrets", ns) as IterableIterator<SecretRecord>)].map(s => ({ ...keyed(s), ...(s.type ? { type: s.type } : {}) })).sort(byName),
		service_ports: servicePortsOf(store, ns),
	};
}
