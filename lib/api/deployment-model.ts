/**
 * A v1.k8s.deployments entity and the shapes in it: the leaf that the builders (lib/manifests), the
 * service, the client and the dashboard share. It imports nothing, Kubernetes' types included, so the
 * dashboard can take it as it is. lib/api/deployments.ts re-exports it with the params and views.
 */

export type Protocol = "TCP" | "UDP" | "SCTP";

/** Whether a port is reached from outside (an Ingress rule) or only inside the cluster (its Service). */
export type Exposure = "public" | "cluster";

export interface ImagePort {
	name?: string;
	port: number;
	protocol?: Protocol;
	/** Unset: the catalog image's port of that number decides, else "public". */
	expose?: Exposure;
}

/**
 * A container probe as the catalog and a deployment's `probes` write it: an HTTP GET of `path`
 * or a TCP connect, on a port by number or name, with Kubernetes' timings.
 */
export interface ProbeSpec {
	http?: { path: string; port: number | string };
	tcp?: { port: number | string };
	initialDelaySeconds?: number;
	periodSeconds?: number;
	timeoutSeconds?: number;
	failureThreshold?: number;
}

/** A deployment's probes: each replaces the image's, `false` turns it off, unset keeps the image's. */
export interface ProbeOverrides {
	readiness?: ProbeSpec | false;
	liveness?: ProbeSpec | false;
	startup?: ProbeSpec | false;
}

/** `true`: a certificate from TLS_ISSUER (cert-manager) in `<name>-tls`; `{secretName}`: a Secret of the namespace. */
export type TlsSpec = true | { secretName: string };

/** An autoscaling/v2 HorizontalPodAutoscaler's bounds and target utilisation (percent of the requests). */
export interface AutoscaleSpec {
	minReplicas: number;
	maxReplicas: number;
	cpu?: number;
	memory?: number;
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
	/** The user the image runs as and the capabilities it needs (lib/manifests/security.ts). */
	runAsUser?: number;
	runAsGroup?: number;
	capabilities?: string[];
	readinessProbe?: ProbeSpec;
	livenessProbe?: ProbeSpec;
	startupProbe?: ProbeSpec;
	/** The secret env whose value an application's launcher gets in its location (`?token=`). */
	launchToken?: string;
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
	/** "Orphaned": its namespace was deleted or made again outside Berth; nothing is applied any more (condition Applied says why). */
	phase: "Pending" | "Progressing" | "Running" | "Failed" | "Scaled to zero" | "Orphaned";
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
	probes?: ProbeOverrides;
	tls?: TlsSpec;
	/** Extra annotations of its Ingress: only keys INGRESS_ANNOTATIONS_ALLOWED names. */
	annotations?: Record<string, string>;
	/** Set: an HPA owns the replicas (the Deployment is applied without them). */
	autoscale?: AutoscaleSpec;
	restartedAt?: string;
	status?: DeploymentStatus;
	owner: string;
	members: string[];
	createdAt?: string;
	updatedAt?: string;
}

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

export interface ContainerState {
	name: string;
	ready: boolean;
	restartCount: number;
	state: "running" | "waiting" | "terminated" | "unknown";
	reason?: string;
	message?: string;
	startedAt?: string;
}

export interface PodState {
	name: string;
	phase: string;
	ready: boolean;
	restarts: number;
	node?: string;
	ip?: string;
	startTime?: string;
	containers: ContainerState[];
}


/** A Kubernetes object as the API shows it (the builders' typed objects are assignable to it). */
export interface ManifestObject {
	apiVersion?: string;
	kind?: string;
	metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}
