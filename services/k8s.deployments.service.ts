import { PassThrough, Writable, type Readable } from "node:stream";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { loadConfig } from "../lib/config";
import { conflict, invalid, invalidField, metricsUnavailable, NOT_RETRIED, notFound, quotaExceeded, type FieldError } from "../lib/errors";
import {
	getKubeClient,
	Kinds,
	statusOf,
	type CoreV1Event,
	type KubernetesObject,
	type V1ConfigMap,
	type V1Deployment,
	type V1Pod,
	type V1ReplicaSet,
	type V1Secret,
	type V1Service,
	type V1ServiceAccount,
} from "../lib/k8s";
import { dataChecksum } from "../lib/manifests/configmap";
import {
	DEPLOYMENT_KIND,
	ENV_KIND,
	deploymentManifests,
	deploymentStatus,
	effectivePorts,
	invalidResourceFields,
	objectNames,
	podFootprint,
	podResources,
	podState,
	quotaShortfalls,
	resolveConfigMountPath,
	statusChanged,
	type CatalogImage,
	type DeploymentConfigMap,
	type DeploymentEntity,
	type DeploymentStatus,
	type DeploymentVolume,
	type GeneratedObject,
	type ImagePort,
	type PodState,
	type ResourceSpec,
} from "../lib/manifests/deployment";
import { bodyOf, containsDesired, manifestsFingerprint } from "../lib/manifests/drift";
import { effectiveHosts } from "../lib/manifests/ingress";
import { assignedNodePorts, jointManifests, jointParams, jointProblems, mountVolumeName, serviceAccountName, type JointSpec, type ServiceAccountRequest } from "../lib/manifests/joint";
import { ANNOTATION_ID, LABEL_ID, MANAGED_SELECTOR } from "../lib/manifests/labels";
import { secretValues } from "../lib/manifests/secret";
import { cpuMillis, bytes } from "../lib/quantity";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { canSee, createMembershipMixin, isAdmin, isUnscoped, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";

// ---------------------------------------------------------------------------------------------
// Types

/** What `v1.k8s.namespaces.lookup` answers (docs/CONTRACTS.md). */
export interface NamespaceRef {
	id: string;
	name: string;
	owner: string;
	members: string[];
}

export interface QuotaReport {
	hard?: Record<string, string>;
	used?: Record<string, string>;
}

export interface EnvParam {
	key: string;
	value?: string;
	type?: "as-is" | "secret";
}

/** The seed's deployment schema, and joint management's `mounts`, `nodePorts` and `serviceAccount`. */
export interface CreateDeploymentParams extends JointSpec {
	name: string;
	/** The caller's namespace, by entity id or name. */
	namespace: string;
	/** Catalog image id or name. */
	image: string;
	replicas?: number;
	vHosts?: string[];
	volumes?: DeploymentVolume[];
	configMap?: DeploymentConfigMap;
	/** Env vars to set on top of the image's declarations (kept by v1.k8s.envs). */
	env?: EnvParam[];
	resources?: ResourceSpec;
	ports?: ImagePort[];
}

export type UpdateDeploymentParams = { id: string } & Partial<Omit<CreateDeploymentParams, "name" | "namespace" | "env">> & { configMap?: DeploymentConfigMap | null };

/** The params that replace a stored field as a whole when given (`[]` and `null` clear it). */
const REPLACED_FIELDS = ["replicas", "vHosts", "volumes", "resources", "ports", "mounts", "nodePorts"] as const;

export interface IdParams {
	id: string;
}

export interface ListParams {
	namespace?: string;
	/** A page (1–1000, default 100 once `offset` is given) instead of every deployment. */
	limit?: number;
	offset?: number;
}

export interface LookupParams {
	ref: string;
	/** Namespace entity id or name, to resolve `ref` as a deployment name. */
	namespace?: string;
}

export interface FindParams {
	query?: Record<string, unknown>;
}

export interface ScaleParams {
	id: string;
	replicas: number;
}

export interface LogsParams {
	id: string;
	pod?: string;
	container?: string;
	/** Last lines per pod. */
	tail?: number;
	/** Seconds back, or a duration such as "10m". */
	since?: number | string;
	/** Stream (text/plain) instead of answering once. */
	follow?: boolean;
	/** A follow stream ends after this many seconds at most. */
	maxSeconds?: number;
}

export interface PodLogs {
	pod: string;
	container: string;
	log: string;
}

export interface StatusView extends DeploymentStatus {
	id: string;
	name: string;
	namespace: string;
	hosts: string[];
}

export interface StateView {
	deployment: StatusView;
	pods: PodState[];
}

export interface EventView {
	type?: string;
	reason?: string;
	message?: string;
	object: { kind?: string; name?: string };
	count: number;
	firstTimestamp?: string;
	lastTimestamp?: string;
}

export interface TopView {
	pods: { pod: string; containers: { name: string; cpu: number; memory: number }[] }[];
	/** cpu in millicores, memory in bytes. */
	total: { cpu: number; memory: number };
}

export interface ApplyView {
	applied: { kind: string; name: string }[];
	status: DeploymentStatus;
}

export interface GenerateView {
	manifests: GeneratedObject[];
}

/** Stored, never returned: each pod's share of the quota, for the next quota check. */
interface StoredDeployment extends DeploymentEntity {
	footprint?: Record<string, number>;
	deleting?: boolean;
	/** manifestsFingerprint of what the last successful pass applied. */
	appliedFingerprint?: string;
}

/** Read-only view of the leader's watch caches. */
interface LiveCache {
	get(kind: string, namespace: string, name: string): KubernetesObject | undefined;
	/** The objects of one kind a deployment entity owns (its id and component labels). */
	owned(kind: string, namespace: string, id: string): KubernetesObject[];
}

// ---------------------------------------------------------------------------------------------
// Validation

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const ABSOLUTE_PATH = /^\/[^\0:]*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Longest name: "<name>-service" must stay within 63 characters. */
const MAX_NAME = 55;
const MAX_CONFIG_BYTES = 512 * 1024;

const amount = { type: "multi", optional: true, rules: [{ type: "number", positive: true }, { type: "string", min: 1, max: 32 }] } as const;
const resourcesRule = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		limits: { type: "object", optional: true, strict: true, props: { cpu: amount, memory: amount } },
		requests: { type: "object", optional: true, strict: true, props: { cpu: amount, memory: amount } },
	},
} as const;
const volumesRule = {
	type: "array",
	optional: true,
	max: 20,
	items: {
		type: "object",
		strict: true,
		props: {
			name: { type: "string", pattern: DNS1123_LABEL, max: 63 },
			type: { type: "enum", values: ["persistentVolumeClaim", "emptyDir"] },
			mountPath: { type: "string", pattern: ABSOLUTE_PATH, max: 1024 },
			persistentVolumeClaim: { type: "object", optional: true, strict: true, props: { claimName: { type: "string", pattern: DNS1123_SUBDOMAIN, max: 253 } } },
			readOnly: { type: "boolean", optional: true },
			subPath: { type: "string", optional: true, max: 1024, pattern: /^[^/].*$/ },
		},
	},
} as const;
const configMapRule = {
	type: "object",
	optional: true,
	nullable: true,
	strict: true,
	props: {
		name: { type: "string", pattern: DNS1123_LABEL, max: 63 },
		data: { type: "record", key: { type: "string", pattern: CONFIG_KEY, max: 253 }, value: { type: "string", max: MAX_CONFIG_BYTES } },
		mountPath: { type: "string", optional: true, pattern: ABSOLUTE_PATH, max: 1024 },
	},
} as const;
const portsRule = {
	type: "array",
	optional: true,
	max: 20,
	items: {
		type: "object",
		strict: true,
		props: {
			name: { type: "string", optional: true, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, max: 15 },
			port: { type: "number", integer: true, min: 1, max: 65535, convert: true },
			protocol: { type: "enum", optional: true, values: ["TCP", "UDP", "SCTP"] },
		},
	},
} as const;
const vHostsRule = { type: "array", optional: true, max: 20, unique: true, items: { type: "string", pattern: HOST, max: 253 } } as const;
const replicasRule = { type: "number", integer: true, min: 0, max: 100, optional: true, convert: true } as const;
const idRule = { type: "string", min: 1, max: 64 } as const;
const envRule = {
	type: "array",
	optional: true,
	max: 200,
	items: {
		type: "object",
		strict: true,
		props: {
			key: { type: "string", pattern: ENV_KEY, max: 253 },
			value: { type: "string", optional: true, max: 64 * 1024 },
			type: { type: "enum", optional: true, values: ["as-is", "secret"] },
		},
	},
} as const;

const createParams = {
	name: { type: "string", pattern: DNS1035, min: 1, max: MAX_NAME },
	namespace: { type: "string", min: 1, max: 128 },
	image: { type: "string", min: 1, max: 255 },
	replicas: replicasRule,
	vHosts: vHostsRule,
	volumes: volumesRule,
	configMap: configMapRule,
	env: envRule,
	resources: resourcesRule,
	ports: portsRule,
	...jointParams,
};

/** Checks the fastest-validator schema cannot express; every failure names its field. */
/** The entity a create's params describe, before anything is checked against the cluster or stored. */
function draftOf(p: CreateDeploymentParams, of: { id: string; namespace: NamespaceRef; image: CatalogImage; owner: string; members: string[] }): StoredDeployment {
	return {
		id: of.id,
		name: p.name,
		namespace: of.namespace.id,
		namespaceName: of.namespace.name,
		image: of.image.id,
		imageName: of.image.name,
		replicas: p.replicas ?? 1,
		vHosts: p.vHosts ?? [],
		volumes: p.volumes ?? [],
		configMap: p.configMap,
		resources: p.resources,
		ports: p.ports,
		mounts: p.mounts,
		nodePorts: p.nodePorts,
		serviceAccount: p.serviceAccount ?? undefined,
		owner: of.owner,
		members: of.members,
	};
}

function checkShape(p: Partial<CreateDeploymentParams> & { configMap?: DeploymentConfigMap | null }): void {
	const errors: FieldError[] = [];
	for (const field of invalidResourceFields(p.resources)) errors.push({ field, message: `${field} must be a positive number (catalog units: millicores, Mi) or a Kubernetes quantity`, type: "invalid" });
	const names = new Set<string>();
	const paths = new Set<string>();
	(p.volumes ?? []).forEach((v, i) => {
		if (names.has(v.name)) errors.push({ field: `volumes[${i}].name`, message: `Volume name "${v.name}" is used twice`, type: "unique", actual: v.name });
		names.add(v.name);
		if (paths.has(v.mountPath)) errors.push({ field: `volumes[${i}].mountPath`, message: `Mount path "${v.mountPath}" is used twice`, type: "unique", actual: v.mountPath });
		paths.add(v.mountPath);
		if (v.type === "persistentVolumeClaim" && !v.persistentVolumeClaim?.claimName)
			errors.push({ field: `volumes[${i}].persistentVolumeClaim.claimName`, message: "A persistentVolumeClaim volume names its claim", type: "required" });
	});
	if (p.configMap) {
		if (names.has(p.configMap.name)) errors.push({ field: "configMap.name", message: `"${p.configMap.name}" is also a volume's name`, type: "unique", actual: p.configMap.name });
		if (p.configMap.mountPath && paths.has(p.configMap.mountPath)) errors.push({ field: "configMap.mountPath", message: `Mount path "${p.configMap.mountPath}" is also a volume's`, type: "unique" });
		const size = Object.entries(p.configMap.data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
		if (size > MAX_CONFIG_BYTES) errors.push({ field: "configMap.data", message: `configMap.data may hold at most ${MAX_CONFIG_BYTES} bytes`, type: "max", actual: size });
		if (p.name && `${p.name}-${p.configMap.name}`.length > 253) errors.push({ field: "configMap.name", message: "configMap.name is too long", type: "max" });
	}
	const ports = new Set<string>();
	(p.ports ?? []).forEach((port, i) => {
		const key = `${port.port}/${port.protocol ?? "TCP"}`;
		if (ports.has(key)) errors.push({ field: `ports[${i}].port`, message: `Port ${key} is listed twice`, type: "unique" });
		ports.add(key);
	});
	if (p.ports && p.ports.length > 1 && p.ports.some(port => !port.name)) errors.push({ field: "ports", message: "With more than one port, every port has a name", type: "required" });
	const keys = new Set<string>();
	(p.env ?? []).forEach((e, i) => {
		if (keys.has(e.key)) errors.push({ field: `env[${i}].key`, message: `Env key "${e.key}" is listed twice`, type: "unique", actual: e.key });
		keys.add(e.key);
	});
	if (errors.length) throw invalid("Invalid deployment", errors);
}

/**
 * Joint management's checks of a whole draft (its image decides the ports and the configMap's
 * path): mount paths used twice, node ports of ports the deployment does not have or outside the
 * cluster's range, a shared account without a name, and a mount whose pod volume would take a
 * volume's name.
 */
function jointErrors(
	draft: Pick<DeploymentEntity, "name" | "volumes" | "configMap" | "ports" | "mounts" | "nodePorts" | "serviceAccount">,
	image: CatalogImage,
	nodePortRange: [number, number],
): FieldError[] {
	const errors = jointProblems({ ...draft, configMapMountPath: draft.configMap ? resolveConfigMountPath(draft, image) : undefined }, effectivePorts(draft, image));
	const [lo, hi] = nodePortRange;
	(draft.nodePorts ?? []).forEach((np, i) => {
		if (np.nodePort !== undefined && (np.nodePort < lo || np.nodePort > hi))
			errors.push({ field: `nodePorts[${i}].nodePort`, message: `Node port ${np.nodePort} is outside the cluster's node port range ${lo}-${hi}`, type: "invalid", actual: np.nodePort });
	});
	const volumeNames = new Set([...(draft.volumes ?? []).map(v => v.name), ...(draft.configMap ? [draft.configMap.name] : [])]);
	(draft.mounts ?? []).forEach((m, i) => {
		const volume = mountVolumeName(m);
		if (volumeNames.has(volume)) errors.push({ field: `mounts[${i}].name`, message: `The mount's pod volume would be "${volume}", which is already a volume's name`, type: "unique", actual: m.name });
	});
	return errors;
}

/**
 * The apiserver's refusal of a node port (one another Service has) as a 422 on the `nodePorts`
 * entry that asked for it; anything else unchanged. Its dry run does not check the range.
 */
function nodePortError(err: unknown, service: V1Service, dep: JointSpec): unknown {
	const e = err as { type?: string; message?: string; data?: unknown };
	if (e?.type !== "K8S_INVALID" || !Array.isArray(e.data) || !e.data.length) return err;
	const fields: FieldError[] = [];
	for (const cause of e.data as FieldError[]) {
		const k = /^spec\.ports\[(\d+)\]\.nodePort$/.exec(cause.field ?? "")?.[1];
		const port = k === undefined ? undefined : service.spec?.ports?.[Number(k)];
		const i = port ? (dep.nodePorts ?? []).findIndex(r => (typeof r.port === "number" ? r.port === port.port : r.port === port.name)) : -1;
		if (i < 0) return err;
		fields.push({ field: `nodePorts[${i}].nodePort`, message: cause.message, type: "invalid", actual: port?.nodePort });
	}
	return invalid(`Invalid deployment: ${e.message ?? "the apiserver refused a node port"}`, fields);
}

/** The status with the node ports Kubernetes assigned, when there are any. */
function withNodePorts(status: DeploymentStatus, nodePorts: DeploymentStatus["nodePorts"]): DeploymentStatus {
	return nodePorts?.length ? { ...status, nodePorts } : status;
}

/** "90", 90, "10m", "2h" → seconds. */
export function parseSince(since: number | string | undefined): number | undefined {
	if (since === undefined || since === "") return undefined;
	if (typeof since === "number") return since;
	const m = /^(\d+)([smhd]?)$/.exec(since.trim());
	if (!m) throw invalidField("since", 'since is a number of seconds or a duration such as "90s", "10m", "2h", "1d"', since);
	return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
}

// ---------------------------------------------------------------------------------------------
// Storage: NeDB and MongoDB refuse "." in field names, and file names ("default.conf") and quota
// resources ("limits.cpu") have them, so those maps are stored as lists of entries. A service
// account request is stored with `shared: false` spelled out, so that `{}` is not an empty object.

type Stored = Record<string, unknown>;

function encodeDoc(doc: Partial<StoredDeployment>): Stored {
	const out: Stored = { ...doc };
	if (doc.configMap) out.configMap = { name: doc.configMap.name, mountPath: doc.configMap.mountPath, files: Object.entries(doc.configMap.data).map(([key, value]) => ({ key, value })) };
	if (doc.footprint) out.footprint = Object.entries(doc.footprint).map(([resource, amount]) => ({ resource, amount }));
	// Mongoose drops empty objects, and `{}` asks for an account of the deployment's own.
	if (doc.serviceAccount) out.serviceAccount = { ...doc.serviceAccount, shared: doc.serviceAccount.shared ?? false };
	return out;
}

function decodeDoc(raw: Stored): StoredDeployment {
	const doc = { ...raw } as Stored;
	const cm = raw.configMap as { name: string; mountPath?: string; files?: { key: string; value: string }[] } | null | undefined;
	if (cm) doc.configMap = { name: cm.name, data: Object.fromEntries((cm.files ?? []).map(f => [f.key, f.value])), ...(cm.mountPath ? { mountPath: cm.mountPath } : {}) };
	else delete doc.configMap;
	// `null` is how an update clears it (a $set of undefined would not).
	const sa = raw.serviceAccount as ServiceAccountRequest | null | undefined;
	if (!sa) delete doc.serviceAccount;
	else if (sa.shared === false) {
		const { shared: _own, ...rest } = sa;
		doc.serviceAccount = rest;
	}
	const fp = raw.footprint as { resource: string; amount: number }[] | undefined;
	if (Array.isArray(fp)) doc.footprint = Object.fromEntries(fp.map(f => [f.resource, f.amount]));
	doc.id = String(doc.id);
	return doc as unknown as StoredDeployment;
}

// ---------------------------------------------------------------------------------------------
// Service

export interface DeploymentsSettings extends ServiceSettingSchema {
	rest: string;
	baseDomain: string;
	resyncSeconds: number;
	nodePortRange: [number, number];
}

interface DeploymentsMethods {
	findDeployment(ctx: Context<unknown, CallerMeta>, id: string): Promise<StoredDeployment>;
	findRaw(query: Record<string, unknown>, page?: { limit?: number; offset?: number }): Promise<StoredDeployment[]>;
	loadDoc(id: string): Promise<StoredDeployment | undefined>;
	publicView(doc: StoredDeployment): DeploymentEntity;
	lookupNamespace(ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef>;
	resolveImage(ctx: Context<unknown, CallerMeta>, ref: string, field?: string): Promise<CatalogImage>;
	validateReferences(ctx: Context<unknown, CallerMeta>, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<void>;
	checkQuota(ctx: Context<unknown, CallerMeta>, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<Record<string, number>>;
	dryRun(draft: StoredDeployment, image: CatalogImage): Promise<void>;
	desiredManifests(doc: StoredDeployment, image: CatalogImage, cache?: LiveCache): Promise<GeneratedObject[]>;
	reconcile(id: string): Promise<{ requeueAfterMs?: number } | void>;
	applyAndPrune(doc: StoredDeployment, manifests: GeneratedObject[]): Promise<{ live?: V1Deployment; service?: V1Service }>;
	liveCache(): LiveCache | undefined;
	cachedWhenConverged(cache: LiveCache, doc: StoredDeployment, manifests: GeneratedObject[]): { live?: V1Deployment; service?: V1Service } | undefined;
	teardown(doc: StoredDeployment): Promise<void>;
	writeStatus(doc: StoredDeployment, status: DeploymentStatus, appliedFingerprint?: string): Promise<void>;
	applyChange(ctx: Context<unknown, CallerMeta>, doc: StoredDeployment, changes: Partial<StoredDeployment>): Promise<DeploymentEntity>;
	podsOf(doc: StoredDeployment): Promise<V1Pod[]>;
	liveStatus(doc: StoredDeployment): Promise<StatusView>;
	followLogs(doc: StoredDeployment, pods: V1Pod[], params: LogsParams): Promise<Readable>;
	hasService(name: string): boolean;
}

interface DeploymentsLocals extends ControllerLocals {
	/** Serializes creates of one namespace/name in this node (the DB has no compound unique index on NeDB). */
	creating: Set<string>;
	/** Entities whose next pass applies even if the caches say nothing differs (the apply action). */
	forceApply: Set<string>;
}

type DeploymentsThis = DbBackedService<DeploymentsMethods & MembershipMethods & ControllerMethods & DeploymentsLocals & { settings: DeploymentsSettings }>;

const PUBLIC_FIELDS = ["name", "namespace", "namespaceName", "image", "imageName", "replicas", "vHosts", "volumes", "configMap", "resources", "ports", "mounts", "nodePorts", "serviceAccount", "restartedAt", "status", "owner", "members"];
/** moleculer-db's generic actions would bypass validation and the cluster, so this API has its own. */
const GENERIC_ACTIONS = ["list", "find", "count", "create", "insert", "get", "update", "remove"];
/** Everything a deployment entity owns in the cluster (and the env objects v1.k8s.envs writes for it). */
const WATCH_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component in (${DEPLOYMENT_KIND},${ENV_KIND})`;
const WATCHED_KINDS = [Kinds.Deployment, Kinds.Service, Kinds.Ingress, Kinds.ConfigMap, Kinds.Secret, Kinds.ServiceAccount];
/**
 * A deployment's own ServiceAccount carries its id and goes with it (last: after its pods). A
 * shared one carries no deployment's id, so no deployment prunes it.
 */
const PRUNABLE_KINDS = [Kinds.ConfigMap, Kinds.Service, Kinds.Ingress, Kinds.Deployment, Kinds.ServiceAccount];

function ownedSelector(id: string, kind: string = DEPLOYMENT_KIND): string {
	return `${MANAGED_SELECTOR},app.kubernetes.io/component=${kind},${LABEL_ID}=${id}`;
}

function entityIdOf(obj: KubernetesObject): string | undefined {
	return obj.metadata?.labels?.[LABEL_ID] ?? obj.metadata?.annotations?.[ANNOTATION_ID];
}

function describe(err: unknown): { reason: string; message: string } {
	const e = err as { type?: string; message?: string };
	return { reason: e?.type ?? "Error", message: e?.message ?? String(err) };
}

/**
 * Deployments of catalog images: a Deployment, its Service, an Ingress and a ConfigMap of files per
 * entity, applied by server-side apply. Actions write the entity and ask the reconciler; the
 * reconciler (entity changes, env changes, watch events, periodic resync) makes the cluster match.
 */
const DeploymentsService: ServiceSchema<DeploymentsSettings, DeploymentsMethods, DeploymentsLocals, DeploymentsThis> = {
	name: "k8s.deployments",
	version: 1,
	mixins: [
		createControllerMixin<DeploymentsThis>({
			name: "k8s.deployments",
			watch: WATCHED_KINDS.map(kind => ({ kind, selector: WATCH_SELECTOR, keyOf: entityIdOf })),
			reconcile: (self, id) => self.reconcile(id),
			listKeys: async self => (await self.findRaw({})).map(d => d.id),
			resyncMs: self => self.settings.resyncSeconds * 1000,
			// Each node applies what its own actions change and answers once it is applied (applies are
			// idempotent and one key runs once per node at a time); watches and resync: the leader only.
			everyNode: true,
		}),
		{ actions: Object.fromEntries(GENERIC_ACTIONS.map(a => [a, false])) },
		createDbMixin({ collection: "deployments", fields: PUBLIC_FIELDS }),
		createMembershipMixin({ entityName: "Deployment" }),
	],
	settings: { rest: "/v1/k8s/deployments" } as DeploymentsSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: createParams,
			async handler(this: DeploymentsThis, ctx: Context<CreateDeploymentParams, CallerMeta>): Promise<DeploymentEntity> {
				const p = ctx.params;
				checkShape(p);
				const ns = await this.lookupNamespace(ctx, p.namespace);
				const image = await this.resolveImage(ctx, p.image);
				const lock = `${ns.id}/${p.name}`;
				if (this.creating.has(lock) || (await this.findRaw({ namespace: ns.id, name: p.name })).length)
					throw conflict(`A deployment named "${p.name}" already exists in namespace "${ns.name}"`, { name: p.name, namespace: ns.name });
				this.creating.add(lock);
				try {
					const members = [ns.owner, ...(ns.members ?? [])].filter(m => m && m !== ctx.meta.userID && m !== SYSTEM_META.userID);
					const draft = draftOf(p, { id: "pending", namespace: ns, image, owner: ctx.meta.userID as string, members: Array.from(new Set(members)) });
					await this.validateReferences(ctx, draft, image);
					const footprint = await this.checkQuota(ctx, draft, image);
					await this.dryRun(draft, image);
					const { id: _pending, ...doc } = draft;
					const saved = (await this.insertEntity(ctx, encodeDoc({ ...doc, footprint, status: deploymentStatus(undefined, { ok: true }, undefined, new Date().toISOString()) }))) as unknown as DeploymentEntity;
					if (this.hasService("v1.k8s.envs")) {
						try {
							await ctx.call("v1.k8s.envs.createEnv", { namespace: ns.id, deployment: saved.id, image: image.id, env: p.env ?? [] });
						} catch (err) {
							// Nothing is half-made: without its envs the deployment is not created.
							await this.removeEntity(ctx, saved.id);
							throw err;
						}
					} else if (p.env?.length) {
						await this.removeEntity(ctx, saved.id);
						throw invalidField("env", "Env vars need the v1.k8s.envs service, which is not running");
					}
					await this.reconciler?.sync(saved.id).catch(err => this.logger.warn(`First apply of deployment ${saved.id} failed; the reconciler retries:`, (err as Error).message));
					const fresh = (await this.loadDoc(saved.id)) as StoredDeployment;
					const entity = this.publicView(fresh);
					ctx.emit("k8s.deployments.created", entity);
					Object.assign(ctx.meta, { $statusCode: 201, $location: `/api/v1/k8s/deployments/${entity.id}` });
					return entity;
				} finally {
					this.creating.delete(lock);
				}
			},
		},
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			params: {
				id: idRule,
				image: { type: "string", min: 1, max: 255, optional: true },
				replicas: replicasRule,
				vHosts: vHostsRule,
				volumes: volumesRule,
				configMap: configMapRule,
				resources: resourcesRule,
				ports: portsRule,
				...jointParams,
			},
			async handler(this: DeploymentsThis, ctx: Context<UpdateDeploymentParams, CallerMeta>): Promise<DeploymentEntity> {
				const current = await this.findDeployment(ctx, ctx.params.id);
				const { id, ...p } = ctx.params;
				checkShape({ ...p, name: current.name });
				const changes: Partial<StoredDeployment> = {};
				for (const key of REPLACED_FIELDS) if (p[key] !== undefined) (changes as Record<string, unknown>)[key] = p[key];
				if (p.configMap !== undefined) changes.configMap = p.configMap ?? undefined;
				if (p.serviceAccount !== undefined) changes.serviceAccount = p.serviceAccount ?? undefined;
				if (p.image !== undefined) {
					const image = await this.resolveImage(ctx, p.image);
					changes.image = image.id;
					changes.imageName = image.name;
				}
				const entity = await this.applyChange(ctx, current, changes);
				if (p.image !== undefined && p.image !== current.image && this.hasService("v1.k8s.envs"))
					await ctx.call("v1.k8s.envs.createEnv", { namespace: current.namespace, deployment: id, image: changes.image, env: [] });
				return entity;
			},
		},
		list: {
			rest: "GET /",
			params: {
				namespace: { type: "string", min: 1, max: 128, optional: true },
				limit: { type: "number", integer: true, min: 1, max: 1000, optional: true, convert: true },
				offset: { type: "number", integer: true, min: 0, optional: true, convert: true },
			},
			async handler(this: DeploymentsThis, ctx: Context<ListParams, CallerMeta & { $responseHeaders?: Record<string, string> }>): Promise<DeploymentEntity[]> {
				const filters: Record<string, unknown>[] = [{ deleting: { $ne: true } }];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace)).id });
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = this.scopedQuery(ctx, { $and: filters });
				const { limit, offset } = ctx.params;
				const paged = limit !== undefined || offset !== undefined;
				// Everything the answer depends on: who asks (scoping) and what. It is shared between callers
				// until the collection changes, so nothing may change it.
				const key = JSON.stringify([query, paged && limit, paged && offset]);
				const answer = await this.cachedQuery(key, async () => {
					if (!paged) return { items: (await this.findRaw(query)).map(d => this.publicView(d)) };
					// A page, oldest first like the whole list; only its documents are read and decoded.
					const total = await this.countEntities(query);
					return { total, items: (await this.findRaw(query, { limit: limit ?? 100, offset: offset ?? 0 })).map(d => this.publicView(d)) };
				});
				if (answer.total !== undefined) ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, "X-Total-Count": String(answer.total) };
				return answer.items;
			},
		},
		/** moleculer-db's find, as other services use it: `find({query: {namespace}, scope: false})`. */
		find: {
			params: { query: { type: "object", optional: true } },
			async handler(this: DeploymentsThis, ctx: Context<FindParams, CallerMeta>): Promise<DeploymentEntity[]> {
				// The membership mixin's `find` hook has already added the caller's visibility to `query`.
				return (await this.findRaw(ctx.params.query ?? {})).map(d => this.publicView(d));
			},
		},
		get: {
			rest: "GET /:id",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<DeploymentEntity> {
				return this.publicView(await this.findDeployment(ctx, ctx.params.id));
			},
		},
		/** The caller's deployment by id, or by name in a namespace; 404 otherwise (v1.k8s.envs uses it). */
		lookup: {
			params: { ref: { type: "string", min: 1, max: 128 }, namespace: { type: "string", min: 1, max: 128, optional: true } },
			async handler(this: DeploymentsThis, ctx: Context<LookupParams, CallerMeta>): Promise<DeploymentEntity> {
				const byId = await this.loadDoc(ctx.params.ref);
				if (byId && (!ctx.params.namespace || byId.namespace === ctx.params.namespace || byId.namespaceName === ctx.params.namespace)) return this.publicView(await this.findDeployment(ctx, byId.id));
				if (ctx.params.namespace) {
					const [doc] = await this.findRaw({ name: ctx.params.ref, $or: [{ namespace: ctx.params.namespace }, { namespaceName: ctx.params.namespace }] });
					if (doc) return this.publicView(await this.findDeployment(ctx, doc.id));
				}
				throw notFound("Deployment", ctx.params.ref);
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<DeploymentEntity> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				// The reconciler deletes what was generated and then the entity: it never races an apply.
				await this.patchEntity(ctx, doc.id, { deleting: true });
				if (this.reconciler) await this.reconciler.sync(doc.id);
				else await this.teardown({ ...doc, deleting: true });
				return this.publicView(doc);
			},
		},

		// The seed's actions.
		generate: {
			rest: "POST /generate",
			params: createParams,
			async handler(this: DeploymentsThis, ctx: Context<CreateDeploymentParams, CallerMeta>): Promise<GenerateView> {
				const p = ctx.params;
				checkShape(p);
				const ns = await this.lookupNamespace(ctx, p.namespace);
				const image = await this.resolveImage(ctx, p.image);
				const draft = draftOf(p, { id: "generated", namespace: ns, image, owner: ctx.meta.userID as string, members: [] });
				const errors = jointErrors(draft, image, this.settings.nodePortRange);
				if (errors.length) throw invalid("Invalid deployment", errors);
				const manifests = deploymentManifests({ deployment: draft, image, configChecksum: draft.configMap ? dataChecksum(draft.configMap.data) : undefined }, this.settings.baseDomain);
				return { manifests: jointManifests(draft, manifests) };
			},
		},
		manifests: {
			rest: "GET /:id/manifests",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<GenerateView> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				return { manifests: await this.desiredManifests(doc, await this.resolveImage(ctx, doc.image)) };
			},
		},
		apply: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /:id/apply",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<ApplyView> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				if (!this.reconciler) throw new Error("The reconciler is not running");
				// Asked for: applied even where the caches say nothing differs.
				this.forceApply.add(doc.id);
				await this.reconciler.sync(doc.id);
				const fresh = (await this.loadDoc(doc.id)) as StoredDeployment;
				const manifests = await this.desiredManifests(fresh, await this.resolveImage(ctx, fresh.image));
				return { applied: manifests.map(m => ({ kind: m.kind as string, name: m.metadata?.name as string })), status: fresh.status as DeploymentStatus };
			},
		},
		status: {
			rest: "GET /:id/status",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<StatusView> {
				return this.liveStatus(await this.findDeployment(ctx, ctx.params.id));
			},
		},
		state: {
			rest: "GET /:id/state",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<StateView> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				const [deployment, pods] = await Promise.all([this.liveStatus(doc), this.podsOf(doc)]);
				return { deployment, pods: pods.map(podState) };
			},
		},
		pods: {
			rest: "GET /:id/pods",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<PodState[]> {
				return (await this.podsOf(await this.findDeployment(ctx, ctx.params.id))).map(podState);
			},
		},
		logs: {
			rest: "GET /:id/logs",
			params: {
				id: idRule,
				pod: { type: "string", optional: true, max: 253 },
				container: { type: "string", optional: true, max: 63 },
				tail: { type: "number", integer: true, min: 1, max: 100_000, optional: true, convert: true },
				since: { type: "multi", optional: true, rules: [{ type: "number", integer: true, min: 1 }, { type: "string", max: 16 }] },
				follow: { type: "boolean", optional: true, convert: true },
				maxSeconds: { type: "number", integer: true, min: 1, max: 24 * 3600, optional: true, convert: true },
			},
			async handler(this: DeploymentsThis, ctx: Context<LogsParams, CallerMeta & { $responseType?: string }>): Promise<PodLogs[] | Readable> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				const since = parseSince(ctx.params.since);
				const container = ctx.params.container ?? objectNames(doc).container;
				if (container !== objectNames(doc).container) throw invalidField("container", `The pods of this deployment have one container, "${objectNames(doc).container}"`, ctx.params.container);
				let pods = await this.podsOf(doc);
				if (ctx.params.pod) {
					pods = pods.filter(p => p.metadata?.name === ctx.params.pod);
					if (!pods.length) throw notFound("Pod", ctx.params.pod);
				}
				// Pods that have not started a container yet have no log to read.
				pods = pods.filter(p => p.status?.containerStatuses?.some(c => c.name === container && (c.state?.running || c.state?.terminated)));
				if (ctx.params.follow) {
					ctx.meta.$responseType = "text/plain; charset=utf-8";
					return this.followLogs(doc, pods, { ...ctx.params, since, container });
				}
				const kube = getKubeClient();
				return Promise.all(
					pods.map(async p => ({ pod: p.metadata?.name as string, container, log: await kube.podLogs(doc.namespaceName, p.metadata?.name as string, { container, tailLines: ctx.params.tail, sinceSeconds: since }) })),
				);
			},
		},
		events: {
			rest: "GET /:id/events",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<EventView[]> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				const kube = getKubeClient();
				const names = objectNames(doc);
				const [pods, replicaSets, events] = await Promise.all([
					this.podsOf(doc),
					kube.list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace: doc.namespaceName, labelSelector: `${LABEL_ID}=${doc.id}` }),
					kube.list<CoreV1Event>(Kinds.Event, { namespace: doc.namespaceName }),
				]);
				const objects = new Set<string>([
					`Deployment/${names.deployment}`,
					`Service/${names.service}`,
					`Ingress/${names.ingress}`,
					...(names.configMap ? [`ConfigMap/${names.configMap}`] : []),
					...pods.map(p => `Pod/${p.metadata?.name}`),
					...replicaSets.map(r => `ReplicaSet/${r.metadata?.name}`),
				]);
				const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
				const iso = (t: Date | string | undefined) => (t ? new Date(t).toISOString() : undefined);
				return events
					.filter(e => objects.has(`${e.involvedObject?.kind}/${e.involvedObject?.name}`))
					.sort((a, b) => time(a) - time(b))
					.map(e => ({
						type: e.type,
						reason: e.reason,
						message: e.message,
						object: { kind: e.involvedObject?.kind, name: e.involvedObject?.name },
						count: e.count ?? 1,
						firstTimestamp: iso(e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp),
						lastTimestamp: iso(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp),
					}));
			},
		},
		scale: {
			rest: "POST /:id/scale",
			params: { id: idRule, replicas: { type: "number", integer: true, min: 0, max: 100, convert: true } },
			async handler(this: DeploymentsThis, ctx: Context<ScaleParams, CallerMeta>): Promise<DeploymentEntity> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				return this.applyChange(ctx, doc, { replicas: ctx.params.replicas });
			},
		},
		restart: {
			rest: "POST /:id/restart",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<DeploymentEntity> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				// Level-based like everything else: the annotation lives on the entity, so a resync keeps it.
				return this.applyChange(ctx, doc, { restartedAt: new Date().toISOString() });
			},
		},
		top: {
			rest: "GET /:id/top",
			params: { id: idRule },
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<TopView> {
				const doc = await this.findDeployment(ctx, ctx.params.id);
				const kube = getKubeClient();
				let list: { items?: { metadata?: { name?: string }; containers?: { name: string; usage?: { cpu?: string; memory?: string } }[] }[] };
				try {
					list = (await kube.call("metrics", () =>
						kube.custom.listNamespacedCustomObject({ group: "metrics.k8s.io", version: "v1beta1", namespace: doc.namespaceName, plural: "pods", labelSelector: `${LABEL_ID}=${doc.id}` }),
					)) as typeof list;
				} catch (err) {
					// No metrics-server: the group is not served (404) or its APIService is down (503).
					const code = (err as { code?: number }).code ?? statusOf(err);
					if (code === 404 || code === 503) throw metricsUnavailable();
					throw err;
				}
				const pods = (list.items ?? []).map(item => ({
					pod: item.metadata?.name ?? "",
					containers: (item.containers ?? []).map(c => ({ name: c.name, cpu: cpuMillis(c.usage?.cpu ?? "0"), memory: bytes(c.usage?.memory ?? "0") })),
				}));
				const total = { cpu: 0, memory: 0 };
				for (const p of pods) for (const c of p.containers) (total.cpu += c.cpu), (total.memory += c.memory);
				return { pods, total };
			},
		},
	},
	events: {
		/** A removed namespace takes its objects with it; the entities go too. */
		"k8s.namespaces.removed": {
			async handler(this: DeploymentsThis, ctx: Context<{ id?: string }>) {
				const nsId = ctx.params?.id;
				if (!nsId) return;
				for (const doc of await this.findRaw({ namespace: nsId })) {
					const removed = await this.removeEntity(this.systemContext(), doc.id);
					this.reconciler?.forget(doc.id);
					if (removed) this.broker.emit("k8s.deployments.removed", this.publicView(doc));
				}
			},
		},
	},
	methods: {
		/** A deployment the caller may see (API keys confined to namespaces see only those), else 404. */
		async findDeployment(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<StoredDeployment> {
			const doc = await this.loadDoc(id);
			const confined = ctx.meta?.namespaces;
			const visible = doc && !doc.deleting && (isUnscoped(ctx) || isAdmin(ctx.meta) || canSee(ctx.meta, doc)) && (!confined || confined.includes(doc.namespaceName));
			if (!visible) throw notFound("Deployment", id);
			return doc;
		},

		async findRaw(this: DeploymentsThis, query: Record<string, unknown>, page: { limit?: number; offset?: number } = {}): Promise<StoredDeployment[]> {
			const rows = await this.adapter.find({ query, sort: ["createdAt"], ...page });
			const docs: StoredDeployment[] = [];
			for (const row of rows) docs.push(decodeDoc(this.adapter.afterRetrieveTransformID(await this.adapter.entityToObject(row), "id")));
			return docs;
		},

		async loadDoc(this: DeploymentsThis, id: string): Promise<StoredDeployment | undefined> {
			const raw = await this.findStored(id);
			return raw ? decodeDoc(raw) : undefined;
		},

		publicView(this: DeploymentsThis, doc: StoredDeployment): DeploymentEntity {
			const out: Record<string, unknown> = {};
			for (const f of ["id", ...PUBLIC_FIELDS, "createdAt", "updatedAt"]) if ((doc as unknown as Record<string, unknown>)[f] !== undefined) out[f] = (doc as unknown as Record<string, unknown>)[f];
			out.id = String(out.id);
			return out as unknown as DeploymentEntity;
		},

		async lookupNamespace(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef> {
			try {
				return await ctx.call<NamespaceRef, { ref: string }>("v1.k8s.namespaces.lookup", { ref });
			} catch (err) {
				if ((err as { code?: number }).code === 404) throw invalidField("namespace", `Namespace "${ref}" not found`, ref);
				throw err;
			}
		},

		/** A catalog image by id, else by name; a missing one is the caller's mistake (422 on `field`). */
		async resolveImage(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, ref: string, field = "image"): Promise<CatalogImage> {
			const missing = (err: unknown) => (err as { code?: number }).code === 404 || (err as { code?: number }).code === 422;
			try {
				return await ctx.call<CatalogImage, { id: string }>("v1.k8s.images.get", { id: ref });
			} catch (err) {
				if (!missing(err)) throw err;
			}
			try {
				return await ctx.call<CatalogImage, { name: string }>("v1.k8s.images.resolveName", { name: ref });
			} catch (err) {
				if (missing(err)) throw invalidField(field, `Image "${ref}" is not in the catalog`, ref);
				throw err;
			}
		},

		/**
		 * What the validator cannot see: hosts nobody else serves (and, under BASE_DOMAIN, only in the
		 * caller's own namespace), claims and mounted ConfigMaps and Secrets that exist in the
		 * namespace, joint management's checks, and a deployment's own ServiceAccount that is no one
		 * else's.
		 */
		async validateReferences(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<void> {
			const errors: FieldError[] = [];
			const base = this.settings.baseDomain;
			draft.vHosts.forEach((host, i) => {
				const bare = host.replace(/^\*\./, "");
				if ((bare === base || bare.endsWith(`.${base}`)) && !bare.endsWith(`.${draft.namespaceName}.${base}`))
					errors.push({ field: `vHosts[${i}]`, message: `Hosts under ${base} must end with .${draft.namespaceName}.${base}`, type: "invalid", actual: host });
			});
			if (draft.configMap && !draft.configMap.mountPath) {
				const path = resolveConfigMountPath(draft, image);
				const clash = draft.volumes.findIndex(v => v.mountPath === path);
				if (clash >= 0) errors.push({ field: "configMap.mountPath", message: `The configMap would mount at ${path}, where volumes[${clash}] is mounted; give configMap.mountPath`, type: "unique" });
			}
			const kube = getKubeClient();
			for (const [i, v] of draft.volumes.entries()) {
				const claim = v.persistentVolumeClaim?.claimName;
				if (v.type !== "persistentVolumeClaim" || !claim) continue;
				if (current?.volumes.some(c => c.persistentVolumeClaim?.claimName === claim)) continue;
				const pvc = await kube.get({ apiVersion: "v1", kind: "PersistentVolumeClaim", name: claim, namespace: draft.namespaceName });
				if (!pvc) errors.push({ field: `volumes[${i}].persistentVolumeClaim.claimName`, message: `No claim "${claim}" in namespace "${draft.namespaceName}"`, type: "invalid", actual: claim });
			}
			errors.push(...jointErrors(draft, image, this.settings.nodePortRange));
			const found = new Map<string, boolean>();
			for (const [i, m] of (draft.mounts ?? []).entries()) {
				// An optional one may be missing; one already mounted stays valid (a scale must not fail on it).
				if (m.optional || current?.mounts?.some(c => c.type === m.type && c.name === m.name)) continue;
				const kind = m.type === "configMap" ? "ConfigMap" : "Secret";
				const key = `${kind}/${m.name}`;
				if (!found.has(key)) found.set(key, Boolean(await kube.get({ apiVersion: "v1", kind, name: m.name, namespace: draft.namespaceName })));
				if (!found.get(key)) errors.push({ field: `mounts[${i}].name`, message: `No ${kind} "${m.name}" in namespace "${draft.namespaceName}" (an optional mount may name a missing one)`, type: "invalid", actual: m.name });
			}
			const account = serviceAccountName(draft, draft.serviceAccount);
			if (account && draft.serviceAccount && account !== "default") {
				const shared = Boolean(draft.serviceAccount.shared);
				const others = (await this.findRaw({ namespace: draft.namespace, deleting: { $ne: true } })).filter(d => d.id !== current?.id);
				// A shared account may be named by any number of deployments; a deployment's own by none other.
				const other = others.find(d => serviceAccountName(d, d.serviceAccount) === account && (!shared || !d.serviceAccount?.shared));
				if (other)
					errors.push({
						field: "serviceAccount.name",
						message: other.serviceAccount?.shared
							? `Service account "${account}" is shared in the namespace (deployment "${other.name}" uses it); name it with shared: true`
							: `Service account "${account}" is deployment "${other.name}"'s own`,
						type: "unique",
						actual: account,
					});
				else if (!shared) {
					const existing = await kube.get<V1ServiceAccount>({ apiVersion: "v1", kind: "ServiceAccount", name: account, namespace: draft.namespaceName });
					const ours = current !== undefined && existing?.metadata?.labels?.[LABEL_ID] === current.id;
					if (existing && !ours)
						errors.push({ field: "serviceAccount.name", message: `Service account "${account}" already exists in namespace "${draft.namespaceName}"; use it with shared: true`, type: "unique", actual: account });
				}
			}
			if (errors.length) throw invalid("Invalid deployment", errors);
			if (draft.vHosts.length) {
				const taken = await this.findRaw({ vHosts: { $in: draft.vHosts }, deleting: { $ne: true } });
				const other = taken.find(d => d.id !== current?.id);
				if (other) {
					const host = draft.vHosts.find(h => other.vHosts.includes(h));
					throw conflict(`Host "${host}" is already served by another deployment`, { field: "vHosts", host });
				}
			}
		},

		/**
		 * Refuses (422 QUOTA_EXCEEDED, with each shortfall) a change the namespace's quota cannot hold.
		 * `used` lags behind pods being created, so Berth's own bookkeeping of the namespace's other
		 * deployments is a floor for it. Returns one pod's footprint, stored for the next check.
		 */
		async checkQuota(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<Record<string, number>> {
			const perPod = podFootprint(podResources(image, draft.resources));
			let quota: QuotaReport;
			try {
				quota = await ctx.call<QuotaReport, { id: string; scope: boolean }>("v1.k8s.namespaces.resourcequota", { id: draft.namespace, scope: false });
			} catch (err) {
				if ((err as { code?: number }).code === 404) return perPod;
				throw err;
			}
			if (!quota?.hard || !Object.keys(quota.hard).length) return perPod;
			const others = (await this.findRaw({ namespace: draft.namespace, deleting: { $ne: true } })).filter(d => d.id !== current?.id);
			const used: Record<string, string> = { ...(quota.used ?? {}) };
			for (const resource of Object.keys(quota.hard)) {
				const booked = others.reduce((n, d) => n + d.replicas * (d.footprint?.[resource] ?? 0), 0);
				const reported = quota.used?.[resource];
				const reportedN = reported === undefined ? 0 : resource.includes("cpu") ? cpuMillis(reported) : resource.includes("memory") ? bytes(reported) : Number.parseFloat(reported);
				if (booked > reportedN) used[resource] = resource.includes("cpu") ? `${booked}m` : String(booked);
			}
			// Without our own bookkeeping of `current` in `used`, count it only when the quota's report includes it.
			const shortfalls = quotaShortfalls({ hard: quota.hard, used }, { replicas: draft.replicas, perPod }, current?.footprint ? { replicas: current.replicas, perPod: current.footprint } : undefined);
			if (shortfalls.length) {
				const reason = shortfalls.map(s => `${s.resource}: needs ${s.requested} more, ${s.used} of ${s.hard} already used`).join("; ");
				throw quotaExceeded(`The namespace's quota cannot hold this deployment (${reason})`, { namespace: draft.namespaceName, shortfalls });
			}
			return perPod;
		},

		/** The apiserver checks every manifest (server-side dry run) before anything is stored or applied. */
		async dryRun(this: DeploymentsThis, draft: StoredDeployment, image: CatalogImage): Promise<void> {
			const kube = getKubeClient();
			const dep = { ...draft, id: draft.id === "pending" ? "0" : draft.id };
			for (const m of jointManifests(dep, deploymentManifests({ deployment: dep, image }, this.settings.baseDomain))) {
				try {
					await kube.apply(m, { dryRun: true });
				} catch (err) {
					throw m.kind === "Service" ? nodePortError(err, m as V1Service, draft) : err;
				}
			}
		},

		async desiredManifests(this: DeploymentsThis, doc: StoredDeployment, image: CatalogImage, cache?: LiveCache): Promise<GeneratedObject[]> {
			const kube = getKubeClient();
			const names = objectNames(doc);
			const ref = { namespace: doc.namespaceName, name: names.env };
			const [cm, secret] = cache
				? [cache.get("ConfigMap", ref.namespace, ref.name) as V1ConfigMap | undefined, cache.get("Secret", ref.namespace, ref.name) as V1Secret | undefined]
				: await Promise.all([kube.get<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", ...ref }), kube.get<V1Secret>({ apiVersion: "v1", kind: "Secret", ...ref })]);
			// Only the env objects v1.k8s.envs wrote for this entity count.
			const mine = (o: KubernetesObject | undefined) => o && entityIdOf(o) === doc.id ? o : undefined;
			const envChecksum = mine(cm) || mine(secret) ? dataChecksum(mine(cm) ? (cm as V1ConfigMap).data : undefined, mine(secret) ? secretValues(secret) : undefined) : undefined;
			const configChecksum = doc.configMap ? dataChecksum(doc.configMap.data) : undefined;
			return jointManifests(doc, deploymentManifests({ deployment: doc, image, envChecksum, configChecksum }, this.settings.baseDomain));
		},

		/**
		 * Level-based: reads the entity, the catalog image and the env objects, applies what they add up
		 * to, deletes generated objects that are no longer wanted, and records the outcome as conditions.
		 */
		async reconcile(this: DeploymentsThis, id: string): Promise<{ requeueAfterMs?: number } | void> {
			const doc = await this.loadDoc(id);
			if (!doc) return;
			if (doc.deleting) return this.teardown(doc);
			const ctx = this.systemContext();
			const cache = this.liveCache();
			let live: V1Deployment | undefined;
			let service: V1Service | undefined;
			let fingerprint: string;
			try {
				const image = await this.resolveImage(ctx, doc.image);
				const manifests = await this.desiredManifests(doc, image, cache);
				fingerprint = manifestsFingerprint(manifests);
				// The watches and the resync mostly find everything as it should be: then the leader's
				// caches say so, and nothing is sent to the apiserver.
				const forced = this.forceApply.delete(id);
				const inCache = cache && !forced && doc.appliedFingerprint === fingerprint ? this.cachedWhenConverged(cache, doc, manifests) : undefined;
				if (inCache) ({ live, service } = inCache);
				else ({ live, service } = await this.applyAndPrune(doc, manifests));
			} catch (err) {
				const fresh = await this.loadDoc(id);
				if (fresh && !fresh.deleting)
					await this.writeStatus(fresh, withNodePorts(deploymentStatus(live, { ok: false, ...describe(err) }, fresh.status?.conditions, new Date().toISOString()), service ? assignedNodePorts(service) : fresh.status?.nodePorts));
				throw err;
			}
			// Level-based: if the entity changed while this pass applied an older version of it (a scale or
			// an env change racing a watch-triggered pass), converge again instead of leaving the stale apply.
			const after = await this.loadDoc(id);
			if (after && after.updatedAt !== doc.updatedAt) this.reconciler?.enqueue(id);
			await this.writeStatus(doc, withNodePorts(deploymentStatus(live, { ok: true }, doc.status?.conditions, new Date().toISOString()), assignedNodePorts(service)), fingerprint);
		},

		async applyAndPrune(this: DeploymentsThis, doc: StoredDeployment, manifests: GeneratedObject[]): Promise<{ live?: V1Deployment; service?: V1Service }> {
			const kube = getKubeClient();
			let live: V1Deployment | undefined;
			let service: V1Service | undefined;
			for (const m of manifests) {
				const applied = await kube.apply(m);
				if (m.kind === "Deployment") live = applied as V1Deployment;
				else if (m.kind === "Service") service = applied as V1Service;
			}
			const wanted = new Set(manifests.map(m => `${m.kind}/${m.metadata?.name}`));
			for (const kind of PRUNABLE_KINDS) {
				for (const obj of await kube.list(kind, { namespace: doc.namespaceName, labelSelector: ownedSelector(doc.id) })) {
					if (!wanted.has(`${kind.kind}/${obj.metadata?.name}`)) await kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name: obj.metadata?.name as string, namespace: doc.namespaceName });
				}
			}
			return { live, service };
		},

		/**
		 * The leader's watch caches, once every one of them has listed; undefined on other nodes (their
		 * actions apply through the apiserver, as they must: they have no view of the cluster).
		 */
		liveCache(this: DeploymentsThis): LiveCache | undefined {
			const byKind = this.syncedCaches();
			if (!byKind) return undefined;
			return {
				get: (kind, namespace, name) => byKind.get(kind)?.get(name, namespace),
				owned: (kind, namespace, id) => (byKind.get(kind)?.list(namespace) ?? []).filter(o => entityIdOf(o) === id && o.metadata?.labels?.["app.kubernetes.io/component"] === DEPLOYMENT_KIND),
			};
		},

		/**
		 * The live Deployment and Service when the caches hold every manifest as applied and nothing
		 * of the entity that is no longer wanted; undefined when anything differs (apply, then).
		 */
		cachedWhenConverged(this: DeploymentsThis, cache: LiveCache, doc: StoredDeployment, manifests: GeneratedObject[]): { live?: V1Deployment; service?: V1Service } | undefined {
			const found: KubernetesObject[] = [];
			for (const m of manifests) {
				const obj = cache.get(m.kind as string, doc.namespaceName, m.metadata?.name as string);
				if (!obj || obj.metadata?.deletionTimestamp || !containsDesired(bodyOf(m), obj)) return undefined;
				found.push(obj);
			}
			const wanted = new Set(manifests.map(m => `${m.kind}/${m.metadata?.name}`));
			for (const kind of PRUNABLE_KINDS) if (cache.owned(kind.kind, doc.namespaceName, doc.id).some(o => !wanted.has(`${kind.kind}/${o.metadata?.name}`))) return undefined;
			const at = (kind: string) => found[manifests.findIndex(m => m.kind === kind)];
			return { live: at("Deployment") as V1Deployment | undefined, service: at("Service") as V1Service | undefined };
		},

		/** Deletes every object generated for the entity (env objects too), then the entity. */
		async teardown(this: DeploymentsThis, doc: StoredDeployment): Promise<void> {
			const ctx = this.systemContext();
			if (this.hasService("v1.k8s.envs")) await ctx.call("v1.k8s.envs.clean", { deployment: doc.id, scope: false });
			const kube = getKubeClient();
			for (const selector of [ownedSelector(doc.id), ownedSelector(doc.id, ENV_KIND)])
				for (const kind of [...PRUNABLE_KINDS, Kinds.Secret])
					for (const obj of await kube.list(kind, { namespace: doc.namespaceName, labelSelector: selector }))
						await kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name: obj.metadata?.name as string, namespace: doc.namespaceName });
			const removed = await this.removeEntity(ctx, doc.id);
			this.reconciler?.forget(doc.id);
			if (removed) this.broker.emit("k8s.deployments.removed", this.publicView(doc));
		},

		async writeStatus(this: DeploymentsThis, doc: StoredDeployment, status: DeploymentStatus, appliedFingerprint?: string): Promise<void> {
			const newFingerprint = appliedFingerprint !== undefined && appliedFingerprint !== doc.appliedFingerprint;
			if (!statusChanged(doc.status, status) && !newFingerprint) return;
			await this.patchEntity(this.systemContext(), doc.id, newFingerprint ? { status, appliedFingerprint } : { status });
			if (status.phase !== doc.status?.phase) this.broker.emit("k8s.deployments.reconciled", { id: doc.id, name: doc.name, namespace: doc.namespace, status });
		},

		/** Validates a change against the references, the quota and the apiserver, stores it and applies it. */
		async applyChange(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, doc: StoredDeployment, changes: Partial<StoredDeployment>): Promise<DeploymentEntity> {
			const draft: StoredDeployment = { ...doc, ...changes };
			if ("configMap" in changes && changes.configMap === undefined) delete draft.configMap;
			if ("serviceAccount" in changes && changes.serviceAccount === undefined) delete draft.serviceAccount;
			const image = await this.resolveImage(ctx, draft.image);
			await this.validateReferences(ctx, draft, image, doc);
			const footprint = await this.checkQuota(ctx, draft, image, doc);
			await this.dryRun(draft, image);
			const set = encodeDoc({ ...changes, footprint });
			if ("configMap" in changes && changes.configMap === undefined) set.configMap = null;
			if ("serviceAccount" in changes && changes.serviceAccount === undefined) set.serviceAccount = null;
			await this.patchEntity(ctx, doc.id, set);
			await this.reconciler?.sync(doc.id).catch(err => this.logger.warn(`Applying deployment ${doc.id} failed; the reconciler retries:`, (err as Error).message));
			const entity = this.publicView((await this.loadDoc(doc.id)) as StoredDeployment);
			ctx.emit("k8s.deployments.updated", entity);
			return entity;
		},

		async podsOf(this: DeploymentsThis, doc: StoredDeployment): Promise<V1Pod[]> {
			const pods = await getKubeClient().list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: `${LABEL_ID}=${doc.id}` });
			return pods.filter(p => !p.metadata?.deletionTimestamp).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
		},

		async liveStatus(this: DeploymentsThis, doc: StoredDeployment): Promise<StatusView> {
			const kube = getKubeClient();
			const names = objectNames(doc);
			const [live, service] = await Promise.all([
				kube.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: names.deployment, namespace: doc.namespaceName }),
				kube.get<V1Service>({ apiVersion: "v1", kind: "Service", name: names.service, namespace: doc.namespaceName }),
			]);
			const applied = doc.status?.conditions.find(c => c.type === "Applied");
			const status = withNodePorts(deploymentStatus(live, { ok: applied?.status !== "False", reason: applied?.reason, message: applied?.message }, doc.status?.conditions, new Date().toISOString()), assignedNodePorts(service));
			return { id: doc.id, name: doc.name, namespace: doc.namespaceName, hosts: effectiveHosts(doc, this.settings.baseDomain), ...status };
		},

		/**
		 * The pods' logs as one text stream, each line prefixed with its pod when there are several.
		 * Ends when every pod's log ends, after maxSeconds, or when the reader goes away.
		 */
		async followLogs(this: DeploymentsThis, doc: StoredDeployment, pods: V1Pod[], params: LogsParams): Promise<Readable> {
			const out = new PassThrough();
			const kube = getKubeClient();
			const controllers: AbortController[] = [];
			let open = pods.length;
			let closed = false;
			const finish = () => {
				if (closed) return;
				closed = true;
				clearTimeout(timer);
				for (const c of controllers) c.abort();
				out.end();
			};
			const timer = setTimeout(finish, (params.maxSeconds ?? 3600) * 1000);
			timer.unref?.();
			out.on("close", finish);
			if (!pods.length) {
				out.end("No running pods to follow\n");
				clearTimeout(timer);
				return out;
			}
			for (const pod of pods) {
				const name = pod.metadata?.name as string;
				const prefix = pods.length > 1 ? `[${name}] ` : "";
				let partial = "";
				const sink = new Writable({
					write(chunk: Buffer, _enc, done) {
						if (closed) return done();
						const text = partial + chunk.toString("utf8");
						const lines = text.split("\n");
						partial = lines.pop() ?? "";
						if (lines.length) out.write(lines.map(l => `${prefix}${l}\n`).join(""));
						done();
					},
					final(done) {
						if (partial && !closed) out.write(`${prefix}${partial}\n`);
						if (--open === 0) finish();
						done();
					},
				});
				// client-node pipes the response into `sink` but leaves the response stream without an error
				// listener: aborting it (when the reader goes away) would otherwise be an uncaught error.
				sink.on("pipe", (source: Readable) => source.on("error", () => sink.end()));
				try {
					controllers.push(await kube.followLogs(doc.namespaceName, name, sink, { container: params.container, tailLines: params.tail, sinceSeconds: params.since as number | undefined }));
				} catch (err) {
					out.write(`${prefix}[berth: cannot follow ${name}: ${(err as Error).message}]\n`);
					if (--open === 0) finish();
				}
			}
			return out;
		},


		hasService(this: DeploymentsThis, name: string): boolean {
			return this.broker.registry.hasService(name, undefined as unknown as string);
		},
	},
	created(this: DeploymentsThis) {
		const config = loadConfig();
		this.settings.baseDomain = config.baseDomain;
		this.settings.resyncSeconds = config.resyncSeconds;
		this.settings.nodePortRange = config.nodePortRange;
		this.creating = new Set();
		this.forceApply = new Set();
	},
};

export default DeploymentsService;
