/**
 * Tombstones: how a delete on one node and an apply on another leave nothing behind.
 * 1. A delete first marks the entity (`deleting`, stored like any field, so every node and both
 *    backends see it), then deletes its objects, then removes the entity.
 * 2. A pass never applies an entity that is marked or gone, and after its applies it reads the
 *    entity again: marked or gone meanwhile, it deletes what it has just applied (withdraw). The
 *    delete's teardown lists the objects after its mark, and the pass re-reads after its applies,
 *    so whichever comes second sees the other.
 * 3. What still slips through (a node that died between its apply and its re-read) is the leader's
 *    orphan sweep's (lib/orphans.ts).
 */
import { loadConfig } from "./config";
import type { KubeClient, ObjectRef } from "./k8s";
import { ANNOTATION_ID, LABEL_ID } from "./manifests/labels";

/** What a tombstone looks like on a stored entity. */
export interface Tombstoned {
	deleting?: boolean | null;
}

/** Whether a pass must not apply the entity (and must withdraw what it applied): gone, or marked. */
export function isTombstoned(doc: Tombstoned | undefined | null): boolean {
	return !doc || Boolean(doc.deleting);
}

/**
 * After a pass's applies: reads the entity again and, when it was deleted or marked meanwhile,
 * undoes the applies. Answers whether it did.
 */
export async function withdrawIfDeleted<T>(reload: () => Promise<T | undefined>, deleted: (doc: T | undefined) => boolean, undo: () => Promise<unknown>): Promise<boolean> {
	if (!deleted(await reload())) return false;
	await undo();
	return true;
}

/**
 * Deletes one object by name, but only one Berth made for entity `id` (its id label or
 * annotation), with its uid as the apiserver's precondition: a namesake made by anyone else, or
 * since, stays. Answers whether it deleted.
 */
export async function deleteIfOwned(kube: Pick<KubeClient, "get" | "delete">, ref: ObjectRef, id: string): Promise<boolean> {
	const live = await kube.get(ref);
	const meta = live?.metadata;
	if (!meta || (meta.labels?.[LABEL_ID] ?? meta.annotations?.[ANNOTATION_ID]) !== id) return false;
	try {
		return await kube.delete(ref, { uid: meta.uid });
	} catch (err) {
		if ((err as { code?: number }).code === 409) return false;
		throw err;
	}
}

/**
 * Test-only (BERTH_TEST_APPLY_DELAY_MS, lib/config.ts): waits before a pass's applies, so that the
 * fault suite can delete the entity on another node while this one is about to apply.
 */
export async function testApplyDelay(): Promise<void> {
	const ms = loadConfig().testApplyDelayMs;
	if (ms > 0) await new Promise(resolve => setTimeout(resolve, ms));
}
