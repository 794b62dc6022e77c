/**
 * How a deployment is stored. NeDB and MongoDB refuse "." in field names, and file names
 * ("default.conf") and quota resources ("limits.cpu") have them, so those maps are stored as
 * lists of entries. A service account request is stored with `shared: false` spelled out, so
 * that `{}` is not an empty object (Mongoose drops those, and `{}` asks for an account of the
 * deployment's own).
 */
import { CLEARABLE_FIELDS, REPLACED_FIELDS, type UpdateDeploymentParams } from "../api/deployments";
import type { DeploymentEntity } from "../manifests/deployment";
import type { ServiceAccountRequest } from "../manifests/joint";

/** Stored, never returned: each pod's share of the quota, the deleting mark, the applied fingerprint, the namespace's uid. */
export interface StoredDeployment extends DeploymentEntity {
	footprint?: Record<string, number>;
	/** The tombstone (lib/tombstones.ts): set first by a delete; no pass applies the entity after it. */
	deleting?: boolean;
	/** The uid of the Namespace the entity was made in (lib/namespaces/identity.ts). */
	namespaceUid?: string | null;
	/** manifestsFingerprint of what the last successful pass applied. */
	appliedFingerprint?: string;
}

type Stored = Record<string, unknown>;

export const PUBLIC_FIELDS = ["name", "namespace", "namespaceName", "image", "imageName", "replicas", "vHosts", "volumes", "configMap", "resources", "ports", "mounts", "nodePorts", "serviceAccount", "probes", "tls", "annotations", "autoscale", "restartedAt", "status", "owner", "members"];

/**
 * What a revision holds and a rollback restores (lib/revisions): every public field but the
 * entity's identity, access, status and replicas (a scale is not a revision, as in kubectl).
 */
export const SPEC_FIELDS = PUBLIC_FIELDS.filter(f => !["name", "namespace", "namespaceName", "replicas", "status", "owner", "members"].includes(f));

export function encodeDeployment(doc: Partial<StoredDeployment>): Stored {
	const out: Stored = { ...doc };
	if (doc.configMap) out.configMap = { name: doc.configMap.name, mountPath: doc.configMap.mountPath, files: Object.entries(doc.configMap.data).map(([key, value]) => ({ key, value })) };
	if (doc.footprint) out.footprint = Object.entries(doc.footprint).map(([resource, amount]) => ({ resource, amount }));
	if (doc.serviceAccount) out.serviceAccount = { ...doc.serviceAccount, shared: doc.serviceAccount.shared ?? false };
	// Annotation keys have dots ("cert-manager.io/…").
	if (doc.annotations) out.annotations = Object.entries(doc.annotations).map(([key, value]) => ({ key, value }));
	return out;
}

/** The `$set` of a change: fields the change clears (`undefined`) are stored as `null` (decode drops them). */
export function encodeChange(changes: Partial<StoredDeployment>): Stored {
	const set = encodeDeployment(changes);
	for (const [key, value] of Object.entries(changes)) if (value === undefined) set[key] = null;
	return set;
}

/** The db mixin's `decode`: stored document → StoredDeployment. */
export function decodeDeployment(raw: Stored): Stored {
	const doc = { ...raw } as Stored;
	const cm = raw.configMap as { name: string; mountPath?: string; files?: { key: string; value: string }[] } | null | undefined;
	if (cm) doc.configMap = { name: cm.name, data: Object.fromEntries((cm.files ?? []).map(f => [f.key, f.value])), ...(cm.mountPath ? { mountPath: cm.mountPath } : {}) };
	else delete doc.configMap;
	// `null` is how an update clears it (a $set of undefined would not).
	const sa = raw.serviceAccount as ServiceAccountRequest | null | undefined;
	if (!sa) delete doc.serviceAccount;
	else if (sa.shared === false) {
		const { shared: _own, ...rest } = sa;
		doc.serviceAccount = rest;
	}
	const annotations = raw.annotations as { key: string; value: string }[] | null | undefined;
	if (Array.isArray(annotations)) doc.annotations = Object.fromEntries(annotations.map(a => [a.key, a.value]));
	// A field stored as null was cleared: by an update's `null` (CLEARABLE_FIELDS, all of them spec
	// fields) or by a rollback to a revision without it.
	for (const f of SPEC_FIELDS) if (doc[f] === null) delete doc[f];
	const fp = raw.footprint as { resource: string; amount: number }[] | undefined;
	if (Array.isArray(fp)) doc.footprint = Object.fromEntries(fp.map(f => [f.resource, f.amount]));
	doc.id = String(doc.id);
	return doc;
}

/** The entity with `changes` applied, fields the change clears removed. */
export function withChanges(doc: StoredDeployment, changes: Partial<StoredDeployment>): StoredDeployment {
	const draft: StoredDeployment = { ...doc, ...changes };
	for (const [key, value] of Object.entries(changes)) if (value === undefined) delete (draft as unknown as Record<string, unknown>)[key];
	return draft;
}

/** The stored fields an update's params change (the image is resolved apart); `null` clears a field. */
export function changesOf(p: Omit<UpdateDeploymentParams, "id">): Partial<StoredDeployment> {
	const changes: Partial<StoredDeployment> = {};
	for (const key of REPLACED_FIELDS) if (p[key] !== undefined) (changes as Record<string, unknown>)[key] = p[key];
	if (p.configMap !== undefined) changes.configMap = p.configMap ?? undefined;
	if (p.serviceAccount !== undefined) changes.serviceAccount = p.serviceAccount ?? undefined;
	for (const key of CLEARABLE_FIELDS) if (p[key] !== undefined) (changes as Record<string, unknown>)[key] = p[key] ?? undefined;
	return changes;
}
