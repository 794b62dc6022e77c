/**
 * v1.k8s.envs' contract: the params and views of its actions and their validator rules.
 * The service, the typed client and the CLI import them from here.
 */
import type { ImageEnvDeclaration } from "./deployment-model";
import { ENV_KEY, refRule } from "./rules";

export type EnvType = "as-is" | "secret";

/** A v1.k8s.envs entity. A secret's `value` is always shown masked. */
export interface EnvEntity {
	id: string;
	/** Namespace entity id. */
	namespace: string;
	namespaceName: string;
	/** Deployment entity id. */
	deployment: string;
	deploymentName: string;
	key: string;
	type: EnvType;
	value: string;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

/** How a secret's value is shown. */
export const MASK = "********";

export interface TargetParams {
	/** Namespace entity id or name. */
	namespace: string;
	/** Deployment entity id or name. */
	deployment: string;
}

export interface CreateEnvParams extends TargetParams {
	key: string;
	value: string;
	type?: EnvType;
}

export interface UpdateEnvParams {
	id: string;
	value?: string;
	type?: EnvType;
}

export interface ListEnvParams {
	namespace?: string;
	deployment?: string;
}

export interface ResolveEnvParams extends TargetParams {
	key: string;
}

export interface PackParams extends TargetParams {
	/** Secret values in clear text; only for the deployment's owner. */
	reveal?: boolean;
}

/** What envs needs to know of a deployment: who it belongs to and where it lives. */
export interface EnvTarget {
	id: string;
	name: string;
	/** Namespace entity id. */
	namespace: string;
	namespaceName: string;
	/** The uid of the Namespace the deployment was made in, when the caller knows it (lib/namespaces/identity.ts). */
	namespaceUid?: string | null;
	owner: string;
	members: string[];
}

export interface CreateFromImageParams extends TargetParams {
	/** Catalog image id or name; the deployment's image by default. */
	image?: string;
	/** Set on top of the image's declarations (created, or updated when the key exists). */
	env?: { key: string; value?: string; type?: EnvType }[];
	/**
	 * Mesh callers only (`scope: false`): the deployment itself, and the image's declarations, so
	 * that envs looks neither up (v1.k8s.deployments hands them over while it waits on envs).
	 */
	target?: EnvTarget;
	declared?: ImageEnvDeclaration[];
	scope?: boolean;
}

export interface PatchResult {
	deployment: string;
	configMap: string;
	secret: string;
	keys: string[];
	checksum: string;
}

// ---------------------------------------------------------------------------------------------
// Validator rules

const keyRule = { type: "string", pattern: ENV_KEY, max: 253 } as const;
const valueRule = { type: "string", max: 64 * 1024 } as const;
const typeRule = { type: "enum", values: ["as-is", "secret"], optional: true } as const;
const optionalRef = { ...refRule, optional: true } as const;

export const targetParams = { namespace: refRule, deployment: refRule };
export const createEnvParams = { ...targetParams, key: keyRule, value: valueRule, type: typeRule };
export const updateEnvParams = { id: refRule, value: { ...valueRule, optional: true }, type: typeRule };
export const listEnvParams = { namespace: optionalRef, deployment: optionalRef };
export const resolveEnvParams = { ...targetParams, key: keyRule };
export const packParams = { ...targetParams, reveal: { type: "boolean", optional: true, convert: true } };
export const envIdParams = { id: refRule };
export const createFromImageParams = {
	...targetParams,
	image: optionalRef,
	env: { type: "array", optional: true, max: 200, items: { type: "object", strict: true, props: { key: keyRule, value: { ...valueRule, optional: true }, type: typeRule } } },
	target: { type: "object", optional: true },
	declared: { type: "array", optional: true, max: 200 },
};

/** v1.k8s.envs.snapshot and .exact: mesh callers only (`scope: false`), for a deployment's revisions. */
export interface SnapshotEnvParams {
	deployment: string;
	scope?: boolean;
}
export interface ExactEnvParams extends SnapshotEnvParams {
	/** The deployment, handed over as for createEnv. */
	target: EnvTarget;
	/** The whole set: keys not in it are removed. */
	env: { key: string; type: EnvType; value: string }[];
}
export const snapshotEnvParams = { deployment: refRule, scope: { type: "boolean", optional: true } };
export const exactEnvParams = {
	...snapshotEnvParams,
	target: { type: "object" },
	env: { type: "array", max: 200, items: { type: "object", strict: true, props: { key: keyRule, value: valueRule, type: { ...typeRule, optional: false } } } },
};
