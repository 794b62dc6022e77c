/**
 * Adoption: a live Deployment that Berth did not make, turned into the params of a Berth
 * deployment entity, and the difference between the live object and what Berth would apply
 * instead. Pure: the inventory service reads the objects and calls the deployments service.
 *
 * Secret values never appear in anything this module returns for display: env vars read from a
 * Secret are shown by reference (`from`); their values are filled in only for the create call.
 */
import { ABSOLUTE_PATH, ENV_KEY } from "./api/rules";
import type { V1Container, V1Deployment, V1EnvVar, V1Volume } from "./k8s";
import type { DeploymentVolume, ImagePort, ResourceSpec } from "./manifests/deployment";
import type { ConfigMount, ServiceAccountRequest } from "./manifests/joint";
import { carriedProbes, type ProbeOverrides } from "./manifests/probes";

export interface EnvSource {
	kind: "ConfigMap" | "Secret";
	name: string;
	/** One key; left out for a whole object (`envFrom`). */
	key?: string;
	optional?: boolean;
	/** envFrom's prefix for every key. */
	prefix?: string;
}

/** One env var of the adopted deployment: a literal value, or a reference resolved at confirmation. */
export interface DerivedEnv {
	key: string;
	type?: "as-is" | "secret";
	/** Literal values only; Secret-sourced values are never shown. */
	value?: string;
	from?: EnvSource;
}

/** What a Berth deployment entity would be made of (v1.k8s.deployments.create params). */
export interface AdoptionSpec {
	name: string;
	/** The namespace's name. */
	namespace: string;
	/** The live container's image reference; the catalog entry is looked up from it. */
	image: string;
	replicas: number;
	ports?: ImagePort[];
	env?: DerivedEnv[];
	/** Whole ConfigMaps and Secrets read as env (expanded into `env` at confirmation). */
	envFrom?: EnvSource[];
	volumes?: DeploymentVolume[];
	resources?: ResourceSpec;
	mounts?: ConfigMount[];
	serviceAccount?: ServiceAccountRequest;
	probes?: ProbeOverrides;
}

/** Something of the live object the Berth deployment will not have, or will have differently. */
export interface AdoptionNote {
	field: string;
	message: string;
}

export interface Derivation {
	spec: AdoptionSpec;
	notes: AdoptionNote[];
	/** The adopted container's name. */
	container: string;
}

/** Pod and container settings a Berth deployment has no field for: dropped, and said so. */
const UNCARRIED_POD_FIELDS = [
	"initContainers",
	"nodeSelector",
	"affinity",
	"tolerations",
	"securityContext",
	"hostNetwork",
	"hostPID",
	"priorityClassName",
	"topologySpreadConstraints",
	"runtimeClassName",
	"hostAliases",
	"dnsConfig",
] as const;
const UNCARRIED_CONTAINER_FIELDS = ["lifecycle", "securityContext", "workingDir"] as const;

function present(value: unknown): boolean {
	if (value === undefined || value === null || value === false) return false;
	if (Array.isArray(value)) return value.length > 0;
	if (typeof value === "object") return Object.keys(value).length > 0;
	return true;
}

function portsOf(c: V1Container, notes: AdoptionNote[]): ImagePort[] | undefined {
	const seen = new Set<string>();
	const ports: ImagePort[] = [];
	for (const p of c.ports ?? []) {
		const protocol = (p.protocol ?? "TCP") as ImagePort["protocol"];
		const key = `${p.containerPort}/${protocol}`;
		if (seen.has(key)) continue;
		seen.add(key);
		if (p.hostPort) notes.push({ field: `ports[${key}].hostPort`, message: `hostPort ${p.hostPort} is not carried over` });
		ports.push({ ...(p.name ? { name: p.name } : {}), port: p.containerPort, protocol });
	}
	// Berth's Service needs every port named once there are several.
	if (ports.length > 1) {
		const names = new Set(ports.map(p => p.name).filter(Boolean));
		for (const p of ports) {
			if (p.name) continue;
			let name = `port-${p.port}`.slice(0, 15);
			if (names.has(name)) name = `p${p.port}-${(p.protocol ?? "TCP").toLowerCase()}`.slice(0, 15);
			p.name = name;
			names.add(name);
		}
	}
	return ports.length ? ports : undefined;
}

function envOf(c: V1Container, notes: AdoptionNote[]): { env?: DerivedEnv[]; envFrom?: EnvSource[] } {
	const env: DerivedEnv[] = [];
	for (const e of c.env ?? []) {
		if (!ENV_KEY.test(e.name)) {
			notes.push({ field: `env[${e.name}]`, message: "Not a portable env var name; dropped" });
			continue;
		}
		const item = envItem(e);
		if (item) env.push(item);
		else notes.push({ field: `env[${e.name}]`, message: "Set from the pod's own fields (fieldRef/resourceFieldRef), which Berth envs cannot express; dropped" });
	}
	const envFrom: EnvSource[] = [];
	for (const src of c.envFrom ?? []) {
		const prefix = src.prefix ? { prefix: src.prefix } : {};
		if (src.configMapRef?.name) envFrom.push({ kind: "ConfigMap", name: src.configMapRef.name, ...(src.configMapRef.optional ? { optional: true } : {}), ...prefix });
		else if (src.secretRef?.name) envFrom.push({ kind: "Secret", name: src.secretRef.name, ...(src.secretRef.optional ? { optional: true } : {}), ...prefix });
	}
	return { ...(env.length ? { env } : {}), ...(envFrom.length ? { envFrom } : {}) };
}

function envItem(e: V1EnvVar): DerivedEnv | undefined {
	if (e.valueFrom?.secretKeyRef) {
		const ref = e.valueFrom.secretKeyRef;
		return { key: e.name, type: "secret", from: { kind: "Secret", name: ref.name ?? "", key: ref.key, ...(ref.optional ? { optional: true } : {}) } };
	}
	if (e.valueFrom?.configMapKeyRef) {
		const ref = e.valueFrom.configMapKeyRef;
		return { key: e.name, type: "as-is", from: { kind: "ConfigMap", name: ref.name ?? "", key: ref.key, ...(ref.optional ? { optional: true } : {}) } };
	}
	if (e.valueFrom) return undefined;
	return { key: e.name, type: "as-is", value: e.value ?? "" };
}

function resourcesOf(c: V1Container, notes: AdoptionNote[]): ResourceSpec | undefined {
	const out: ResourceSpec = {};
	for (const section of ["limits", "requests"] as const) {
		const amounts = c.resources?.[section] ?? {};
		for (const [resource, amount] of Object.entries(amounts)) {
			if (resource !== "cpu" && resource !== "memory") {
				notes.push({ field: `resources.${section}.${resource}`, message: `${resource} is not carried over (Berth sets cpu and memory)` });
				continue;
			}
			(out[section] ??= {})[resource] = String(amount);
		}
	}
	return Object.keys(out).length ? out : undefined;
}

function volumesOf(c: V1Container, podVolumes: V1Volume[], notes: AdoptionNote[]): { volumes?: DeploymentVolume[]; mounts?: ConfigMount[] } {
	const byName = new Map(podVolumes.map(v => [v.name, v]));
	const volumes: DeploymentVolume[] = [];
	const mounts: ConfigMount[] = [];
	const used = new Set<string>();
	const uniqueName = (name: string) => {
		let candidate = name;
		for (let i = 2; used.has(candidate); i++) candidate = `${name.slice(0, 60)}-${i}`;
		used.add(candidate);
		return candidate;
	};
	for (const m of c.volumeMounts ?? []) {
		const v = byName.get(m.name);
		const field = `volumeMounts[${m.name}:${m.mountPath}]`;
		if (!v) continue;
		if (!ABSOLUTE_PATH.test(m.mountPath)) {
			notes.push({ field, message: `Mount path "${m.mountPath}" is not an absolute path Berth accepts; dropped` });
			continue;
		}
		const readOnly = m.readOnly ? { readOnly: true } : {};
		const subPath = m.subPath ? { subPath: m.subPath } : {};
		if (v.persistentVolumeClaim) {
			volumes.push({ name: uniqueName(m.name), type: "persistentVolumeClaim", mountPath: m.mountPath, persistentVolumeClaim: { claimName: v.persistentVolumeClaim.claimName }, ...readOnly, ...subPath });
		} else if (v.emptyDir) {
			if (present(v.emptyDir.medium) || present(v.emptyDir.sizeLimit)) notes.push({ field, message: "emptyDir medium and sizeLimit are not carried over" });
			volumes.push({ name: uniqueName(m.name), type: "emptyDir", mountPath: m.mountPath, ...readOnly, ...subPath });
		} else if (v.configMap?.name || v.secret?.secretName) {
			const items = v.configMap?.items ?? v.secret?.items;
			if (items?.length) notes.push({ field, message: "Only some keys (items) are mounted live; Berth mounts every key (or the one subPath)" });
			const optional = v.configMap?.optional || v.secret?.optional ? { optional: true } : {};
			const mount: ConfigMount = v.configMap
				? { type: "configMap", name: v.configMap.name as string, mountPath: m.mountPath }
				: { type: "secret", name: v.secret?.secretName as string, mountPath: m.mountPath };
			// Kubernetes mounts ConfigMaps and Secrets read-only whatever the mount says.
			mounts.push({ ...mount, ...subPath, readOnly: true, ...optional });
		} else {
			const type = Object.keys(v).find(k => k !== "name") ?? "unknown";
			notes.push({ field, message: `A ${type} volume is not carried over (Berth mounts claims, emptyDirs, ConfigMaps and Secrets)` });
		}
	}
	return { ...(volumes.length ? { volumes } : {}), ...(mounts.length ? { mounts } : {}) };
}

/** The params of a Berth deployment that runs what `live` runs, and what it cannot carry over. */
export function deriveAdoption(live: V1Deployment): Derivation {
	const notes: AdoptionNote[] = [];
	const pod = live.spec?.template?.spec;
	const containers = pod?.containers ?? [];
	const c = containers[0];
	if (!c) throw new Error("The Deployment has no container");
	for (const other of containers.slice(1)) notes.push({ field: `containers[${other.name}]`, message: `Berth deployments run one container: "${other.name}" (${other.image}) is not carried over` });
	for (const f of UNCARRIED_POD_FIELDS) if (present(pod?.[f])) notes.push({ field: `spec.template.spec.${f}`, message: "Not carried over" });
	for (const f of UNCARRIED_CONTAINER_FIELDS) if (present(c[f])) notes.push({ field: `containers[${c.name}].${f}`, message: "Not carried over" });
	if (present(c.command) || present(c.args)) notes.push({ field: `containers[${c.name}].command`, message: "Command and args come from the catalog image" });

	const spec: AdoptionSpec = {
		name: live.metadata?.name ?? "",
		namespace: live.metadata?.namespace ?? "",
		image: c.image ?? "",
		replicas: live.spec?.replicas ?? 1,
	};
	const ports = portsOf(c, notes);
	if (ports) spec.ports = ports;
	Object.assign(spec, envOf(c, notes));
	Object.assign(spec, volumesOf(c, pod?.volumes ?? [], notes));
	const resources = resourcesOf(c, notes);
	if (resources) spec.resources = resources;
	spec.probes = carriedProbes(c, notes);
	const account = pod?.serviceAccountName ?? pod?.serviceAccount;
	if (account && account !== "default") {
		spec.serviceAccount = { name: account, shared: true };
		if (pod?.automountServiceAccountToken !== undefined) spec.serviceAccount.automountToken = pod.automountServiceAccountToken;
	}
	return { spec, notes, container: c.name };
}

/** Catalog lookups for a container image: as written, then without Docker Hub's implicit parts. */
export function imageCandidates(ref: string): string[] {
	const out = [ref];
	const bare = ref.replace(/^docker\.io\//, "").replace(/^index\.docker\.io\//, "");
	if (bare !== ref) out.push(bare);
	if (bare.startsWith("library/")) out.push(bare.slice("library/".length));
	return Array.from(new Set(out));
}

// ---------------------------------------------------------------------------------------------
// Env: references resolved into values (for the create call) or into key names (for display).

/** The data of the ConfigMaps and Secrets env vars read: `"Secret/name"` → key → value (or undefined when only keys are known). */
export type EnvObjects = Map<string, Record<string, string | undefined>>;

export function envObjectKey(kind: EnvSource["kind"], name: string): string {
	return `${kind}/${name}`;
}

/** Every ConfigMap and Secret the env vars read. */
export function envReferences(spec: Pick<AdoptionSpec, "env" | "envFrom">): EnvSource[] {
	const refs = new Map<string, EnvSource>();
	for (const e of spec.env ?? []) if (e.from) refs.set(envObjectKey(e.from.kind, e.from.name), { kind: e.from.kind, name: e.from.name });
	for (const src of spec.envFrom ?? []) refs.set(envObjectKey(src.kind, src.name), { kind: src.kind, name: src.name });
	return [...refs.values()];
}

/**
 * The env as Berth will hold it: envFrom sources expanded key by key (later sources win, and
 * explicit env vars win over all of them, as in Kubernetes), references filled in from `objects`.
 * A reference to a missing key or object is dropped (with a note) unless it was optional.
 */
export function resolveEnv(spec: Pick<AdoptionSpec, "env" | "envFrom">, objects: EnvObjects): { env: DerivedEnv[]; notes: AdoptionNote[] } {
	const notes: AdoptionNote[] = [];
	const out = new Map<string, DerivedEnv>();
	for (const src of spec.envFrom ?? []) {
		const data = objects.get(envObjectKey(src.kind, src.name));
		if (!data) {
			if (!src.optional) notes.push({ field: `envFrom[${src.kind}/${src.name}]`, message: `${src.kind} "${src.name}" does not exist; its env vars are left out` });
			continue;
		}
		for (const [k, v] of Object.entries(data)) {
			const key = `${src.prefix ?? ""}${k}`;
			if (!ENV_KEY.test(key)) {
				notes.push({ field: `envFrom[${src.kind}/${src.name}].${k}`, message: "Not a portable env var name; dropped" });
				continue;
			}
			out.set(key, { key, type: src.kind === "Secret" ? "secret" : "as-is", from: { kind: src.kind, name: src.name, key: k }, ...(v !== undefined ? { value: v } : {}) });
		}
	}
	for (const e of spec.env ?? []) {
		if (!e.from) {
			out.set(e.key, e);
			continue;
		}
		const data = objects.get(envObjectKey(e.from.kind, e.from.name));
		const key = e.from.key as string;
		if (!data || !(key in data)) {
			out.delete(e.key);
			if (!e.from.optional) notes.push({ field: `env[${e.key}]`, message: `${e.from.kind} "${e.from.name}" has no key "${key}"; the env var is left out` });
			continue;
		}
		const v = data[key];
		out.set(e.key, { ...e, ...(v !== undefined ? { value: v } : {}) });
	}
	return { env: [...out.values()], notes };
}

/** Env for display: Secret-sourced values removed whatever happened before. */
export function publicEnv(env: DerivedEnv[]): DerivedEnv[] {
	return env.map(e => {
		if (e.type !== "secret" && e.from?.kind !== "Secret") return e;
		const { value: _value, ...rest } = e;
		return rest;
	});
}

/** Env for v1.k8s.deployments.create: `{key, value, type}`, values required. */
export function createEnv(env: DerivedEnv[]): { key: string; value: string; type: "as-is" | "secret" }[] {
	return env.filter(e => e.value !== undefined).map(e => ({ key: e.key, value: e.value as string, type: e.type ?? "as-is" }));
}

// ---------------------------------------------------------------------------------------------
// The diff

export interface Change {
	/** Where, in the Deployment: `spec.template.spec.containers.web.image`, `metadata.labels["app.kubernetes.io/name"]`. */
	path: string;
	/** Absent: the field is added. */
	live?: unknown;
	/** Absent: the field goes. */
	desired?: unknown;
}

type Json = Record<string, unknown>;

function compact(value: unknown): unknown {
	if (Array.isArray(value)) {
		const items = value.map(compact).filter(v => v !== undefined);
		return items.length ? items : undefined;
	}
	if (value && typeof value === "object" && !(value instanceof Date)) {
		const out: Json = {};
		for (const key of Object.keys(value).sort()) {
			const v = compact((value as Json)[key]);
			if (v !== undefined) out[key] = v;
		}
		return Object.keys(out).length ? out : undefined;
	}
	return value === null ? undefined : value;
}

function byName<T extends { name: string }>(items: T[] | undefined, project: (item: T) => unknown): Json | undefined {
	if (!items?.length) return undefined;
	return Object.fromEntries(items.map(i => [i.name, project(i)]));
}

function projectVolume(v: V1Volume): unknown {
	const { name: _name, ...source } = v;
	const out = JSON.parse(JSON.stringify(source)) as Json;
	// The apiserver's default file mode: not a difference anyone chose.
	for (const kind of ["configMap", "secret"]) if ((out[kind] as Json | undefined)?.defaultMode === 420) delete (out[kind] as Json).defaultMode;
	return out;
}

function projectContainer(c: V1Container): unknown {
	return {
		image: c.image,
		command: c.command,
		args: c.args,
		ports: (c.ports ?? []).map(p => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? "TCP" })).sort((a, b) => a.containerPort - b.containerPort),
		env: c.env,
		envFrom: c.envFrom,
		resources: c.resources,
		volumeMounts: c.volumeMounts,
	};
}

/** The parts of a Deployment a Berth deployment decides, without the apiserver's defaults. */
export function projectDeployment(d: V1Deployment): Json {
	const pod = d.spec?.template?.spec;
	return (compact({
		metadata: { labels: d.metadata?.labels },
		spec: {
			replicas: d.spec?.replicas ?? 1,
			selector: d.spec?.selector,
			template: {
				metadata: { labels: d.spec?.template?.metadata?.labels },
				spec: {
					serviceAccountName: pod?.serviceAccountName && pod.serviceAccountName !== "default" ? pod.serviceAccountName : undefined,
					automountServiceAccountToken: pod?.automountServiceAccountToken,
					imagePullSecrets: pod?.imagePullSecrets,
					volumes: byName(pod?.volumes, projectVolume),
					initContainers: byName(pod?.initContainers, projectContainer),
					containers: byName(pod?.containers, projectContainer),
				},
			},
		},
	}) ?? {}) as Json;
}

function segment(key: string): string {
	return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function isPlainObject(v: unknown): v is Json {
	return Boolean(v) && typeof v === "object" && !Array.isArray(v);
}

/** Leaf-level differences between two JSON values; arrays compare whole. */
export function diffValues(live: unknown, desired: unknown, path = ""): Change[] {
	if (isPlainObject(live) && isPlainObject(desired)) {
		const keys = Array.from(new Set([...Object.keys(live), ...Object.keys(desired)])).sort();
		return keys.flatMap(k => diffValues(live[k], desired[k], `${path}${segment(k)}`));
	}
	if (JSON.stringify(live) === JSON.stringify(desired)) return [];
	const change: Change = { path: path.replace(/^\./, "") };
	if (live !== undefined) change.live = live;
	if (desired !== undefined) change.desired = desired;
	return [change];
}

/** What applying `desired` in place of `live` changes, field by field. */
export function deploymentDiff(live: V1Deployment, desired: V1Deployment): Change[] {
	return diffValues(projectDeployment(live), projectDeployment(desired));
}

/** Whether a Service's selector picks pods with these labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
	if (!selector || !Object.keys(selector).length) return false;
	return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
