/**
 * How instances are stored, and the conditional updates every transition is made of: a transition
 * is written only if the instance is still in the state it was read in, so a restart resumes work
 * half done and no transition (or its event) happens twice.
 */
import type { ApplicationStatus, EndReason } from "../api/applications";
import type { ApplicationTemplate } from "../manifests/application";
import { activityDue, instancePolicy, type CullPolicy } from "./culling";

/** `pending`: stored, not yet admitted by the limits (never shown: it reads as deploying). */
export type StoredStatus = "pending" | ApplicationStatus;

/** How far an ended instance's objects have been deleted. */
export type Cleanup = "none" | "pending" | "done";

export interface StoredApplication {
	/** The DB's id; never shown. */
	id: string;
	/** The public id: 32 hex characters. */
	appId: string;
	template: string;
	templateId: string;
	/** The catalog entry as it was at launch. */
	spec: ApplicationTemplate;
	/** The Kubernetes namespace. */
	namespaceName: string;
	status: StoredStatus;
	location: string | null;
	reason?: EndReason;
	message?: string;
	cleanup: Cleanup;
	/** One pod's share of the quota, as a list: NeDB and MongoDB refuse "." in keys ("requests.cpu"). */
	footprint: { resource: string; amount: number }[];
	owner: string;
	members: string[];
	anonymous: boolean;
	/** The idle limit its launch asked for (binder's `cull-timeout`, within bounds); unset: the operator's. */
	idleMs?: number;
	lastActivityAt: string;
	readyAt?: string;
	endedAt?: string;
	cleanedAt?: string;
	createdAt: string;
	updatedAt: string;
}

export type ActiveApplication = StoredApplication & { status: "pending" | "deploying" | "running" };

export const ACTIVE: StoredStatus[] = ["pending", "deploying", "running"];
/** The fields `list`/`find` of moleculer-db would show (the generic actions are off; kept for the db mixin). */
export const PUBLIC_FIELDS = ["appId", "template", "status", "location", "owner", "members"];

export function isActive(doc: Pick<StoredApplication, "status">): doc is ActiveApplication {
	return ACTIVE.includes(doc.status);
}

/** What the store needs of the DB-backed service: its adapter, its backend and the db mixin's findRaw. */
export interface StoreHost {
	adapter: unknown;
	dbBackend: { mongoUri?: string };
	findRaw<T>(query: Record<string, unknown>): Promise<T[]>;
}

interface Adapter {
	insert(doc: Record<string, unknown>): Promise<unknown>;
	updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
	removeMany(query: Record<string, unknown>): Promise<unknown>;
	db: { collection(name: string): { insertOne(doc: Record<string, unknown>): Promise<unknown> } };
}

export interface ApplicationStore {
	/** Instances matching a query, oldest first. */
	find(query: Record<string, unknown>): Promise<StoredApplication[]>;
	/** One instance by its public id. */
	load(appId: string): Promise<StoredApplication | undefined>;
	insert(doc: Omit<StoredApplication, "id">): Promise<StoredApplication>;
	remove(appId: string): Promise<void>;
	/**
	 * A conditional update; the count says whether it matched. State written this way converges
	 * whoever writes it; what must happen only once (an event) also needs announceOnce.
	 */
	claim(query: Record<string, unknown>, set: Record<string, unknown>): Promise<number>;
	/** Whether this node is the one to announce `event` for an instance. */
	announceOnce(appId: string, event: string): Promise<boolean>;
}

/** The store over a service's collection; the adapter is read at each call (the db mixin replaces it in created()). */
export function applicationStore(host: StoreHost): ApplicationStore {
	const adapter = () => host.adapter as Adapter;
	const store: ApplicationStore = {
		find: query => host.findRaw<StoredApplication>(query),
		async load(appId) {
			const [doc] = await host.findRaw<StoredApplication>({ appId });
			return doc;
		},
		async insert(doc) {
			await adapter().insert({ ...doc });
			return (await store.load(doc.appId)) as StoredApplication;
		},
		async remove(appId) {
			await adapter().removeMany({ appId });
		},
		async claim(query, set) {
			return Number(await adapter().updateMany(query, { $set: { ...set, updatedAt: new Date().toISOString() } })) || 0;
		},
		/**
		 * NeDB belongs to one process and runs its updates one at a time, so the conditional update
		 * before this has already let exactly one caller through. MongoDB-compatible stores need not
		 * make a conditional update atomic (FerretDB does not: two nodes can both match the same
		 * state), but they do refuse a second insert of the same _id: the node whose insert lands
		 * announces.
		 */
		async announceOnce(appId, event) {
			if (!host.dbBackend.mongoUri) return true;
			try {
				await adapter().db.collection("applications_announced").insertOne({ _id: `${appId}/${event}`, at: new Date().toISOString() });
				return true;
			} catch (err) {
				if ((err as { code?: number }).code === 11000) return false;
				throw err;
			}
		},
	};
	return store;
}

/**
 * Marks a live instance ended, objects still to delete: the decision is in the DB before anything
 * is deleted, so a restart finishes it. `guard` narrows the claim (e.g. to the activity the
 * decision was based on, so a keep-alive that arrives meanwhile wins).
 */
export async function endInstance(
	store: ApplicationStore,
	doc: StoredApplication,
	status: "deleted" | "failed",
	reason: EndReason,
	message?: string,
	guard: Record<string, unknown> = {},
): Promise<boolean> {
	const set: Record<string, unknown> = { status, reason, cleanup: "pending", endedAt: new Date().toISOString() };
	if (message) set.message = message;
	return (await store.claim({ appId: doc.appId, status: { $in: ACTIVE }, cleanup: "none", ...guard }, set)) > 0;
}

/** Records activity on a live instance; polls write at most once per activity resolution. */
export async function recordActivity(store: ApplicationStore, policy: CullPolicy, doc: StoredApplication, force: boolean): Promise<StoredApplication> {
	if (!isActive(doc)) return doc;
	const now = Date.now();
	if (!force && !activityDue(doc.lastActivityAt, instancePolicy(policy, doc), now)) return doc;
	const at = new Date(now).toISOString();
	const written = await store.claim({ appId: doc.appId, status: { $in: ACTIVE } }, { lastActivityAt: at });
	// Lost to a cull that got there first: the fresh state says so.
	return written ? { ...doc, lastActivityAt: at } : ((await store.load(doc.appId)) ?? doc);
}
