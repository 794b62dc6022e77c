/**
 * Every rule about a deployment's fields that needs nothing but the fields (and the catalog image
 * they name): pure, each failure on its field. What needs the cluster or the store is in
 * references.ts.
 */
import type { CreateDeploymentParams, UpdateDeploymentParams } from "../api/deployments";
import { MAX_CONFIG_BYTES } from "../api/deployments";
import type { NamespaceRef, QuotaReport } from "../api/namespaces";
import { invalid, invalidField, type FieldError } from "../errors";
import type { V1Service } from "../k8s";
import { effectivePorts, invalidResourceFields, podFootprint, podResources, resolveConfigMountPath, type CatalogImage, type DeploymentConfigMap, type DeploymentEntity, type DeploymentStatus } from "../manifests/deployment";
import { generatedNames, type GeneratedName } from "../manifests/model";
import { jointProblems, mountVolumeName, type ConfigMount, type JointSpec } from "../manifests/joint";
import { describeShortfalls, quotaShortfalls, scaledNeed, sumBookings, withBookedFloor, type QuotaShortfall } from "../quota";
import { bookedReplicas } from "./autoscale";
import type { StoredDeployment } from "./store";

/** The entity a create's params describe, before anything is checked against the cluster or stored. */
export function draftOf(p: CreateDeploymentParams, of: { id: string; namespace: NamespaceRef; image: CatalogImage; owner: string; members: string[] }): StoredDeployment {
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
		// Entity refs and aliases were resolved by the service's before hook (lib/deployments/mounts.ts).
		mounts: p.mounts as ConfigMount[] | undefined,
		nodePorts: p.nodePorts,
		serviceAccount: p.serviceAccount ?? undefined,
		probes: p.probes,
		tls: p.tls,
		annotations: p.annotations,
		autoscale: p.autoscale,
		owner: of.owner,
		members: of.members,
	};
}

/** What checkShape reads: a create's params or an update's (where `null` clears a field). */
type ShapeParams = Omit<UpdateDeploymentParams, "id"> & Partial<Pick<CreateDeploymentParams, "name" | "env">>;

function volumeErrors(p: ShapeParams, errors: FieldError[]): void {
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
	if (!p.configMap) return;
	if (names.has(p.configMap.name)) errors.push({ field: "configMap.name", message: `"${p.configMap.name}" is also a volume's name`, type: "unique", actual: p.configMap.name });
	if (p.configMap.mountPath && paths.has(p.configMap.mountPath)) errors.push({ field: "configMap.mountPath", message: `Mount path "${p.configMap.mountPath}" is also a volume's`, type: "unique" });
	const size = Object.entries(p.configMap.data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
	if (size > MAX_CONFIG_BYTES) errors.push({ field: "configMap.data", message: `configMap.data may hold at most ${MAX_CONFIG_BYTES} bytes`, type: "max", actual: size });
	if (p.name && `${p.name}-${p.configMap.name}`.length > 253) errors.push({ field: "configMap.name", message: "configMap.name is too long", type: "max" });
	if (p.name) errors.push(...ownNameClashes({ name: p.name, configMap: p.configMap }));
}

function sameObject(a: GeneratedName, b: GeneratedName): boolean {
	return a.kind === b.kind && a.name === b.name;
}

/** Objects a deployment would generate twice under one name (configMap.name "env" is its env ConfigMap's). */
export function ownNameClashes(dep: Pick<DeploymentEntity, "name" | "configMap" | "serviceAccount">): FieldError[] {
	const names = generatedNames(dep);
	return names
		.filter((n, i) => names.findIndex(m => sameObject(m, n)) < i)
		.map(n => ({ field: n.field, message: `${n.kind} "${n.name}" would be generated twice: choose another ${n.field}`, type: "unique", actual: n.name }));
}

/**
 * The objects `draft` would generate under a name another deployment of the namespace generates
 * (deployment "w" with configMap.name "v-env" and deployment "w-v" both make ConfigMap "w-v-env"),
 * each with the draft's field at fault.
 */
export function nameCollisions(draft: Pick<DeploymentEntity, "name" | "configMap" | "serviceAccount">, others: Pick<DeploymentEntity, "name" | "configMap" | "serviceAccount">[]): GeneratedName[] {
	const theirs = others.flatMap(o => generatedNames(o));
	return generatedNames(draft).filter(n => theirs.some(t => sameObject(t, n)));
}

/** Checks the fastest-validator schema cannot express; every failure names its field. */
export function checkShape(p: ShapeParams): void {
	const errors: FieldError[] = [];
	for (const field of invalidResourceFields(p.resources)) errors.push({ field, message: `${field} must be a positive number (catalog units: millicores, Mi) or a Kubernetes quantity`, type: "invalid" });
	volumeErrors(p, errors);
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
export function jointErrors(
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

/** 422 with joint management's problems of a draft (what `generate` checks). */
export function checkJoint(draft: StoredDeployment, image: CatalogImage, nodePortRange: [number, number]): void {
	const errors = jointErrors(draft, image, nodePortRange);
	if (errors.length) throw invalid("Invalid deployment", errors);
}

/**
 * A configMap without a mountPath that would mount where a volume is. (Which hosts the deployment
 * may serve is lib/namespaces/domains.ts's rule, checked with the namespace's grants in references.ts.)
 */
export function placementErrors(draft: StoredDeployment, image: CatalogImage): FieldError[] {
	const errors: FieldError[] = [];
	if (draft.configMap && !draft.configMap.mountPath) {
		const path = resolveConfigMountPath(draft, image);
		const clash = draft.volumes.findIndex(v => v.mountPath === path);
		if (clash >= 0) errors.push({ field: "configMap.mountPath", message: `The configMap would mount at ${path}, where volumes[${clash}] is mounted; give configMap.mountPath`, type: "unique" });
	}
	return errors;
}

/**
 * The apiserver's refusal of a node port (one another Service has) as a 422 on the `nodePorts`
 * entry that asked for it; anything else unchanged. Its dry run does not check the range.
 */
export function nodePortError(err: unknown, service: V1Service, dep: JointSpec): unknown {
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
export function withNodePorts(status: DeploymentStatus, nodePorts: DeploymentStatus["nodePorts"]): DeploymentStatus {
	return nodePorts?.length ? { ...status, nodePorts } : status;
}

/** One pod's share of the quota: what the image and the deployment's resources ask for. */
export function footprintOf(image: CatalogImage, resources: DeploymentEntity["resources"]): Record<string, number> {
	return podFootprint(podResources(image, resources));
}

/**
 * What does not fit when the deployment goes from `current` to `draft` (pods of `perPod`), with
 * what the namespace's `others` and `current` itself have booked as a floor under the quota's
 * `used` (which lags behind pods being created). Without a footprint of `current`, it counts only
 * when the quota reports it.
 */
export function deploymentShortfalls(quota: QuotaReport, draft: StoredDeployment, perPod: Record<string, number>, others: StoredDeployment[], current?: StoredDeployment): QuotaShortfall[] {
	const booked = sumBookings([...others, ...(current ? [current] : [])].map(d => scaledNeed({ replicas: bookedReplicas(d), perPod: d.footprint ?? {} })));
	const need = scaledNeed({ replicas: bookedReplicas(draft), perPod }, current?.footprint ? { replicas: bookedReplicas(current), perPod: current.footprint } : undefined);
	return quotaShortfalls(withBookedFloor(quota, booked), need);
}

/** The 422 QUOTA_EXCEEDED message of `shortfalls`. */
export function quotaMessage(shortfalls: QuotaShortfall[]): string {
	return `The namespace's quota cannot hold this deployment (${describeShortfalls(shortfalls)})`;
}

/** "90", 90, "10m", "2h" → seconds. */
export function parseSince(since: number | string | undefined): number | undefined {
	if (since === undefined || since === "") return undefined;
	if (typeof since === "number") return since;
	const m = /^(\d+)([smhd]?)$/.exec(since.trim());
	if (!m) throw invalidField("since", 'since is a number of seconds or a duration such as "90s", "10m", "2h", "1d"', since);
	return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
}
