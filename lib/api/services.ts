/**
 * The contract of v1.k8s.services (the KITeGG-style multi-container service specs): the entity,
 * the spec document it holds, the actions' params and views, and their validator rules.
 */
import type { V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Service } from "../k8s";
import type { Protocol } from "./deployment-model";
import { idRule, refRule } from "./rules";

// ---------------------------------------------------------------------------------------------
// The spec document (YAML in the seed's format), as the parser in lib/specs/parse.ts returns it

/** One spelling of a port's protocol for deployments and specs. */
export type { Protocol };

export interface SpecPort {
	name?: string;
	port: number;
	protocol: Protocol;
}

export interface SpecMount {
	/** A volume of the spec's `volumes`. */
	name: string;
	mountPath: string;
	readOnly: boolean;
}

export interface SpecAmounts {
	cpu?: string;
	memory?: string;
}

export interface SpecResources {
	requests?: SpecAmounts;
	limits?: SpecAmounts;
}

export interface SpecEnvVar {
	name: string;
	value: string;
}

export interface SpecContainer {
	name: string;
	image: string;
	ports: SpecPort[];
	/** A key of the GPU options. */
	gpu?: string;
	volumeMounts: SpecMount[];
	/** Not in the seed's format: without them the defaults apply (see lib/manifests/spec.ts). */
	resources?: SpecResources;
	env?: SpecEnvVar[];
	command?: string[];
	args?: string[];
}

export interface SpecVolume {
	name: string;
	/** 1–999 Gi or Mi. */
	size: string;
}

/** A validated spec. */
export interface ServiceSpec {
	containers: SpecContainer[];
	volumes: SpecVolume[];
}

/** Longest spec accepted, in bytes of UTF-8. */
export const MAX_SPEC_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Entity, params and views

/** A v1.k8s.services entity: the seed's `docker_services` record, plus where and whether it runs. */
export interface ServiceEntity {
	id: string;
	/** Free text ("My NGINX Service"). */
	name: string;
	/** Namespace entity id. */
	namespace: string;
	/** The Kubernetes namespace. */
	namespaceName: string;
	/** The spec, YAML text in the seed's format. */
	deployment: string;
	exposed_service: string | null;
	exposed_port: number | null;
	/** The name of the generated Deployment, Service and Ingress (and the prefix of the claims'); fixed at creation. */
	resourceName: string;
	/** The id the caller chose with the KITeGG route `PUT /kubernetes/services/<id>/deploy`; absent otherwise. */
	externalId?: string;
	/** Whether a deploy is in effect. */
	deployed: boolean;
	deployedAt: string | null;
	/** The Ingress host, while deployed with an exposed port. */
	host: string | null;
	/** Whether the entity changed since its last deploy (another deploy applies the change). */
	pendingChanges: boolean;
	/** Set when its namespace was deleted or made again outside Berth: nothing of it is applied any more. */
	orphaned?: { reason: string; message: string; at: string };
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

export interface CreateServiceParams {
	name: string;
	/** The caller's namespace, by entity id or name. */
	namespace: string;
	deployment: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface UpdateServiceParams {
	id: string;
	name?: string;
	deployment?: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

/**
 * The KITeGG deploy: `id` is the caller's (the LLP's record id), or an entity id. With the seed's
 * payload in the body the record under that id is created or updated first; without, the stored
 * record is deployed. `namespace` (the query's `?namespace=`) is needed only to create.
 */
export interface CompatDeployParams {
	id: string;
	namespace?: string;
	name?: string;
	deployment?: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface CompatDeleteParams {
	id: string;
	keepVolumes?: boolean;
}

export interface ValidateParams {
	deployment: string;
	exposed_service?: string | null;
	exposed_port?: number | null;
}

export interface ListParams {
	namespace?: string;
}

export interface DeleteParams {
	id: string;
	/** Keep the PersistentVolumeClaims (and their data). */
	keepVolumes?: boolean;
}

export interface ValidateView {
	spec: ServiceSpec;
}

/** The objects a deploy applies, in apply order (lib/manifests/spec.ts builds them). */
export type SpecObject = V1PersistentVolumeClaim | V1Service | V1Deployment | V1Ingress;

export interface ManifestsView {
	manifests: SpecObject[];
}

export interface DeployView extends ManifestsView {
	id: string;
	resourceName: string;
	host: string | null;
	deployedAt: string;
}

export interface ObjectView {
	kind: string;
	name: string;
}

export interface UndeployView {
	id: string;
	removed: ObjectView[];
	/** Claims left in place (keepVolumes). */
	kept: ObjectView[];
}

// ---------------------------------------------------------------------------------------------
// Validator rules

const nameRule = { type: "string", min: 1, max: 128, trim: true } as const;
// Characters, not bytes: the parser checks the byte size.
const deploymentRule = { type: "string", min: 1, max: MAX_SPEC_BYTES } as const;
const exposedServiceRule = { type: "string", min: 1, max: 63, optional: true, nullable: true } as const;
const exposedPortRule = { type: "number", integer: true, min: 1, max: 65535, optional: true, nullable: true, convert: true } as const;
const keepVolumesRule = { type: "boolean", optional: true, convert: true } as const;

/**
 * An id a caller chooses (the KITeGG routes): what a path segment, both stores and a label-free
 * lookup take safely. Entity ids (24 hex digits, or NeDB's 16 letters and digits) fit it too.
 */
export const externalIdRule = { type: "string", min: 1, max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9._~-]*$/ } as const;

export const createParams = { name: nameRule, namespace: refRule, deployment: deploymentRule, exposed_service: exposedServiceRule, exposed_port: exposedPortRule } as const;
export const listParams = { namespace: { ...refRule, optional: true } } as const;
export const idParams = { id: idRule } as const;
export const updateParams = {
	id: idRule,
	name: { ...nameRule, optional: true },
	deployment: { ...deploymentRule, optional: true },
	exposed_service: exposedServiceRule,
	exposed_port: exposedPortRule,
} as const;
export const validateParams = { deployment: deploymentRule, exposed_service: exposedServiceRule, exposed_port: exposedPortRule } as const;
export const deleteParams = { id: idRule, keepVolumes: keepVolumesRule } as const;
export const compatDeployParams = {
	id: externalIdRule,
	namespace: { ...refRule, optional: true },
	name: { ...nameRule, optional: true },
	deployment: { ...deploymentRule, optional: true },
	exposed_service: exposedServiceRule,
	exposed_port: exposedPortRule,
} as const;
export const compatDeleteParams = { id: externalIdRule, keepVolumes: keepVolumesRule } as const;
