/**
 * Level-based sync of one build: reads its Job and the Job's pod and records where it stands.
 * A Job that failed fails the build. A Job that completed succeeds it once the builder's digest is
 * known (kaniko writes it to the termination message, which the kubelet puts in the pod's status);
 * the first node to claim the finish captures the logs, announces it and adds the image to the
 * namespace's catalog (v1.k8s.images.create). What the catalog refuses is recorded, never retried blindly.
 */
import type { BuildEntity, BuildStatus } from "../api/builds";
import type { CatalogResources } from "../api/images";
import type { V1Job, V1Pod } from "../k8s";
import { BUILD_CONTAINER } from "../manifests/build";
import { jobPhase } from "../manifests/job";
import { bytes, cpuMillis } from "../quantity";

/** Stored but never returned: the captured logs and the marks the reconciler uses. */
export interface StoredBuild extends BuildEntity {
	logs?: string;
	logsCapturedAt?: string;
	finished?: boolean;
	/** Succeeded, but its catalog entry is not written yet. */
	catalogPending?: boolean;
	/** The uid of the Namespace the build runs in. */
	namespaceUid?: string | null;
}

/** What v1.k8s.images.create is sent for a built image (the contract with the images service). */
export interface BuiltImageEntry {
	name: string;
	tag: string;
	image: string;
	digest: string;
	registry: string;
	repository: string;
	/** The registry's namespace: the repository's path without the image's own name. */
	namespace: string;
	description: string;
	ports: [];
	env: [];
	volumes: [];
	resources: CatalogResources;
	imagePullPolicy: "IfNotPresent";
	imagePullSecrets: string[];
	source: "build";
	/** The Berth namespace whose catalog the image joins. */
	namespaceId: string;
}

export interface BuildSyncDeps {
	find(id: string): Promise<StoredBuild | undefined>;
	readJob(namespace: string, name: string): Promise<V1Job | undefined>;
	readPods(namespace: string, jobName: string): Promise<V1Pod[]>;
	readLogs(namespace: string, jobName: string): Promise<string>;
	/** Updates the build if it still matches `query`; the count says whether this call won. */
	claim(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
	/** Adds the image to the namespace's catalog; its entry's id. */
	addToCatalog(entry: BuiltImageEntry): Promise<{ id: string }>;
	emit(event: "k8s.builds.succeeded" | "k8s.builds.failed", payload: unknown): void;
	/** Throws unless this node still holds the controller Lease. */
	fence?(): void;
	now?(): number;
}

/** Builds this young may not have their Job yet: a missing Job is not a deleted one. */
const APPLY_GRACE_MS = 30_000;
/** How long a completed Job may go without a digest in its pod's status before the build fails. */
export const DIGEST_GRACE_MS = 120_000;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The digest the builder reported in its termination message, if any. */
export function digestOf(pods: V1Pod[]): string | undefined {
	for (const pod of pods) {
		const status = pod.status?.containerStatuses?.find(c => c.name === BUILD_CONTAINER);
		const message = status?.state?.terminated?.message?.trim();
		if (message && DIGEST.test(message)) return message;
	}
	return undefined;
}

/** The image by digest: the destination's repository (its tag dropped) `@sha256:…`. */
export function imageByDigest(destination: string, digest: string): string {
	const slash = destination.lastIndexOf("/");
	const colon = destination.lastIndexOf(":");
	return `${colon > slash ? destination.slice(0, colon) : destination}@${digest}`;
}

/** The catalog entry of a succeeded build: where its image is, by digest, with the build's resources. */
export function catalogEntryOf(build: Pick<BuildEntity, "name" | "tag" | "destination" | "description" | "git" | "resources" | "namespace">, digest: string): BuiltImageEntry {
	const repoRef = imageByDigest(build.destination, digest).split("@")[0];
	const slash = repoRef.indexOf("/");
	const repository = repoRef.slice(slash + 1);
	const res = build.resources;
	return {
		name: build.name,
		tag: build.tag,
		image: imageByDigest(build.destination, digest),
		digest,
		registry: repoRef.slice(0, slash),
		repository,
		namespace: repository.slice(0, Math.max(0, repository.lastIndexOf("/"))),
		description: build.description ?? `Built from ${build.git}`,
		ports: [],
		env: [],
		volumes: [],
		resources: {
			requests: { cpu: cpuMillis(res.requests.cpu), memory: Math.round(bytes(res.requests.memory) / 2 ** 20) },
			limits: { cpu: cpuMillis(res.limits.cpu), memory: Math.round(bytes(res.limits.memory) / 2 ** 20) },
		},
		imagePullPolicy: "IfNotPresent",
		imagePullSecrets: [],
		source: "build",
		namespaceId: build.namespace,
	};
}

/** The build no node has finished yet (by its Job's name, unique): claiming it wins the race. */
const unfinished = (doc: Pick<StoredBuild, "jobName">) => ({ jobName: doc.jobName, finished: { $ne: true } });

/** A `$set` without undefined values, and an `$unset` of those keys (NeDB and MongoDB treat undefined differently). */
function setAndUnset(changes: Record<string, unknown>): Record<string, unknown> {
	const gone = Object.keys(changes).filter(k => changes[k] === undefined || changes[k] === null);
	const set = Object.fromEntries(Object.entries(changes).filter(([k]) => !gone.includes(k)));
	return gone.length ? { $set: set, $unset: Object.fromEntries(gone.map(k => [k, true])) } : { $set: set };
}

function finalCondition(job: V1Job, type: "Complete" | "Failed"): NonNullable<NonNullable<V1Job["status"]>["conditions"]>[number] | undefined {
	return job.status?.conditions?.find(c => c.type === type && c.status === "True");
}

/** How soon a catalog write that could not be made (the images service away, say) is tried again. */
export const CATALOG_RETRY_MS = 30_000;

/** A failure worth trying again: retryable, or no node runs the images service right now. */
function isTransient(err: unknown): boolean {
	const e = err as { retryable?: boolean; name?: string; code?: number };
	return Boolean(e.retryable) || e.name === "ServiceNotFoundError" || e.name === "ServiceNotAvailableError" || (e.code ?? 0) >= 500;
}

/**
 * Writes the catalog entry of a succeeded build, once: a refusal is recorded on the build; a
 * transient failure is recorded too and tried again later.
 */
export async function joinCatalog(doc: Pick<StoredBuild, "jobName" | "catalogPending" | "digest" | "name" | "tag" | "destination" | "description" | "git" | "resources" | "namespace">, deps: Pick<BuildSyncDeps, "addToCatalog" | "claim">): Promise<{ requeueAfterMs?: number } | void> {
	if (!doc.catalogPending || !doc.digest) return;
	const now = new Date().toISOString();
	try {
		const { id } = await deps.addToCatalog(catalogEntryOf(doc, doc.digest));
		await deps.claim({ jobName: doc.jobName, catalogPending: true }, { $set: { imageId: id, catalogPending: false, updatedAt: now }, $unset: { catalogError: true } });
	} catch (err) {
		const transient = isTransient(err);
		await deps.claim({ jobName: doc.jobName, catalogPending: true }, { $set: { catalogError: (err as Error).message, catalogPending: transient, updatedAt: now } });
		if (transient) return { requeueAfterMs: CATALOG_RETRY_MS };
	}
}

async function finish(doc: StoredBuild, outcome: Partial<StoredBuild> & { status: BuildStatus }, deps: BuildSyncDeps): Promise<{ requeueAfterMs?: number } | void> {
	const now = new Date().toISOString();
	const logs = await deps.readLogs(doc.namespaceName, doc.jobName).catch(() => doc.logs ?? "");
	// Capturing logs takes a while: the Lease may have been lost meanwhile.
	deps.fence?.();
	const changes = { ...outcome, finished: true, finishedAt: now, logs, logsCapturedAt: now, updatedAt: now };
	if (!(await deps.claim(unfinished(doc), setAndUnset(changes)))) return;
	const done = { ...doc, ...changes };
	deps.emit(outcome.status === "succeeded" ? "k8s.builds.succeeded" : "k8s.builds.failed", { id: doc.id, namespace: doc.namespace, status: outcome.status, image: done.image, digest: done.digest, reason: done.reason });
	if (outcome.status === "succeeded") return joinCatalog(done, deps);
}

export async function reconcileBuild(id: string, deps: BuildSyncDeps): Promise<{ requeueAfterMs?: number } | void> {
	const doc = await deps.find(id);
	if (!doc) return;
	if (doc.finished) return joinCatalog(doc, deps);
	const now = deps.now?.() ?? Date.now();
	const job = await deps.readJob(doc.namespaceName, doc.jobName);
	if (!job) {
		if (now - Date.parse(doc.createdAt) < APPLY_GRACE_MS) return;
		return finish(doc, { status: "failed", reason: "JobDeleted", message: "The build's Job was deleted before it finished" }, deps);
	}
	const phase = jobPhase(job.status);
	if (phase === "Failed") {
		const failed = finalCondition(job, "Failed");
		return finish(doc, { status: "failed", reason: failed?.reason ?? "Failed", message: failed?.message ?? "The build's Job failed" }, deps);
	}
	if (phase === "Complete") {
		const digest = digestOf(await deps.readPods(doc.namespaceName, doc.jobName));
		if (digest) return finish(doc, { status: "succeeded", digest, image: imageByDigest(doc.destination, digest), reason: undefined, message: undefined, catalogPending: true }, deps);
		const completedAt = Date.parse(String(finalCondition(job, "Complete")?.lastTransitionTime ?? job.status?.completionTime ?? doc.createdAt));
		if (now - completedAt >= DIGEST_GRACE_MS) return finish(doc, { status: "failed", reason: "NoDigest", message: "The builder finished without reporting the pushed image's digest" }, deps);
		await record(doc, "running", deps, { reason: "AwaitingDigest", message: "The Job completed; waiting for the builder's digest in its pod's status" });
		return { requeueAfterMs: DIGEST_GRACE_MS };
	}
	await record(doc, phase === "Running" ? "running" : "pending", deps);
}

async function record(doc: StoredBuild, status: BuildStatus, deps: BuildSyncDeps, note: { reason?: string; message?: string } = {}): Promise<void> {
	if (doc.status === status && doc.reason === note.reason) return;
	await deps.claim(unfinished(doc), setAndUnset({ status, reason: note.reason, message: note.message, updatedAt: new Date().toISOString() }));
}
