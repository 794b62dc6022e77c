/**
 * The contract of v1.k8s.images (docs/api/images.md): the catalog entry, the params of its actions
 * with their validator rules, and the views it answers.
 */
import type { Exposure, ProbeSpec } from "./deployment-model";
import { DNS1123_LABEL, HOSTNAME, idRule } from "./rules";

export type { Exposure, ProbeSpec as CatalogProbe };

/** A port the image serves. */
export interface CatalogPort {
	name: string;
	port: number;
	protocol: "TCP" | "UDP" | "SCTP";
	/** "public": an Ingress rule reaches it (HTTP); "cluster": only its Service (databases). Unset: public. */
	expose?: Exposure;
}

/** An env var the image expects. `secret` ones without a value get a generated one at deploy time. */
export interface CatalogEnv {
	key: string;
	type: "as-is" | "secret";
	value?: string;
}

export interface CatalogVolume {
	name: string;
	type: "persistentVolumeClaim";
	mountPath: string;
}

/** cpu in millicores, memory in Mi, as the seed writes them. */
export interface CatalogResources {
	limits: { cpu: number; memory: number };
	requests: { cpu: number; memory: number };
}

/** A catalog entry as a file under images/ gives it (lib/catalog.ts loads and checks the files). */
export interface CatalogImage {
	name: string;
	namespace: string;
	tag: string;
	digest?: string;
	image: string;
	registry: string;
	repository: string;
	description: string;
	imagePullPolicy: "Always" | "IfNotPresent" | "Never";
	imagePullSecrets: string[];
	ports: CatalogPort[];
	env: CatalogEnv[];
	volumes: CatalogVolume[];
	resources: CatalogResources;
	/** Overrides the image's entrypoint / arguments, for images whose default does not serve. */
	command?: string[];
	args?: string[];
	/** Usable as a template for ephemeral applications. */
	launchable?: boolean;
	/** A launchable template anyone may launch without an API key. */
	public?: boolean;
	/** The non-root uid the image runs as (its pods then run with runAsNonRoot); unset: it starts as root. */
	runAsUser?: number;
	/** Its primary gid, also the pods' fsGroup; only with runAsUser. */
	runAsGroup?: number;
	/** Capabilities added back after ALL are dropped, for an image that must switch users or chown; only ones `baseline` allows. */
	capabilities?: string[];
	/** Probes of its deployments' containers (a deployment's `probes` may replace or turn off each). */
	readinessProbe?: ProbeSpec;
	livenessProbe?: ProbeSpec;
	startupProbe?: ProbeSpec;
	/** The `secret` env whose generated value an application's launcher gets in its location (`?token=`). */
	launchToken?: string;
}

/** Where an entry comes from: a file under images/, an API create, or a build (v1.k8s.images.build). */
export type ImageSource = "file" | "api" | "build";

/** A catalog entry as stored and returned: the file's fields plus the entity's. */
export interface ImageEntity extends CatalogImage {
	id: string;
	/** A tenant's entry: the Berth namespace (entity id) whose members alone see it. Unset: the shared catalog. */
	namespaceId?: string;
	source: ImageSource;
	/** A file entry changed through the API: loadImages leaves it as the API made it. */
	overridden?: boolean;
	createdAt: string;
	updatedAt: string;
}

/** create: an entry as a file gives it, and for a tenant's entry the namespace (id or name) it belongs to. */
export type CreateImageParams = CatalogImage & { namespaceId?: string; source?: ImageSource };
/** update (PATCH or PUT): the fields to replace; the merged entry is checked as a file would be. */
export type UpdateImageParams = Partial<CatalogImage> & { id: string };

export interface ImageIdParams {
	id: string;
}
export interface ImageNameParams {
	name: string;
}
export interface DeployImageParams {
	id: string;
	namespace?: string;
	name?: string;
	vHosts?: string[];
	replicas?: number;
}
export interface LoadReport {
	/** Names added to the catalog, updated in it, and already up to date. */
	added: string[];
	updated: string[];
	unchanged: string[];
	/** File entries the API has changed since: left as they are. */
	overridden: string[];
}

/** The rules of an entry's fields are the files' (lib/catalog.ts CATALOG_RULES); these are the API's own. */
export const imageScopeRules = {
	/** A tenant's entry: the namespace (id or name) whose members alone see it. */
	namespaceId: { type: "string", min: 1, max: 64, optional: true },
	/** Set by Berth's own services only (a build's entry says "build"). */
	source: { type: "enum", values: ["api", "build"], optional: true, meshOnly: true },
} as const;

/** What `deploy` hands to v1.k8s.deployments.create (see docs/CONTRACTS.md). */
export interface DeploymentRequest {
	name: string;
	namespace: string;
	image: string;
	vHosts?: string[];
	replicas?: number;
}

export const listImagesParams = { launchable: { type: "boolean", convert: true, optional: true } };
export const imageIdParams = { id: idRule };
/** resolveName: a catalog name. */
export const resolveImageNameParams = { name: { type: "string", min: 1, max: 253 } };
/** getImage: a catalog name or an image reference ("nginx:1.27"). */
export const getImageParams = { name: { type: "string", min: 1, max: 512 } };
export const deployImageParams = {
	/** An id, a catalog name or an image reference. */
	id: { type: "string", min: 1, max: 253 },
	namespace: { type: "string", min: 1, max: 64, optional: true },
	name: { type: "string", pattern: DNS1123_LABEL, min: 1, max: 63, optional: true },
	vHosts: { type: "array", items: { type: "string", pattern: HOSTNAME, max: 253 }, max: 20, unique: true, optional: true },
	replicas: { type: "number", integer: true, min: 0, max: 100, convert: true, optional: true },
};
