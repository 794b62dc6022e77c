/**
 * The controller's work for one instance, level-based: read the instance and the cluster, then
 * either end it (culled, failed) or apply its objects and record when it is Ready; an ended
 * instance's objects are deleted and that is recorded. Every transition is a conditional update
 * (store.ts), so two nodes, or a restart, never make one twice.
 */
import { randomBytes } from "node:crypto";
import { conflict } from "../errors";
import { Kinds, type KubeClient, type V1Deployment, type V1Namespace, type V1Secret } from "../k8s";
import { APPS_NAMESPACE_ID, applicationManifests, applicationNames, applicationsNamespaceManifests, generatedSecretKeys, type ApplicationInstance } from "../manifests/application";
import { ANNOTATION_ID } from "../manifests/labels";
import { isSystemNamespace, type NamespaceQuota } from "../manifests/namespace";
import { secretValues } from "../manifests/secret";
import { applyWithWriterBinding } from "../namespaces/writer";
import { applyGuarded, clusterLookup, isHeldError } from "../ownership";
import { endEvent, endMessage } from "./checks";
import { cullDecision, instancePolicy } from "./culling";
import { PENDING_GRACE_MS } from "./limits";
import { markRunning, observeInstance, ownedSelector } from "./live";
import type { ApplicationsConfig } from "./settings";
import { endInstance, isActive, type ActiveApplication, type ApplicationStore, type StoredApplication } from "./store";

/** Deleted in this order: the route first, so nothing reaches a pod that is going away. */
const OWNED_KINDS = [Kinds.Ingress, Kinds.Service, Kinds.Deployment, Kinds.Secret];

export type ApplicationEvent = "running" | "culled" | "deleted" | "failed";

export interface ReconcileDeps {
	store: ApplicationStore;
	kube: KubeClient;
	config: Pick<ApplicationsConfig, "publicHost" | "ingressClassName" | "policy" | "resyncSeconds">;
	/** Emits `k8s.applications.<event>` with the instance's view. */
	announce(event: ApplicationEvent, doc: StoredApplication): void;
	/** The instance needs no more reconciles. */
	forget(appId: string): void;
	/** Throws unless this node still holds the controller Lease (lib/leader.ts): called before a cull's writes. */
	fence?(): void;
}

type Result = { requeueAfterMs?: number } | void;

/** Reconciles one instance; asks to run again at its next deadline. */
export async function reconcileInstance(deps: ReconcileDeps, appId: string): Promise<Result> {
	const doc = await deps.store.load(appId);
	if (!doc) return;
	if (doc.cleanup === "pending") return finishCleanup(deps, doc);
	if (!isActive(doc)) return;
	if (doc.status === "pending") return admitOrInterrupt(deps, doc);
	const now = Date.now();
	const policy = instancePolicy(deps.config.policy, doc);
	const decision = cullDecision({ status: doc.status, createdAt: doc.createdAt, lastActivityAt: doc.lastActivityAt }, policy, now);
	if (decision.action !== "keep") {
		// Guarded by the activity the decision read: a keep-alive that lands first wins.
		const guard = { status: doc.status, lastActivityAt: doc.lastActivityAt };
		deps.fence?.();
		if (await endInstance(deps.store, doc, decision.action === "fail" ? "failed" : "deleted", decision.reason, endMessage(decision, policy), guard)) return cleanUpEnded(deps, appId);
		return { requeueAfterMs: 50 };
	}
	let live: V1Deployment | undefined;
	try {
		live = await applyInstance(deps, doc);
	} catch (err) {
		const code = (err as { code?: number }).code;
		// The apiserver refused the objects (422), the namespace is gone (404), or a name is someone else's: waiting will not help.
		if (code !== 422 && code !== 404 && !isHeldError(err)) throw err;
		if (await endInstance(deps.store, doc, "failed", "rejected", (err as Error).message, { status: doc.status })) return cleanUpEnded(deps, appId);
		return;
	}
	// Ended while this pass applied (a delete on another node): what it applied goes (lib/tombstones.ts).
	const fresh = await deps.store.load(appId);
	if (!fresh || !isActive(fresh)) return withdrawInstance(deps, doc, fresh);
	const health = await observeInstance(deps.kube, doc, live);
	if (health.failure) {
		if (await endInstance(deps.store, doc, "failed", "cannot-start", health.failure, { status: doc.status })) return cleanUpEnded(deps, appId);
		return { requeueAfterMs: 50 };
	}
	if (health.ready && doc.status === "deploying") {
		const running = await markRunning(deps.store, doc, deps.config.publicHost);
		if (running) deps.announce("running", running);
	}
	// Until Ready the pod watch wakes it; the timer is the fallback. After that only deadlines matter.
	const ceiling = health.ready ? deps.config.resyncSeconds * 1000 : 2000;
	return { requeueAfterMs: Math.max(10, Math.min(decision.recheckInMs + 20, ceiling)) };
}

/** A launch not admitted within the grace period lost its node: it failed. */
async function admitOrInterrupt(deps: ReconcileDeps, doc: ActiveApplication): Promise<Result> {
	const age = Date.now() - Date.parse(doc.createdAt);
	if (age < PENDING_GRACE_MS) return { requeueAfterMs: PENDING_GRACE_MS - age + 100 };
	if (await endInstance(deps.store, doc, "failed", "interrupted", "The node that took the launch stopped before admitting it", { status: "pending" })) return cleanUpEnded(deps, doc.appId);
	return { requeueAfterMs: 100 };
}

/**
 * Deletes an instance's objects once its end is on record. Read back first: on a store whose
 * updates are not atomic, a concurrent write (a keep-alive) may have replaced the record.
 */
async function cleanUpEnded(deps: ReconcileDeps, appId: string): Promise<Result> {
	const fresh = await deps.store.load(appId);
	if (fresh?.cleanup === "pending") return finishCleanup(deps, fresh);
	return { requeueAfterMs: 50 };
}

/** Applies the instance's objects; its generated secret values are made once and then kept. */
async function applyInstance(deps: ReconcileDeps, doc: StoredApplication): Promise<V1Deployment | undefined> {
	const { kube, config } = deps;
	const inst: ApplicationInstance = { id: doc.appId, namespace: doc.namespaceName, template: doc.spec };
	const generated: Record<string, string> = {};
	const keys = generatedSecretKeys(doc.spec);
	if (keys.length) {
		const existing = await kube.get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: applicationNames(doc.appId).secret, namespace: doc.namespaceName });
		const kept = secretValues(existing);
		for (const key of keys) generated[key] = kept[key] ?? randomBytes(24).toString("hex");
	}
	const objects = applicationManifests(inst, { publicHost: config.publicHost, ingressClassName: config.ingressClassName }, generated);
	// Until it is Ready the names are checked before each apply; after that they are its own (a random
	// id in Berth's own namespace, which no tenant writes to), and the passes cost no extra read.
	const lookup = doc.status === "deploying" ? clusterLookup(kube) : async () => undefined;
	const applied = await applyGuarded(kube, lookup, objects);
	return applied.find(o => o.kind === "Deployment") as V1Deployment | undefined;
}

/** An instance that ended (or went) while its objects were applied: they go again, and a pending cleanup is recorded. */
async function withdrawInstance(deps: ReconcileDeps, doc: StoredApplication, fresh: StoredApplication | undefined): Promise<void> {
	if (fresh?.cleanup === "pending") return finishCleanup(deps, fresh);
	deps.fence?.();
	await deps.kube.prune(OWNED_KINDS, doc.namespaceName, ownedSelector(doc.appId));
}

/** Deletes whatever is left of an ended instance, then records that; only the node whose record wins announces it. */
async function finishCleanup(deps: ReconcileDeps, doc: StoredApplication): Promise<void> {
	deps.fence?.();
	await deps.kube.prune(OWNED_KINDS, doc.namespaceName, ownedSelector(doc.appId));
	const cleanedAt = new Date().toISOString();
	const event = endEvent(doc);
	if ((await deps.store.claim({ appId: doc.appId, cleanup: "pending" }, { cleanup: "done", cleanedAt })) && (await deps.store.announceOnce(doc.appId, event)))
		deps.announce(event, { ...doc, cleanup: "done", cleanedAt });
	deps.forget(doc.appId);
}

/**
 * The namespace of all instances (APPS_NAMESPACE), with its quota: applied on first use by this
 * process (`applied` false), and again whenever it has gone. One that exists and is not Berth's
 * applications namespace (a tenant's, a system one) is never used.
 */
export async function ensureAppsNamespace(kube: KubeClient, settings: Pick<ApplicationsConfig, "namespace" | "quota" | "tenantPolicy">, applied: boolean): Promise<void> {
	const name = settings.namespace;
	const refuse = () => conflict(`Namespace "${name}" (APPS_NAMESPACE) is not Berth's applications namespace; choose another name`, { namespace: name });
	if (isSystemNamespace(name)) throw refuse();
	const live = await kube.get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name });
	if (live && live.metadata?.annotations?.[ANNOTATION_ID] !== APPS_NAMESPACE_ID) throw refuse();
	if (live && applied) return;
	const [ns, ...inside] = applicationsNamespaceManifests(name, settings.quota, settings.tenantPolicy);
	await kube.apply(ns);
	await applyWithWriterBinding(kube, { id: APPS_NAMESPACE_ID, name }, settings.tenantPolicy, inside);
}
