import { createHash } from "node:crypto";
import type { FieldError } from "../errors";
import type { KubernetesObject, V1Deployment, V1Service, V1ServiceAccount, V1Volume, V1VolumeMount } from "../k8s";
import { LABEL_COMPONENT, MANAGED_BY } from "./labels";
import {
	deploymentAnnotations,
	deploymentLabels,
	objectNames,
	serviceAccountName,
	type AssignedNodePort,
	type ConfigMount,
	type DeploymentEntity,
	type DeploymentVolume,
	type ImagePort,
	type JointSpec,
	type NodePortRequest,
	type ServiceAccountRequest,
} from "./model";

// The joint fields' types and the account's name live in the leaf model.ts; re-exported here.
export { serviceAccountName } from "./model";
export type { AssignedNodePort, ConfigMount, JointSpec, NodePortRequest, ServiceAccountRequest } from "./model";

/**
 * What a managed deployment gains for joint management: ConfigMap and Secret files mounted into
 * its container, ports exposed on every node (NodePort), and a ServiceAccount of its own or one
 * shared in the namespace. Pure builders over the deployment's generated manifests: the
 * deployments service passes its manifests through `jointManifests` before applying them.
 */

/** `app.kubernetes.io/component` of a shared ServiceAccount (no deployment owns it). */
export const SHARED_ACCOUNT_KIND = "serviceaccount";

// ---------------------------------------------------------------------------------------------
// Validation: rules for the deployments service's params, and the checks they cannot express.

export { jointParams, mountsRule, nodePortsRule, serviceAccountRule } from "../api/deployments";

/**
 * What the rules cannot see: mount paths used twice (by mounts, volumes or the configMap), node
 * ports naming a port the deployment does not have, and a shared account without a name.
 */
export function jointProblems(
	dep: JointSpec & { volumes?: DeploymentVolume[]; configMapMountPath?: string; name?: string },
	ports: Pick<Required<ImagePort>, "name" | "port">[],
): FieldError[] {
	const errors: FieldError[] = [];
	const paths = new Set<string>([...(dep.volumes ?? []).map(v => v.mountPath), ...(dep.configMapMountPath ? [dep.configMapMountPath] : [])]);
	(dep.mounts ?? []).forEach((m, i) => {
		if (paths.has(m.mountPath)) errors.push({ field: `mounts[${i}].mountPath`, message: `Mount path "${m.mountPath}" is already used`, type: "unique", actual: m.mountPath });
		paths.add(m.mountPath);
	});
	const seenPorts = new Set<number>();
	const seenNodePorts = new Set<number>();
	(dep.nodePorts ?? []).forEach((np, i) => {
		const port = ports.find(p => (typeof np.port === "number" ? p.port === np.port : p.name === np.port));
		if (!port) {
			errors.push({ field: `nodePorts[${i}].port`, message: `The deployment has no port ${JSON.stringify(np.port)}`, type: "invalid", actual: np.port });
			return;
		}
		if (seenPorts.has(port.port)) errors.push({ field: `nodePorts[${i}].port`, message: `Port ${port.port} is exposed twice`, type: "unique", actual: np.port });
		seenPorts.add(port.port);
		if (np.nodePort !== undefined) {
			if (seenNodePorts.has(np.nodePort)) errors.push({ field: `nodePorts[${i}].nodePort`, message: `Node port ${np.nodePort} is used twice`, type: "unique", actual: np.nodePort });
			seenNodePorts.add(np.nodePort);
		}
	});
	const sa = dep.serviceAccount;
	if (sa?.shared && !sa.name) errors.push({ field: "serviceAccount.name", message: "A shared service account is named", type: "required" });
	if (sa?.name === "default") errors.push({ field: "serviceAccount.name", message: '"default" is the namespace\'s own account, which pods use anyway: leave serviceAccount out', type: "invalid", actual: sa.name });
	return errors;
}

// ---------------------------------------------------------------------------------------------
// Builders

function clone<T>(value: T): T {
	return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The pod volume's name for a mounted object: `cm-<name>` or `secret-<name>`. Volume names are
 * DNS labels, object names may have dots and be longer, so those get a short hash instead.
 */
export function mountVolumeName(m: Pick<ConfigMount, "type" | "name">): string {
	const prefix = m.type === "configMap" ? "cm" : "secret";
	const plain = `${prefix}-${m.name}`;
	if (plain.length <= 63 && !plain.includes(".")) return plain;
	const hash = createHash("sha256").update(`${m.type}/${m.name}`).digest("hex").slice(0, 8);
	return `${prefix}-${m.name.replace(/\./g, "-").slice(0, 63 - prefix.length - 10).replace(/-+$/, "")}-${hash}`;
}

/** Pod volumes (one per mounted object) and the container's mounts (one per mount). */
export function configMountVolumes(mounts: ConfigMount[]): { volumes: V1Volume[]; volumeMounts: V1VolumeMount[] } {
	const volumes = new Map<string, V1Volume>();
	const volumeMounts: V1VolumeMount[] = [];
	for (const m of mounts) {
		const name = mountVolumeName(m);
		const optional = m.optional || undefined;
		if (!volumes.has(name)) volumes.set(name, m.type === "configMap" ? { name, configMap: { name: m.name, optional } } : { name, secret: { secretName: m.name, optional } });
		const mount: V1VolumeMount = { name, mountPath: m.mountPath, readOnly: m.readOnly ?? true };
		if (m.subPath) mount.subPath = m.subPath;
		volumeMounts.push(mount);
	}
	return { volumes: clone([...volumes.values()]), volumeMounts };
}

/** The Deployment with the mounts added to its pods and to `container` (by default the first). */
export function withConfigMounts(deployment: V1Deployment, mounts: ConfigMount[], container?: string): V1Deployment {
	if (!mounts.length) return deployment;
	const out = clone(deployment);
	const pod = out.spec?.template.spec;
	if (!pod?.containers.length) return out;
	const target = pod.containers.find(c => c.name === container) ?? pod.containers[0];
	const { volumes, volumeMounts } = configMountVolumes(mounts);
	pod.volumes = [...(pod.volumes ?? []), ...volumes];
	target.volumeMounts = [...(target.volumeMounts ?? []), ...volumeMounts];
	return out;
}

/**
 * The Service as a NodePort Service with the requested ports' nodePorts. Ports asked for without a
 * number get one from Kubernetes; server-side apply leaves that assignment alone afterwards,
 * because Berth never sets the field.
 */
export function withNodePorts(service: V1Service, requests: NodePortRequest[]): V1Service {
	if (!requests.length) return service;
	const out = clone(service);
	if (!out.spec) return out;
	out.spec.type = "NodePort";
	for (const port of out.spec.ports ?? []) {
		const req = requests.find(r => (typeof r.port === "number" ? r.port === port.port : r.port === port.name));
		if (req?.nodePort !== undefined) port.nodePort = req.nodePort;
	}
	return out;
}

/** The node ports a live Service has (what Kubernetes assigned), for the deployment's status. */
export function assignedNodePorts(service: Pick<V1Service, "spec"> | undefined): AssignedNodePort[] {
	const out: AssignedNodePort[] = [];
	for (const p of service?.spec?.ports ?? []) {
		if (!p.nodePort) continue;
		const port: AssignedNodePort = { port: p.port, protocol: p.protocol ?? "TCP", nodePort: p.nodePort };
		if (p.name) port.name = p.name;
		out.push(port);
	}
	return out;
}


/**
 * The ServiceAccount to apply. A deployment's own carries the deployment's labels, so it is pruned
 * with the deployment; a shared one carries no entity id, so every deployment naming it applies
 * the same object and none removes it.
 */
export function serviceAccountFor(dep: Pick<DeploymentEntity, "id" | "name" | "namespaceName">, req: ServiceAccountRequest | null | undefined): V1ServiceAccount | undefined {
	const name = serviceAccountName(dep, req);
	if (!req || !name) return undefined;
	if (req.shared) {
		return {
			apiVersion: "v1",
			kind: "ServiceAccount",
			metadata: { name, namespace: dep.namespaceName, labels: { ...MANAGED_BY, [LABEL_COMPONENT]: SHARED_ACCOUNT_KIND, "app.kubernetes.io/name": name } },
		};
	}
	return {
		apiVersion: "v1",
		kind: "ServiceAccount",
		metadata: { name, namespace: dep.namespaceName, labels: deploymentLabels(dep), annotations: deploymentAnnotations(dep) },
	};
}

/** The Deployment's pods running as `name`, with or without an API token. */
export function withServiceAccount(deployment: V1Deployment, name: string, automountToken?: boolean): V1Deployment {
	const out = clone(deployment);
	const pod = out.spec?.template.spec;
	if (!pod) return out;
	pod.serviceAccountName = name;
	// The deprecated alias too: the apiserver copies one into the other, so a later apply that
	// leaves out only serviceAccountName would get the account back from the alias it still has.
	pod.serviceAccount = name;
	if (automountToken !== undefined) pod.automountServiceAccountToken = automountToken;
	return out;
}

/**
 * A deployment's generated manifests with its joint-management fields applied: the ServiceAccount
 * first (pods cannot be created before it exists), the mounts and the account on the Deployment,
 * the node ports on its Service. Without those fields the manifests come back unchanged.
 */
export function jointManifests<T extends KubernetesObject>(dep: Pick<DeploymentEntity, "id" | "name" | "namespaceName"> & JointSpec, manifests: T[]): (T | V1ServiceAccount)[] {
	const names = objectNames({ name: dep.name });
	const account = serviceAccountFor(dep, dep.serviceAccount);
	const out: (T | V1ServiceAccount)[] = account ? [account] : [];
	for (const m of manifests) {
		if (m.kind === "Deployment" && m.metadata?.name === names.deployment) {
			let d = withConfigMounts(m as V1Deployment, dep.mounts ?? [], names.container);
			if (account) d = withServiceAccount(d, account.metadata?.name as string, dep.serviceAccount?.automountToken);
			out.push(d as unknown as T);
		} else if (m.kind === "Service" && m.metadata?.name === names.service) {
			out.push(withNodePorts(m as V1Service, dep.nodePorts ?? []) as unknown as T);
		} else out.push(m);
	}
	return out;
}
