/**
 * Env vars of deployments as plain functions: the env ConfigMap and Secret a deployment's stored
 * envs add up to, the size rule, and what an image's declarations plus a caller's `env` set.
 */
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { EnvEntity, EnvType, PatchResult } from "../api/envs";
import { invalidField } from "../errors";
import { Kinds, type KubeClient, type KubernetesObject, type V1Secret } from "../k8s";
import { dataChecksum, envConfigMap, type EnvTarget as ManifestTarget } from "../manifests/configmap";
import { objectNames, type ImageEnvDeclaration } from "../manifests/deployment";
import { ANNOTATION_ID, LABEL_ID } from "../manifests/labels";
import { containsDesired } from "../manifests/drift";
import { blockingHolder } from "../manifests/ownership";
import { envSecret, secretValues } from "../manifests/secret";
import { applyGuarded, clusterLookup, type CachesByKind, type LiveLookup } from "../ownership";
import { admitIntoNamespace } from "../namespaces/identity";
import { withdrawIfDeleted } from "../tombstones";


/** Stored, never returned: the copy of a secret value the Secret is rebuilt from, and the namespace's uid. */
export interface StoredEnv extends EnvEntity {
	secretValue?: string;
	/** The uid of the Namespace the envs were first written into (lib/namespaces/identity.ts). */
	namespaceUid?: string | null;
}

const MAX_TOTAL_BYTES = 512 * 1024;

/** A strong random value for a secret the image declares without one: 32 random bytes, URL-safe. */
export function randomSecret(): string {
	return randomBytes(32).toString("base64url");
}

/** The plain and the secret values of a deployment's envs, by key. */
export function envValues(docs: StoredEnv[]): { plain: Record<string, string>; secret: Record<string, string> } {
	const plain: Record<string, string> = {};
	const secret: Record<string, string> = {};
	for (const d of docs) {
		if (d.type === "secret") secret[d.key] = d.secretValue ?? "";
		else plain[d.key] = d.value ?? "";
	}
	return { plain, secret };
}

/** A ConfigMap or Secret holds at most 1 MiB; Berth keeps a deployment's envs well under that. */
export function checkSize(docs: StoredEnv[], key: string, value: string): void {
	const others = docs.filter(d => d.key !== key);
	const total = others.reduce((n, d) => n + Buffer.byteLength(d.key) + Buffer.byteLength(d.type === "secret" ? (d.secretValue ?? "") : d.value), 0) + Buffer.byteLength(key) + Buffer.byteLength(value);
	if (total > MAX_TOTAL_BYTES) throw invalidField("value", `A deployment's envs may total at most ${MAX_TOTAL_BYTES} bytes`, `${total} bytes`);
}

export interface EnvWrite {
	key: string;
	type: EnvType;
	value: string;
	/** The stored env it changes; a new one otherwise. */
	current?: StoredEnv;
	/** A value the caller gave (checked against the size rule). */
	explicit: boolean;
}

/**
 * What an image's declarations and a caller's `env` write: declared keys the deployment does not
 * have yet (a secret without a value gets a random one), then every `env` entry on top.
 */
export function envWrites(existing: StoredEnv[], declarations: ImageEnvDeclaration[], env: { key: string; value?: string; type?: EnvType }[]): EnvWrite[] {
	const have = new Map(existing.map(d => [d.key, d]));
	const declared = new Map(declarations.map(d => [d.key, d]));
	const explicit = new Map(env.map(e => [e.key, e]));
	const writes: EnvWrite[] = [];
	for (const [key, decl] of declared) {
		if (have.has(key) || explicit.has(key)) continue;
		const type = decl.type ?? "as-is";
		writes.push({ key, type, value: decl.value ?? (type === "secret" ? randomSecret() : ""), explicit: false });
	}
	for (const [key, e] of explicit) {
		const current = have.get(key);
		const type = e.type ?? current?.type ?? declared.get(key)?.type ?? "as-is";
		writes.push({ key, type, value: e.value ?? (type === "secret" ? randomSecret() : ""), current, explicit: true });
	}
	return writes;
}

/**
 * Writes the env ConfigMap and Secret of a deployment's stored envs (there is at least one), unless
 * someone else holds either name (409, heldError): `lookup` reads what is there (a watch cache first).
 */
export async function applyEnvObjects(kube: KubeClient, deployment: string, docs: StoredEnv[], lookup: LiveLookup = clusterLookup(kube)): Promise<void> {
	await applyGuarded(kube, lookup, envObjectsOf(deployment, docs));
}

function envObjectsOf(deployment: string, docs: StoredEnv[]): KubernetesObject[] {
	const target: ManifestTarget = { id: deployment, name: docs[0].deploymentName, namespaceName: docs[0].namespaceName };
	const { plain, secret } = envValues(docs);
	return [envConfigMap(target, plain), envSecret(target, secret)];
}

/**
 * Whether the watch caches hold both env objects as they would be written: exactly their data (a
 * key no longer wanted is a difference) and their labels and annotations. Then nothing is written:
 * the envs' own applies come back as watch events, and every resync enqueues every deployment.
 */
export function envObjectsConverged(caches: CachesByKind | undefined, deployment: string, docs: StoredEnv[]): boolean {
	if (!caches) return false;
	return envObjectsOf(deployment, docs).every(want => {
		const live = caches.get(want.kind as string)?.get(want.metadata?.name as string, want.metadata?.namespace) as (KubernetesObject & { data?: Record<string, string> }) | undefined;
		const wanted = (want as { data?: Record<string, string> }).data ?? {};
		return Boolean(live) && !live?.metadata?.deletionTimestamp && isDeepStrictEqual(live?.data ?? {}, wanted) && containsDesired(want.metadata?.labels, live?.metadata?.labels) && containsDesired(want.metadata?.annotations, live?.metadata?.annotations);
	});
}

/** The values in the deployment's own env Secret; none when the Secret of that name is someone else's. */
export async function ownSecretValues(kube: KubeClient, dep: ManifestTarget): Promise<Record<string, string>> {
	const live = await kube.get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: objectNames(dep).env, namespace: dep.namespaceName });
	return blockingHolder(envSecret(dep, {}), live) ? {} : secretValues(live);
}

export interface EnvObjectDeps {
	kube: KubeClient;
	/** The deployment's stored envs, read afresh. */
	envsOf(deployment: string): Promise<StoredEnv[]>;
	/** Records the Namespace's uid on envs that have none yet. */
	bind(docs: StoredEnv[], uid: string): Promise<void>;
	/** Who holds the env objects' names now (the leader's watches, else the apiserver). */
	lookup?: LiveLookup;
}

/**
 * Writes a deployment's env objects, only into the namespace its envs were made in (else nothing:
 * the deployment's own pass marks it orphaned), and deletes them again when the envs went while
 * they were written (the deployment was deleted on another node: lib/tombstones.ts).
 */
export async function writeEnvObjects(deps: EnvObjectDeps, deployment: string, docs: StoredEnv[]): Promise<void> {
	const { namespace, namespaceName, deploymentName } = docs[0];
	const binding = { namespace, namespaceName, namespaceUid: docs.find(d => d.namespaceUid)?.namespaceUid };
	if (!(await admitIntoNamespace({ kube: deps.kube, orphan: async () => undefined, bind: (_, uid) => deps.bind(docs, uid) }, binding))) return;
	await applyEnvObjects(deps.kube, deployment, docs, deps.lookup);
	const gone = (now: StoredEnv[] | undefined) => !now?.length;
	await withdrawIfDeleted(() => deps.envsOf(deployment), gone, () => deleteEnvObjects(deps.kube, { id: deployment, name: deploymentName, namespaceName }));
}

/** Deletes a deployment's env ConfigMap and Secret, but only those written for it. */
export async function deleteEnvObjects(kube: KubeClient, dep: { id: string; name: string; namespaceName: string }): Promise<void> {
	const name = objectNames(dep).env;
	for (const kind of [Kinds.ConfigMap, Kinds.Secret]) {
		const obj = await kube.get({ apiVersion: kind.apiVersion, kind: kind.kind, name, namespace: dep.namespaceName });
		if (obj && (obj.metadata?.labels?.[LABEL_ID] ?? obj.metadata?.annotations?.[ANNOTATION_ID]) === dep.id)
			await kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name, namespace: dep.namespaceName });
	}
}

export function patchResult(deployment: string, docs: StoredEnv[]): PatchResult {
	const name = docs[0] ? objectNames({ name: docs[0].deploymentName }).env : "";
	const { plain, secret } = envValues(docs);
	return { deployment, configMap: name, secret: name, keys: docs.map(d => d.key), checksum: dataChecksum(plain, secret) };
}
