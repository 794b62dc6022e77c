/** How jobs are stored: the entity plus what is never returned, and the keys the reconciler uses. */
import type { JobEntity } from "../api/jobs";

/** Stored but never returned: the captured logs and the last Job seen (for detail after deletion). */
export interface StoredJob extends JobEntity {
	logs?: string;
	lastObject?: string;
	finished?: boolean;
	/** The tombstone (lib/tombstones.ts): set first by a remove; the leader finishes a remove that a dead node began. */
	deleting?: boolean;
	/** The uid of the Namespace the job was made in (lib/namespaces/identity.ts). */
	namespaceUid?: string | null;
}

/** The reconciler's key of a Job: `namespace/name`. */
export function jobKey(namespace: string, name: string): string {
	return `${namespace}/${name}`;
}

export function splitJobKey(key: string): { namespace: string; name: string } {
	const slash = key.indexOf("/");
	return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Matches a job no node has finished yet: claiming it (an update that counts 1) wins the race. */
export function unfinished(name: string): Record<string, unknown> {
	return { name, finished: { $ne: true } };
}

/** What `claim` needs of the moleculer-db adapter: NeDB's and mongoose's both count the updated. */
export interface UpdatingAdapter {
	updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
}

/** Updates the documents matching `query`; the count says whether this call won a race. */
export async function claim(adapter: UpdatingAdapter, query: Record<string, unknown>, update: Record<string, unknown>): Promise<number> {
	return Number(await adapter.updateMany(query, update)) || 0;
}

/** The last state the watch saw of a Job that is gone (TTL or deleted), with its recorded status. */
export function lastSeenJob(doc: StoredJob): Record<string, unknown> {
	const last = doc.lastObject ? (JSON.parse(doc.lastObject) as Record<string, unknown>) : { apiVersion: "batch/v1", kind: "Job", metadata: { name: doc.name, namespace: doc.namespaceName } };
	return { ...last, status: doc.status };
}
