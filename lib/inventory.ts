/**
 * The inventory: what runs in the cluster, whoever made it, as compact records. Pure: live objects
 * in, records out, and an in-memory index the inventory service fills from its informers. No I/O,
 * no clock.
 *
 * Records are small on purpose: a pod record keeps a dozen fields, not the pod. Secrets keep their
 * key names and never a value; no record keeps annotations (kubectl's last-applied-configuration
 * annotation holds a Secret's values in clear).
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
} from "./k8s";
import { ANNOTATION_ID, ANNOTATION_KIND, LABEL_COMPONENT, LABEL_ID, LABEL_PREFIX, isManaged } from "./manifests/labels";

// ---------------------------------------------------------------------------------------------
// Kinds

/** The inventory's kinds, by the plural its REST paths use, with their Kubernetes kind. */
export const INVENTORY_KINDS = {
	namespaces: "Namespace",
	deployments: "Deployment",
	statefulsets: "StatefulSet",
	daemonsets: "DaemonSet",
	replicasets: "ReplicaSet",
	jobs: "Job",
	pods: "Pod",
	services: "Service",
	configmaps: "ConfigMap",
	secrets: "Secret",
	serviceaccounts: "ServiceAccount",
} as const;

export type InventoryKind = keyof typeof INVENTORY_KINDS;
export const KIND_NAMES = Object.keys(INVENTORY_KINDS) as InventoryKind[];
export const NAMESPACED_KINDS = KIND_NAMES.filter(k => k !== "namespaces");
export const CONTROLLER_KINDS: InventoryKind[] = ["deployments", "statefulsets", "daemonsets", "replicasets", "jobs"];
/** What a list may ask for: one kind, or "controllers" for all five controller kinds at once. */
export const QUERY_KINDS = [...KIND_NAMES, "controllers"] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];

const pluralOf: Record<string, InventoryKind> = Object.fromEntries(Object.entries(INVENTORY_KINDS).map(([plural, kind]) => [kind, plural as InventoryKind]));

/** "Pod" → "pods"; undefined for kinds the inventory does not keep. */
export function inventoryKindOf(kind: string | undefined): InventoryKind | undefined {
	return kind ? pluralOf[kind] : undefined;
}

/** The plurals a query kind stands for. */
export function expandKind(kind: QueryKind): InventoryKind[] {
	return kind === "controllers" ? CONTROLLER_KINDS : [kind];
}

// ---------------------------------------------------------------------------------------------
// Records

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

function imagesOf(spec: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } | undefined): string[] {
	const images = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map(c => c.image).filter((i): i is string => Boolean(i));
	return Array.from(new Set(images));
}

function namespaceRecord(ns: V1Namespace): NamespaceRecord {
	return { ...base(ns), kind: "Namespace", phase: ns.status?.phase };
}

function deploymentRecord(d: V1Deployment): ControllerRecord {
	const s = d.status;
	return {
		...base(d),
		kind: "Deployment",
		replicas: { desired: d.spec?.replicas ?? 1, current: s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.updatedReplicas ?? 0 },
		images: imagesOf(d.spec?.template?.spec),
	};
}

function statefulSetRecord(d: V1StatefulSet): ControllerRecord {
	const s = d.status;
	return {
		...base(d),
		kind: "StatefulSet",
		replicas: { desired: d.spec?.replicas ?? 1, current: s?.currentReplicas ?? s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.updatedReplicas ?? 0 },
		images: imagesOf(d.spec?.template?.spec),
	};
}

function daemonSetRecord(d: V1DaemonSet): ControllerRecord {
	const s = d.status;
	return {
		...base(d),
		kind: "DaemonSet",
		replicas: { desired: s?.desiredNumberScheduled ?? 0, current: s?.currentNumberScheduled ?? 0, ready: s?.numberReady ?? 0, available: s?.numberAvailable ?? 0, updated: s?.updatedNumberScheduled ?? 0 },
		images: imagesOf(d.spec?.template?.spec),
	};
}

function replicaSetRecord(d: V1ReplicaSet): ControllerRecord {
	const s = d.status;
	const rec: ControllerRecord = {
		...base(d),
		kind: "ReplicaSet",
		// A ReplicaSet's pods are all of its one template: "updated" is every pod it has.
		replicas: { desired: d.spec?.replicas ?? 1, current: s?.replicas ?? 0, ready: s?.readyReplicas ?? 0, available: s?.availableReplicas ?? 0, updated: s?.replicas ?? 0 },
		images: imagesOf(d.spec?.template?.spec),
	};
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
	return {
		...base(j),
		kind: "Job",
		replicas: { desired: j.spec?.parallelism ?? 1, current: active, ready: s?.ready ?? 0, available: s?.ready ?? 0, updated: active },
		completions: { desired: j.spec?.completions ?? 1, succeeded: s?.succeeded ?? 0, failed: s?.failed ?? 0 },
		images: imagesOf(j.spec?.template?.spec),
	};
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

// ---------------------------------------------------------------------------------------------
// Label selectors

export type LabelPredicate = (labels: Record<string, string>) => boolean;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits at commas outside parentheses: `a in (x,y),b=c` → [`a in (x,y)`, `b=c`]. */
function splitTerms(selector: string): string[] {
	const terms: string[] = [];
	let depth = 0;
	let current = "";
	for (const ch of selector) {
		if (ch === "(") depth++;
		if (ch === ")") depth--;
		if (ch === "," && depth === 0) {
			terms.push(current);
			current = "";
		} else current += ch;
	}
	terms.push(current);
	return terms.map(t => t.trim());
}

/**
 * A Kubernetes label selector as a predicate: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
 * `k notin (a,b)`, comma-separated (all must hold). Throws a message naming the bad term.
 */
export function parseLabelSelector(selector: string): LabelPredicate {
	const checks: LabelPredicate[] = [];
	for (const term of splitTerms(selector)) {
		if (!term) throw new Error("Empty term in label selector");
		let m: RegExpExecArray | null;
		const key = (k: string) => {
			if (!LABEL_KEY.test(k) || k.length > 317) throw new Error(`Invalid label key "${k}"`);
			return k;
		};
		const value = (v: string) => {
			if (!LABEL_VALUE.test(v) || v.length > 63) throw new Error(`Invalid label value "${v}"`);
			return v;
		};
		if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term))) {
			const k = key(m[1]);
			const values = new Set(m[3].split(",").map(v => value(v.trim())));
			checks.push(m[2] === "in" ? l => k in l && values.has(l[k]) : l => !(k in l) || !values.has(l[k]));
		} else if ((m = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(term))) {
			const [k, v] = [key(m[1]), value(m[2])];
			checks.push(l => l[k] !== v);
		} else if ((m = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(term))) {
			const [k, v] = [key(m[1]), value(m[2])];
			checks.push(l => l[k] === v);
		} else if ((m = /^!\s*(\S+)$/.exec(term))) {
			const k = key(m[1]);
			checks.push(l => !(k in l));
		} else {
			const k = key(term);
			checks.push(l => k in l);
		}
	}
	return labels => checks.every(c => c(labels));
}

// ---------------------------------------------------------------------------------------------
// The index

export interface InventoryQuery {
	/** Namespaces the caller may see; undefined: every one. */
	visible?: ReadonlySet<string>;
	namespace?: string;
	provenance?: Provenance;
	/** Records whose name contains this. */
	name?: string;
	label?: LabelPredicate;
	limit: number;
	offset: number;
}

export interface InventoryPage {
	total: number;
	offset: number;
	limit: number;
	items: InventoryView[];
}

export interface NamespaceSummary extends NamespaceRecord {
	/** Objects of each kind in the namespace. */
	counts: Partial<Record<InventoryKind, number>>;
}

/** Stops a broken owner cycle; real chains are 2 or 3 long (Pod → ReplicaSet → Deployment). */
const MAX_OWNER_DEPTH = 8;

/**
 * Records by kind, then namespace, then name. A relist replaces a record under the same key, so
 * no object is ever in it twice; counts per namespace are map sizes.
 */
export class InventoryStore {
	private readonly byKind = new Map<InventoryKind, Map<string, Map<string, InventoryRecord>>>();
	/**
	 * The names of one kind in one namespace, sorted, made when a page is asked for and dropped
	 * when a name comes or goes (not when an object changes: its place stays). A page of a big
	 * namespace then costs the page, not a sort of every record in it.
	 */
	private readonly sortedNames = new Map<string, string[]>();

	constructor() {
		for (const kind of KIND_NAMES) this.byKind.set(kind, new Map());
	}

	/** Adds a record, or replaces the one of the same kind, namespace and name. */
	upsert(kind: InventoryKind, rec: InventoryRecord): void {
		const byNs = this.byKind.get(kind) as Map<string, Map<string, InventoryRecord>>;
		const ns = rec.namespace ?? "";
		let names = byNs.get(ns);
		if (!names) byNs.set(ns, (names = new Map()));
		if (!names.has(rec.name)) this.sortedNames.delete(groupKey(kind, ns));
		names.set(rec.name, rec);
	}

	remove(kind: InventoryKind, namespace: string | undefined, name: string): InventoryRecord | undefined {
		const byNs = this.byKind.get(kind) as Map<string, Map<string, InventoryRecord>>;
		const names = byNs.get(namespace ?? "");
		const rec = names?.get(name);
		if (!names || !rec) return undefined;
		names.delete(name);
		this.sortedNames.delete(groupKey(kind, namespace ?? ""));
		if (!names.size) byNs.delete(namespace ?? "");
		return rec;
	}

	get(kind: InventoryKind, namespace: string | undefined, name: string): InventoryRecord | undefined {
		return this.byKind.get(kind)?.get(namespace ?? "")?.get(name);
	}

	/** Every record of a kind in one namespace (or, for Namespaces, all of them). */
	inNamespace(kind: InventoryKind, namespace: string | undefined): IterableIterator<InventoryRecord> {
		return (this.byKind.get(kind)?.get(namespace ?? "") ?? new Map<string, InventoryRecord>()).values();
	}

	size(kind?: InventoryKind): number {
		let n = 0;
		for (const [k, byNs] of this.byKind) if (!kind || k === kind) for (const names of byNs.values()) n += names.size;
		return n;
	}

	/** How many objects of each kind a namespace holds (kinds with none left out). */
	counts(namespace: string): Partial<Record<InventoryKind, number>> {
		const out: Partial<Record<InventoryKind, number>> = {};
		for (const kind of NAMESPACED_KINDS) {
			const n = this.byKind.get(kind)?.get(namespace)?.size ?? 0;
			if (n) out[kind] = n;
		}
		return out;
	}

	/**
	 * The controlling owners of a record, nearest first, followed through the records the
	 * inventory holds: Pod → ReplicaSet → Deployment. An owner of a kind it does not keep
	 * (a CronJob, say) still ends the chain by name.
	 */
	ownerChain(rec: InventoryRecord): OwnerRef[] {
		const chain: OwnerRef[] = [];
		let owner = rec.owner;
		while (owner && chain.length < MAX_OWNER_DEPTH) {
			chain.push(owner);
			const kind = inventoryKindOf(owner.kind);
			owner = kind ? this.get(kind, rec.namespace, owner.name)?.owner : undefined;
		}
		return chain;
	}

	view(rec: InventoryRecord): InventoryView {
		return rec.owner ? { ...rec, owners: this.ownerChain(rec) } : rec;
	}

	/** One page of the records of `kinds`, sorted by namespace, name and kind. */
	query(kinds: InventoryKind[], q: InventoryQuery): InventoryPage {
		const keep = (rec: InventoryRecord) =>
			(!q.provenance || rec.provenance === q.provenance) && (!q.name || rec.name.includes(q.name)) && (!q.label || q.label(rec.labels));
		const [kind] = kinds;
		if (kinds.length === 1 && kind !== "namespaces" && q.namespace && (!q.visible || q.visible.has(q.namespace))) return this.pageOfGroup(kind, q.namespace, q, keep);
		const matches: InventoryRecord[] = [];
		for (const kind of kinds) {
			const byNs = this.byKind.get(kind) as Map<string, Map<string, InventoryRecord>>;
			if (kind === "namespaces") {
				for (const rec of byNs.get("")?.values() ?? []) {
					if (q.visible && !q.visible.has(rec.name)) continue;
					if (q.namespace && rec.name !== q.namespace) continue;
					if (keep(rec)) matches.push(rec);
				}
				continue;
			}
			const namespaces = q.namespace ? [q.namespace] : q.visible ? [...q.visible] : [...byNs.keys()];
			for (const ns of namespaces) {
				if (q.visible && !q.visible.has(ns)) continue;
				for (const rec of byNs.get(ns)?.values() ?? []) if (keep(rec)) matches.push(rec);
			}
		}
		matches.sort(compareRecords);
		return { total: matches.length, offset: q.offset, limit: q.limit, items: matches.slice(q.offset, q.offset + q.limit).map(r => this.view(r)) };
	}

	/** A page of one kind in one namespace, walking its sorted names: only the page's records are viewed. */
	private pageOfGroup(kind: InventoryKind, namespace: string, q: InventoryQuery, keep: (rec: InventoryRecord) => boolean): InventoryPage {
		const names = this.byKind.get(kind)?.get(namespace);
		const sorted = this.sorted(kind, namespace);
		if (!q.provenance && !q.name && !q.label) {
			const items = sorted.slice(q.offset, q.offset + q.limit).map(name => this.view(names?.get(name) as InventoryRecord));
			return { total: sorted.length, offset: q.offset, limit: q.limit, items };
		}
		const items: InventoryView[] = [];
		let total = 0;
		for (const name of sorted) {
			const rec = names?.get(name) as InventoryRecord;
			if (!keep(rec)) continue;
			if (total >= q.offset && items.length < q.limit) items.push(this.view(rec));
			total++;
		}
		return { total, offset: q.offset, limit: q.limit, items };
	}

	private sorted(kind: InventoryKind, namespace: string): string[] {
		const key = groupKey(kind, namespace);
		let names = this.sortedNames.get(key);
		if (!names) {
			names = [...(this.byKind.get(kind)?.get(namespace)?.keys() ?? [])].sort(cmp);
			this.sortedNames.set(key, names);
		}
		return names;
	}

	/** Namespaces with their counts, for the ones `visible` allows (undefined: all). */
	namespaces(visible: ReadonlySet<string> | undefined): NamespaceSummary[] {
		const out: NamespaceSummary[] = [];
		for (const rec of this.inNamespace("namespaces", undefined)) {
			if (visible && !visible.has(rec.name)) continue;
			out.push({ ...(rec as NamespaceRecord), counts: this.counts(rec.name) });
		}
		return out.sort((a, b) => cmp(a.name, b.name));
	}
}

function groupKey(kind: InventoryKind, namespace: string): string {
	return `${kind}\0${namespace}`;
}

function cmp(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

function compareRecords(a: InventoryRecord, b: InventoryRecord): number {
	return cmp(a.namespace ?? "", b.namespace ?? "") || cmp(a.name, b.name) || cmp(a.kind, b.kind);
}

// ---------------------------------------------------------------------------------------------
// Retiring what an adoption left behind

export interface RetireDecision {
	namespace: string;
	name: string;
	reason: "replaced" | "timeout";
}

/**
 * The orphaned ReplicaSets of adoptions that can go now: the Berth Deployment that replaced them
 * (same name, now managed) has all its pods available, or waiting took longer than `timeoutMs`
 * (a full quota, say, would keep the new pods from starting while the old ones hold it). Until a
 * Berth Deployment of that name exists nothing goes: a failed adoption leaves the pods running.
 * A ReplicaSet some controller took back (the restored Deployment) is not touched.
 */
export function retireDecisions(store: InventoryStore, superseded: Iterable<ControllerRecord>, now: number, opts: { timeoutMs: number }): RetireDecision[] {
	const out: RetireDecision[] = [];
	for (const rs of superseded) {
		if (!rs.supersededBy || rs.owner || !rs.namespace) continue;
		const replacement = store.get("deployments", rs.namespace, rs.supersededBy) as ControllerRecord | undefined;
		if (replacement?.provenance !== "berth") continue;
		const r = replacement.replicas;
		const since = rs.supersededAt ? Date.parse(rs.supersededAt) : Number.NaN;
		const age = Number.isNaN(since) ? Number.POSITIVE_INFINITY : now - since;
		if (r.available >= r.desired && r.updated >= r.desired) out.push({ namespace: rs.namespace, name: rs.name, reason: "replaced" });
		else if (age > opts.timeoutMs) out.push({ namespace: rs.namespace, name: rs.name, reason: "timeout" });
	}
	return out;
}
