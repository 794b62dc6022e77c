/**
 * Level-based sync of one Job: reads it (informer cache, else the apiserver) and records its
 * status. The first node to see it finished captures its logs and announces it, claimed
 * atomically in the DB so several nodes watching the same Jobs emit one event.
 */
import type { JobEntity } from "../api/jobs";
import type { JobStatusLike } from "../compat/jobs";
import type { V1Job } from "../k8s";
import { isFinished, jobPhase, toWire } from "../manifests/job";
import { splitJobKey, unfinished, type StoredJob } from "./store";

export interface JobSyncDeps {
	findByName(name: string): Promise<StoredJob | undefined>;
	readJob(namespace: string, name: string): Promise<V1Job | undefined>;
	readLogs(namespace: string, name: string): Promise<string>;
	claim(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
	publicView(doc: StoredJob): JobEntity;
	emit(event: "k8s.jobs.completed" | "k8s.jobs.failed", payload: unknown): void;
	/** Throws unless this node still holds the controller Lease (lib/leader.ts): called before finishing a job. */
	fence?(): void;
	/** The rest of a remove whose node stopped after its mark: the Job (only Berth's), then the entity. */
	finishRemoval?(doc: StoredJob): Promise<void>;
}

/** Entities this young may not be applied yet: a missing Job is not a deleted one. */
const APPLY_GRACE_MS = 30_000;

export async function reconcileJob(key: string, deps: JobSyncDeps): Promise<void> {
	const { namespace, name } = splitJobKey(key);
	const doc = await deps.findByName(name);
	// Being removed: never recorded as finished or deleted (its own remove deletes the Job).
	if (doc?.deleting) return deps.finishRemoval?.(doc);
	if (!doc || doc.finished) return;
	const job = await deps.readJob(namespace, name);
	const now = new Date().toISOString();
	if (!job) {
		// Gone before it finished (deleted outside Berth).
		if (Date.now() - Date.parse(doc.createdAt) < APPLY_GRACE_MS) return;
		const logs = await deps.readLogs(namespace, name).catch(() => "");
		// Capturing logs takes a while: the lease may have been lost meanwhile.
		deps.fence?.();
		const claimed = await deps.claim(unfinished(name), { $set: { phase: "Deleted", finished: true, finishedAt: now, logs, logsCapturedAt: now, updatedAt: now } });
		if (claimed) deps.emit("k8s.jobs.failed", { ...deps.publicView({ ...doc, phase: "Deleted", finishedAt: now, logsCapturedAt: now }), reason: "Deleted" });
		return;
	}
	const status = toWire(job.status ?? {}) as JobStatusLike;
	const phase = jobPhase(job.status);
	const lastObject = JSON.stringify(toWire(job));
	if (isFinished(phase)) {
		const logs = await deps.readLogs(namespace, name);
		const changes = { status, phase, uid: job.metadata?.uid, lastObject, finished: true, finishedAt: now, logs, logsCapturedAt: now, updatedAt: now };
		deps.fence?.();
		const claimed = await deps.claim(unfinished(name), { $set: changes });
		if (claimed) deps.emit(phase === "Complete" ? "k8s.jobs.completed" : "k8s.jobs.failed", deps.publicView({ ...doc, ...changes }));
		return;
	}
	if (doc.phase !== phase || JSON.stringify(doc.status ?? {}) !== JSON.stringify(status) || doc.uid !== job.metadata?.uid)
		await deps.claim(unfinished(name), { $set: { status, phase, uid: job.metadata?.uid, lastObject, updatedAt: now } });
}
