/**
 * Object ownership against the cluster: before Berth applies an object, whatever already holds
 * that name in the namespace must be the same entity (lib/manifests/ownership.ts says who holds
 * what). Reads come first from what the caller knows anyway (a watch cache, the entity's own
 * objects listed for pruning) and from the apiserver only for the rest, so a pass over objects the
 * entity already holds costs no request.
 */
import type { Errors } from "moleculer";
import { conflict } from "./errors";
import type { KubeClient, KubernetesObject } from "./k8s";
import { ANNOTATION_ID, LABEL_ID } from "./manifests/labels";
import { blockingHolder, heldMessage, heldObject, HELD_REASON, takesOver, type HeldObject, type HoldOptions } from "./manifests/ownership";

export { HELD_REASON, type HoldOptions };

/** The live object at a desired object's kind and name, or undefined when there is none. */
export type LiveLookup = (desired: KubernetesObject) => Promise<KubernetesObject | undefined>;

/** `Kind/name`: how the objects of one namespace are told apart. */
export function objectKey(kind: string | undefined, name: string | undefined): string {
	return `${kind}/${name}`;
}

/** One GET per object. */
export function clusterLookup(kube: KubeClient): LiveLookup {
	return desired =>
		kube.get({ apiVersion: desired.apiVersion as string, kind: desired.kind as string, name: desired.metadata?.name as string, namespace: desired.metadata?.namespace });
}

/** What `known` has (a cache, a list already read), else `fallback` (the apiserver). */
export function knownFirst(known: (desired: KubernetesObject) => KubernetesObject | undefined, fallback: LiveLookup): LiveLookup {
	return async desired => known(desired) ?? fallback(desired);
}

/** Watch caches by kind, as the controller mixin's syncedCaches() gives them. */
export type CachesByKind = ReadonlyMap<string, { get(name: string, namespace?: string): KubernetesObject | undefined }>;

/** What the leader's watch caches hold (none off the leader), else one GET. */
export function cachedOrRead(kube: KubeClient, caches: CachesByKind | undefined): LiveLookup {
	return knownFirst(desired => caches?.get(desired.kind as string)?.get(desired.metadata?.name as string, desired.metadata?.namespace), clusterLookup(kube));
}

/**
 * 409 CONFLICT naming each held object, its kind and who holds it (never the holder's id or owner);
 * `kind` and `name` are the first one's, as a single object's conflict has always said.
 */
export function heldError(namespace: string, held: HeldObject[]): Errors.MoleculerClientError {
	return conflict(heldMessage(namespace, held), { reason: HELD_REASON, namespace, kind: held[0]?.kind, name: held[0]?.name, objects: held });
}

export function isHeldError(err: unknown): boolean {
	const e = err as { code?: unknown; data?: { reason?: unknown } };
	return e?.code === 409 && e.data?.reason === HELD_REASON;
}

/**
 * Throws heldError naming every desired object that someone else holds; answers the external
 * objects an adoption (`opts.adopt`) takes over.
 */
export async function checkHolders(lookup: LiveLookup, desired: KubernetesObject[], opts: HoldOptions = {}): Promise<KubernetesObject[]> {
	const held: HeldObject[] = [];
	const taken: KubernetesObject[] = [];
	for (const d of desired) {
		const live = await lookup(d);
		const holder = blockingHolder(d, live, opts);
		if (holder) held.push(heldObject(d, holder));
		else if (opts.adopt && takesOver(d, live)) taken.push(d);
	}
	if (held.length) throw heldError(desired[0]?.metadata?.namespace ?? "", held);
	return taken;
}

/** Applies the objects in order, once none of them turned out to be someone else's: nothing is half-applied. */
export async function applyGuarded<T extends KubernetesObject>(kube: KubeClient, lookup: LiveLookup, desired: T[], opts: HoldOptions = {}): Promise<T[]> {
	await checkHolders(lookup, desired, opts);
	const applied: T[] = [];
	for (const d of desired) applied.push(await kube.apply(d));
	return applied;
}

/**
 * Only the ownership marks of `desired`, for entity `id`: what an adoption adds to the external
 * objects it takes over (KubeClient.mergeMetadata), so that every later apply finds them the entity's own.
 */
export function claimOf(desired: KubernetesObject, id: string): KubernetesObject {
	const { name, namespace, labels, annotations } = desired.metadata ?? {};
	return {
		apiVersion: desired.apiVersion,
		kind: desired.kind,
		metadata: { name, namespace, labels: { ...labels, [LABEL_ID]: id }, annotations: { ...annotations, [ANNOTATION_ID]: id } },
	};
}

/** Whether a call was made for an adoption: the inventory's adopt action sets it; no REST caller can. */
export function isAdopting(meta: object | undefined): boolean {
	return (meta as { adopting?: unknown } | undefined)?.adopting === true;
}
