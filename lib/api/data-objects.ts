/**
 * The contract of v1.k8s.configmaps and v1.k8s.secrets (docs/api/configmaps.md): namespaced
 * entities holding string data, each applied as a ConfigMap or Secret of the same name. A Secret's
 * values are write-only: its views carry the key names only.
 */
import { DATA_KEY, DNS1123_SUBDOMAIN, idRule, type IdParams } from "./rules";

export type DataObjectKind = "ConfigMap" | "Secret";

/** What Kubernetes stores in one object at most; Berth keeps a little under it for the metadata. */
export const MAX_DATA_BYTES = 1000 * 1024;

interface DataObjectBase {
	id: string;
	/** The namespace entity's id. */
	namespace: string;
	/** Also the ConfigMap's or Secret's name. */
	name: string;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

export interface ConfigMapEntity extends DataObjectBase {
	data: Record<string, string>;
}

/** Never a value: the names of the keys it holds, sorted. */
export interface SecretEntity extends DataObjectBase {
	keys: string[];
}

export interface CreateDataObjectParams {
	/** Namespace entity id or name. */
	namespace: string;
	name: string;
	data: Record<string, string>;
}

/** `data` replaces every key the object held. */
export interface UpdateDataObjectParams {
	id: string;
	data: Record<string, string>;
}

export type DataObjectIdParams = IdParams;

export interface ListDataObjectsParams {
	namespace?: string;
}

/** Mesh only (deployments' mounts): entity ids or names of one namespace, to their objects' names. */
export interface ResolveDataObjectsParams {
	namespace: string;
	refs: string[];
}

const SUBDOMAIN_MESSAGE = "The '{field}' field must be an RFC 1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit.";

/** Keys as Kubernetes takes them (file names of a mounted object); values are strings, each key's error naming `data.<key>`. */
export const dataRule = { type: "record", key: { type: "string", pattern: DATA_KEY, max: 253 }, value: { type: "string" } } as const;

export const createDataObjectParams = {
	namespace: { type: "string", min: 1, max: 64 },
	name: { type: "string", pattern: DNS1123_SUBDOMAIN, min: 1, max: 253, messages: { stringPattern: SUBDOMAIN_MESSAGE } },
	data: dataRule,
};
export const updateDataObjectParams = { id: idRule, data: dataRule };
export const listDataObjectsParams = { namespace: { type: "string", min: 1, max: 64, optional: true } };
export const dataObjectIdParams = { id: idRule };
export const resolveDataObjectsParams = {
	namespace: { type: "string", min: 1, max: 64 },
	refs: { type: "array", items: { type: "string", min: 1, max: 253 }, max: 20 },
};
