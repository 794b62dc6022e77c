import type { V1ConfigMap, V1Deployment, V1Ingress, V1Service, V1ServiceAccount } from "../k8s";
import { LABEL_PREFIX, entityAnnotations, managedLabels } from "./labels";

/**
 * The leaf of lib/manifests: a deployment entity's shape, the names and labels of what is generated
 * for it, and its ports. The builders (deployment.ts, configmap.ts, service.ts, ingress.ts, joint.ts,
 * secret.ts) import from here; this module imports no builder, so lib/manifests has no cycle.
 */

/** `app.kubernetes.io/component` of every object generated for a deployment entity. */
export const DEPLOYMENT_KIND = "deployment";
/** `app.kubernetes.io/component` of the env ConfigMap and Secret (owned by v1.k8s.envs). */
export const ENV_KIND = "deployment-env";

export const ANNOTATION_ENV_CHECKSUM = `${LABEL_PREFIX}/env-checksum`;
export const ANNOTATION_CONFIG_CHECKSUM = `${LABEL_PREFIX}/config-checksum`;
/** What `kubectl rollout restart` sets; Berth's restart does the same. */
export const ANNOTATION_RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface ImagePort {
	name?: string;
	port: number;
	protocol?: Protocol;
}

export interface ImageEnvDeclaration {
	key: string;
	type?: "as-is" | "secret";
	value?: string;
}

/** The catalog writes cpu in millicores and memory in Mi as numbers; a string is a Kubernetes quantity. */
export interface ResourceAmounts {
	cpu?: number | string;
	memory?: number | string;
}

export interface ResourceSpec {
	limits?: ResourceAmounts;
	requests?: ResourceAmounts;
}

/** What the manifests read of a catalog image (v1.k8s.images). */
export interface CatalogImage {
	id: string;
	name: string;
	/** "php:8.1.0-fpm" */
	image?: string;
	registry?: string;
	repository?: string;
	tag?: string;
	digest?: string;
	imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
	imagePullSecrets?: (string | { name: string })[];
	ports?: ImagePort[];
	env?: ImageEnvDeclaration[];
	volumes?: { name: string; type?: string; mountPath: string }[];
	resources?: ResourceSpec;
	command?: string[];
	args?: string[];
	/** Where a deployment's configMap files go when it names no mountPath (nginx: /etc/nginx/conf.d). */
	configMountPath?: string;
}

export interface DeploymentVolume {
	name: string;
	type: "persistentVolumeClaim" | "emptyDir";
	mountPath: string;
	persistentVolumeClaim?: { claimName: string };
	readOnly?: boolean;
	subPath?: string;
}

/** Files mounted into the container: one file per key of `data`. */
export interface DeploymentConfigMap {
	name: string;
	data: Record<string, string>;
	mountPath?: string;
}

export interface Condition {
	type: string;
	status: "True" | "False" | "Unknown";
	reason?: string;
	message?: string;
	lastTransitionTime?: string;
}

export interface DeploymentStatus {
	phase: "Pending" | "Progressing" | "Running" | "Failed" | "Scaled to zero";
	replicas: number;
	readyReplicas: number;
	availableReplicas: number;
	updatedReplicas: number;
	observedGeneration?: number;
	conditions: Condition[];
	/** The node ports Kubernetes gave the Service (only with `nodePorts`). */
	nodePorts?: AssignedNodePort[];
}

/**
 * A v1.k8s.deployments entity. Its joint-management fields (`mounts`, `nodePorts`,
 * `serviceAccount`) are applied by lib/manifests/joint.ts's `jointManifests`.
 */
export interface DeploymentEntity extends JointSpec {
	id: string;
	name: string;
	/** Namespace entity id. */
	namespace: string;
	/** The namespace's Kubernetes name (immutable, kept so cluster work needs no lookup). */
	namespaceName: string;
	/** Catalog image id. */
	image: string;
	imageName?: string;
	replicas: number;
	vHosts: string[];
	volumes: DeploymentVolume[];
	configMap?: DeploymentConfigMap;
	resources?: ResourceSpec;
	ports?: ImagePort[];
	restartedAt?: string;
	status?: DeploymentStatus;
	owner: string;
	members: string[];
	createdAt?: string;
	updatedAt?: string;
}

/** Names of the objects generated for a deployment called `name`. */
export interface ObjectNames {
	deployment: string;
	/** `<name>-service`: the seed's nginx config reaches php-fpm at `<php name>-service.<namespace>.svc.cluster.local`. */
	service: string;
	ingress: string;
	/** The configMap's files, `<name>-<configMap.name>`: two deployments may both call theirs "nginx-config". */
	configMap?: string;
	/** The env ConfigMap and Secret (same name, different kinds). */
	env: string;
	container: string;
}

export function objectNames(dep: Pick<DeploymentEntity, "name" | "configMap">): ObjectNames {
	return {
		deployment: dep.name,
		service: `${dep.name}-service`,
		ingress: dep.name,
		configMap: dep.configMap ? `${dep.name}-${dep.configMap.name}` : undefined,
		env: `${dep.name}-env`,
		container: dep.name,
	};
}

/** Labels on every generated object; `berth.dev/id` maps it back to the entity. */
export function deploymentLabels(dep: Pick<DeploymentEntity, "id" | "name">): Record<string, string> {
	return managedLabels(DEPLOYMENT_KIND, dep.id, dep.name);
}

export function deploymentAnnotations(dep: Pick<DeploymentEntity, "id">): Record<string, string> {
	return entityAnnotations(DEPLOYMENT_KIND, dep.id);
}

/** The default configMap mount when neither the deployment nor the image names one. */
export const DEFAULT_CONFIG_MOUNT = "/etc/config";

/** Ports of the deployment, or of its image. */
export function effectivePorts(dep: Pick<DeploymentEntity, "ports">, image: Pick<CatalogImage, "ports">): Required<ImagePort>[] {
	const ports = dep.ports?.length ? dep.ports : (image.ports ?? []);
	return ports.map((p, i) => ({ name: p.name ?? (ports.length === 1 ? "main" : `port-${i}`), port: p.port, protocol: p.protocol ?? "TCP" }));
}

/** Every kind generated for a deployment (the joint ServiceAccount included). */
export type GeneratedObject = V1ConfigMap | V1Service | V1Deployment | V1Ingress | V1ServiceAccount;

// ---------------------------------------------------------------------------------------------
// Joint management: the entity fields lib/manifests/joint.ts applies (mounts, node ports, account).

/** A ConfigMap or Secret of the namespace (Berth's or anyone's) mounted as files. */
export interface ConfigMount {
	type: "configMap" | "secret";
	/** The ConfigMap's or Secret's name. */
	name: string;
	mountPath: string;
	/** One key only, mounted as the file `mountPath` (such a file does not follow later changes). */
	subPath?: string;
	/** Default true: configuration is read, not written. */
	readOnly?: boolean;
	/** The pod starts even when the object is missing. */
	optional?: boolean;
}

/** Expose one of the deployment's ports on every node. */
export interface NodePortRequest {
	/** The deployment's port, by number or by name. */
	port: number | string;
	/** A fixed node port; left out, Kubernetes assigns one (reported in status). */
	nodePort?: number;
}

/**
 * The pods' ServiceAccount. Without `shared`, one per deployment (named `name` or after the
 * deployment), removed with it. With `shared`, the named account is one of the namespace's that
 * several deployments use; Berth creates it when missing and never removes it with a deployment.
 */
export interface ServiceAccountRequest {
	name?: string;
	shared?: boolean;
	/** Whether the pods get an API token mounted; Kubernetes' default (true) when left out. */
	automountToken?: boolean;
}

/** The entity fields joint management adds to a deployment. */
export interface JointSpec {
	mounts?: ConfigMount[];
	nodePorts?: NodePortRequest[];
	serviceAccount?: ServiceAccountRequest | null;
}

export interface AssignedNodePort {
	name?: string;
	port: number;
	protocol: string;
	nodePort: number;
}
