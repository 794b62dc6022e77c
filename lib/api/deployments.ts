/**
 * v1.k8s.deployments' contract: the params and views of its actions and their validator rules.
 * The service, the typed client and the CLI import them from here.
 */
import { ABSOLUTE_PATH, DATA_KEY, DNS1035, DNS1123_LABEL, DNS1123_SUBDOMAIN, ENV_KEY, HOST, idRule, integerRule, objectList, pageRules, refRule, type PageParams } from "./rules";

export type { IdParams } from "./rules";
export type { NamespaceRef, QuotaReport } from "./namespaces";

export type * from "./deployment-model";
import { mountsRule, type MountParam } from "./mounts";
import type { AutoscaleSpec, DeploymentConfigMap, DeploymentStatus, DeploymentVolume, ImagePort, JointSpec, ManifestObject, PodState, ProbeOverrides, ResourceSpec, TlsSpec } from "./deployment-model";
import { probeOverrideRule } from "./probes";

// ---------------------------------------------------------------------------------------------
// Joint management's rules, spread into create and update.

export { mountsRule };
export type { MountParam };

export const nodePortsRule = objectList(
	{
		port: { type: "multi", rules: [{ type: "number", integer: true, min: 1, max: 65535 }, { type: "string", pattern: DNS1123_LABEL, max: 15 }] },
		// The apiserver checks its --service-node-port-range (30000-32767 unless configured).
		nodePort: { type: "number", integer: true, min: 1, max: 65535, optional: true },
	},
	{ optional: true, max: 20 },
);

export const serviceAccountRule = {
	type: "object",
	optional: true,
	nullable: true,
	strict: true,
	props: {
		name: { type: "string", pattern: DNS1123_SUBDOMAIN, max: 253, optional: true },
		shared: { type: "boolean", optional: true },
		automountToken: { type: "boolean", optional: true },
	},
} as const;

/** Spread into the deployments service's create and update params. */
export const jointParams = { mounts: mountsRule, nodePorts: nodePortsRule, serviceAccount: serviceAccountRule } as const;

// ---------------------------------------------------------------------------------------------
// Params and views


export interface EnvParam {
	key: string;
	value?: string;
	type?: "as-is" | "secret";
}

/** The seed's deployment schema, and joint management's `mounts`, `nodePorts` and `serviceAccount`. */
export interface CreateDeploymentParams extends Omit<JointSpec, "mounts"> {
	/** As sent: entity refs and aliases (lib/api/mounts.ts); Berth's stored form once the service's hook has run. */
	mounts?: MountParam[];
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
	/** Replace (or with `false` turn off) the image's readiness, liveness and startup probes. */
	probes?: ProbeOverrides;
	/** HTTPS on the Ingress: `true` (a certificate from TLS_ISSUER) or `{secretName}`. */
	tls?: TlsSpec;
	/** Annotations of the Ingress, from the keys INGRESS_ANNOTATIONS_ALLOWED lists. */
	annotations?: Record<string, string>;
	/** An HPA between minReplicas and maxReplicas; while set, `replicas` is not applied. */
	autoscale?: AutoscaleSpec;
}

/** The params an update clears with `null` (and replaces as a whole when given). */
export const CLEARABLE_FIELDS = ["probes", "tls", "annotations", "autoscale"] as const;
type Clearable = { [K in (typeof CLEARABLE_FIELDS)[number]]?: CreateDeploymentParams[K] | null };

export type UpdateDeploymentParams = { id: string } & Partial<Omit<CreateDeploymentParams, "name" | "namespace" | "env" | "configMap" | (typeof CLEARABLE_FIELDS)[number]>> & { configMap?: DeploymentConfigMap | null } & Clearable;

/** The params that replace a stored field as a whole when given (`[]` and `null` clear it). */
export const REPLACED_FIELDS = ["replicas", "vHosts", "volumes", "resources", "ports", "mounts", "nodePorts"] as const;

export interface ListParams extends PageParams {
	namespace?: string;
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
	manifests: ManifestObject[];
}

// ---------------------------------------------------------------------------------------------
// Validator rules

/** Longest name: "<name>-service" must stay within 63 characters. */
export const MAX_NAME = 55;
export const MAX_CONFIG_BYTES = 512 * 1024;

/** An optional list (at most `max`) of objects with exactly `props`. */
function listOf<P extends Record<string, unknown>>(props: P, max = 20) {
	return objectList(props, { optional: true, max });
}

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
const volumesRule = listOf({
	name: { type: "string", pattern: DNS1123_LABEL, max: 63 },
	type: { type: "enum", values: ["persistentVolumeClaim", "emptyDir"] },
	mountPath: { type: "string", pattern: ABSOLUTE_PATH, max: 1024 },
	persistentVolumeClaim: { type: "object", optional: true, strict: true, props: { claimName: { type: "string", pattern: DNS1123_SUBDOMAIN, max: 253 } } },
	readOnly: { type: "boolean", optional: true },
	subPath: { type: "string", optional: true, max: 1024, pattern: /^[^/].*$/ },
});
const configMapRule = {
	type: "object",
	optional: true,
	nullable: true,
	strict: true,
	props: {
		name: { type: "string", pattern: DNS1123_LABEL, max: 63 },
		data: { type: "record", key: { type: "string", pattern: DATA_KEY, max: 253 }, value: { type: "string", max: MAX_CONFIG_BYTES } },
		mountPath: { type: "string", optional: true, pattern: ABSOLUTE_PATH, max: 1024 },
	},
} as const;
const portsRule = listOf({
	name: { type: "string", optional: true, pattern: DNS1123_LABEL, max: 15 },
	port: { type: "number", integer: true, min: 1, max: 65535, convert: true },
	protocol: { type: "enum", optional: true, values: ["TCP", "UDP", "SCTP"] },
	expose: { type: "enum", optional: true, values: ["public", "cluster"] },
});
const probesRule = {
	type: "object",
	optional: true,
	strict: true,
	props: { readiness: probeOverrideRule, liveness: probeOverrideRule, startup: probeOverrideRule },
} as const;
const tlsRule = {
	type: "multi",
	optional: true,
	rules: [
		{ type: "equal", value: true, strict: true },
		{ type: "object", strict: true, props: { secretName: { type: "string", pattern: DNS1123_SUBDOMAIN, max: 253 } } },
	],
} as const;
/** Annotation keys as Kubernetes allows them (an optional DNS prefix and a name); which ones, the admin decides. */
const annotationsRule = {
	type: "record",
	optional: true,
	key: { type: "string", pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, max: 317 },
	value: { type: "string", max: 4096 },
} as const;
const autoscaleRule = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		minReplicas: { type: "number", integer: true, min: 1, max: 100 },
		maxReplicas: { type: "number", integer: true, min: 1, max: 100 },
		cpu: { type: "number", integer: true, min: 1, max: 1000, optional: true },
		memory: { type: "number", integer: true, min: 1, max: 1000, optional: true },
	},
} as const;
const nullable = <R extends object>(rule: R) => ({ ...rule, nullable: true }) as R & { nullable: true };
/** Spread into create (unset: none) and, clearable with `null`, into update. */
const workloadParams = { probes: probesRule, tls: tlsRule, annotations: annotationsRule, autoscale: autoscaleRule } as const;
const vHostsRule = { type: "array", optional: true, max: 20, unique: true, items: { type: "string", pattern: HOST, max: 253 } } as const;
const replicasRule = integerRule(0, 100);
const envRule = listOf(
	{
		key: { type: "string", pattern: ENV_KEY, max: 253 },
		value: { type: "string", optional: true, max: 64 * 1024 },
		type: { type: "enum", optional: true, values: ["as-is", "secret"] },
	},
	200,
);

export const createParams = {
	name: { type: "string", pattern: DNS1035, min: 1, max: MAX_NAME },
	namespace: refRule,
	image: { type: "string", min: 1, max: 255 },
	replicas: replicasRule,
	vHosts: vHostsRule,
	volumes: volumesRule,
	configMap: configMapRule,
	env: envRule,
	resources: resourcesRule,
	ports: portsRule,
	...workloadParams,
	...jointParams,
};

export const updateParams = {
	id: idRule,
	image: { type: "string", min: 1, max: 255, optional: true },
	replicas: replicasRule,
	vHosts: vHostsRule,
	volumes: volumesRule,
	configMap: configMapRule,
	resources: resourcesRule,
	ports: portsRule,
	probes: nullable(probesRule),
	tls: nullable(tlsRule),
	annotations: nullable(annotationsRule),
	autoscale: nullable(autoscaleRule),
	...jointParams,
};

export const listParams = { namespace: { ...refRule, optional: true }, ...pageRules };
export const lookupParams = { ref: refRule, namespace: { ...refRule, optional: true } };
export const idParams = { id: idRule };
export const scaleParams = { id: idRule, replicas: integerRule(0, 100, false) };
export const logsParams = {
	id: idRule,
	pod: { type: "string", optional: true, max: 253 },
	container: { type: "string", optional: true, max: 63 },
	tail: integerRule(1, 10_000),
	since: { type: "multi", optional: true, rules: [{ type: "number", integer: true, min: 1 }, { type: "string", max: 16 }] },
	follow: { type: "boolean", optional: true, convert: true },
	maxSeconds: integerRule(1, 24 * 3600),
};
