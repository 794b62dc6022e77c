/**
 * Admission: a namespace's quota check and the store of what it admits, as one step per namespace
 * on every node. A caller holds the namespace's admission (v1.k8s.namespaces.holdAdmission), checks
 * its quota against what is stored, stores its change, and releases it (releaseAdmission). A hold
 * expires (QUOTA_LOCK_SECONDS), so a holder that crashed blocks nobody for longer than that.
 *
 * A hold is a row `{_id: holder, namespace, until}` under a unique index on `namespace`: adding it
 * is the compare-and-set. The store's unique index is what every backend makes atomic (FerretDB 1.x
 * finds and then rewrites on a conditional update, so two racing ones both report a match); a hold
 * past its time is removed by its own `_id`, so a late remover can never drop a newer hold.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "moleculer";
import type { AdmissionHold, AdmissionParams, QuotaReport } from "../api/namespaces";
import { conflict } from "../errors";
import type { KubeClient, V1ResourceQuota } from "../k8s";
import { QUOTA_NAME } from "../manifests/namespace";

/** One namespace's hold: whose it is (a token the caller picks) and until when (ms since the epoch). */
export interface AdmissionRow {
	_id: string;
	namespace: string;
	until: number;
}

/** Where the holds live; `add` must be atomic across every node that shares the store. */
export interface AdmissionStore {
	/** Adds the row; false when the namespace (or that holder) already has one. */
	add(row: AdmissionRow): Promise<boolean>;
	/** The namespace's row, if any. */
	get(namespace: string): Promise<AdmissionRow | undefined>;
	/** Removes that very row, by its holder: never a later hold of the same namespace. */
	remove(holder: string): Promise<void>;
}

/** Whether a hold's time is up: another may take the namespace. */
export function isExpired(row: AdmissionRow, now: number): boolean {
	return row.until <= now;
}

/** How long a waiter sleeps before its `attempt`-th retry: short at first, at most 50 ms, with jitter so nodes do not poll in step. */
export function pollDelay(attempt: number, random: () => number = Math.random): number {
	const base = Math.min(50, 5 * 2 ** attempt);
	return Math.round(base / 2 + (random() * base) / 2);
}

/** How long a hold lasts and how long a caller waits for its turn (at most 20 s, within the mesh's 30 s request timeout). */
export function admissionTiming(lockSeconds: number): { ttlMs: number; waitMs: number } {
	const ttlMs = lockSeconds * 1000;
	return { ttlMs, waitMs: Math.min(2 * ttlMs, 20_000) };
}

/** The holds of one process, for NeDB: its store is this process's alone, so no other node can hold its namespaces. */
export class MemoryAdmissionStore implements AdmissionStore {
	private readonly rows = new Map<string, AdmissionRow>();

	async add(row: AdmissionRow): Promise<boolean> {
		if (this.rows.has(row.namespace)) return false;
		this.rows.set(row.namespace, { ...row });
		return true;
	}

	async get(namespace: string): Promise<AdmissionRow | undefined> {
		const row = this.rows.get(namespace);
		return row && { ...row };
	}

	async remove(holder: string): Promise<void> {
		for (const [namespace, row] of this.rows) if (row._id === holder) this.rows.delete(namespace);
	}
}

/** The part of a MongoDB collection (the driver's, FerretDB's too) the holds use. */
export interface RowCollection {
	createIndex(index: Record<string, number>, opts: { unique: boolean }): Promise<unknown>;
	insertOne(doc: AdmissionRow): Promise<unknown>;
	findOne(filter: Record<string, unknown>): Promise<unknown>;
	deleteOne(filter: Record<string, unknown>): Promise<unknown>;
}

/** The collection the holds of every node share, next to `namespaces`. */
export const ADMISSIONS_COLLECTION = "namespace_admissions";

/** The holds in a MongoDB (or FerretDB) collection shared by every node. */
export function mongoAdmissionStore(collection: RowCollection): AdmissionStore {
	let indexed: Promise<unknown> | undefined;
	return {
		async add(row) {
			indexed ??= collection.createIndex({ namespace: 1 }, { unique: true });
			await indexed;
			try {
				await collection.insertOne({ ...row });
				return true;
			} catch (err) {
				if ((err as { code?: unknown }).code === 11000) return false;
				throw err;
			}
		},
		async get(namespace) {
			return ((await collection.findOne({ namespace })) as AdmissionRow | null) ?? undefined;
		},
		async remove(holder) {
			await collection.deleteOne({ _id: holder });
		},
	};
}

/** 409 when a caller waited its whole turn (AdmissionDesk's waitMs) and the namespace was still held: not a 5xx, worth retrying. */
export function admissionBusy(namespace: string, waitedMs: number): Error {
	return conflict(`Namespace ${namespace} is busy admitting other changes; try again`, { namespace, waitedMs, retryable: true });
}

/**
 * One node's side of the holds: takes a namespace for a holder, waiting its turn, and gives it back.
 * On one node only the first waiter of a namespace polls the store; the others queue behind it, and
 * a release on this node wakes the poller at once.
 */
export class AdmissionDesk {
	private readonly turns = new Map<string, Promise<void>>();
	private readonly wakers = new Map<string, () => void>();

	constructor(
		private readonly store: AdmissionStore,
		private readonly timing: { ttlMs: number; waitMs: number },
		private readonly now: () => number = Date.now,
	) {}

	/** One attempt: the namespace's hold is now `holder`'s (new, asked again, or taken from an expired one), or undefined. */
	async tryHold(namespace: string, holder: string): Promise<AdmissionRow | undefined> {
		const row = { _id: holder, namespace, until: this.now() + this.timing.ttlMs };
		if (await this.store.add(row)) return row;
		const current = await this.store.get(namespace);
		// The same holder asking again (a retried call) keeps what it has.
		if (current?._id === holder) return current;
		if (current && !isExpired(current, this.now())) return undefined;
		// Released meanwhile, or its holder is gone: one more try, which a racing taker may win.
		if (current) await this.store.remove(current._id);
		return (await this.store.add(row)) ? row : undefined;
	}

	/** Waits until the namespace is `holder`'s; 409 (admissionBusy) after waitMs. */
	async hold(namespace: string, holder: string): Promise<AdmissionRow> {
		const started = this.now();
		const leave = await this.takeTurn(namespace);
		try {
			for (let attempt = 0; ; attempt++) {
				const held = await this.tryHold(namespace, holder);
				if (held) return held;
				if (this.now() - started >= this.timing.waitMs) throw admissionBusy(namespace, this.now() - started);
				await this.pause(namespace, pollDelay(attempt));
			}
		} finally {
			leave();
		}
	}

	/** Gives the namespace back, if `holder` still has it (an expired hold may be another's by now). */
	async release(namespace: string, holder: string): Promise<void> {
		await this.store.remove(holder);
		this.wakers.get(namespace)?.();
	}

	/** This node's queue for a namespace: resolves when the waiters before have their holds (or gave up); call the answer to leave. */
	private async takeTurn(namespace: string): Promise<() => void> {
		const before = this.turns.get(namespace) ?? Promise.resolve();
		let leave!: () => void;
		const mine = new Promise<void>(resolve => (leave = resolve));
		const tail = before.then(() => mine);
		this.turns.set(namespace, tail);
		await before;
		return () => {
			leave();
			if (this.turns.get(namespace) === tail) this.turns.delete(namespace);
		};
	}

	/** Sleeps `ms`, or less when this node releases the namespace meanwhile. */
	private pause(namespace: string, ms: number): Promise<void> {
		return new Promise(resolve => {
			const done = () => {
				clearTimeout(timer);
				if (this.wakers.get(namespace) === done) this.wakers.delete(namespace);
				resolve();
			};
			const timer = setTimeout(done, ms);
			this.wakers.set(namespace, done);
		});
	}
}

/** The ResourceQuota's limits and usage, or null when the namespace has none (or it limits nothing). */
export function quotaReportOf(rq: V1ResourceQuota | undefined): QuotaReport | null {
	const hard = rq?.status?.hard ?? rq?.spec?.hard;
	if (!rq || !hard || !Object.keys(hard).length) return null;
	return { hard: { ...hard }, used: { ...(rq.status?.used ?? {}) } };
}

export async function readQuotaReport(kube: KubeClient, namespaceName: string): Promise<QuotaReport | null> {
	return quotaReportOf(await kube.get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: QUOTA_NAME, namespace: namespaceName }));
}

/** The two calls a caller makes, and where it says a release failed. */
export interface AdmissionCalls {
	hold(params: AdmissionParams): Promise<AdmissionHold>;
	release(params: AdmissionParams): Promise<unknown>;
	warn(message: string): void;
}

/** The calls over the mesh, with the request's context (2 mesh calls per admission). */
export function meshAdmission(ctx: Context, warn: (message: string) => void): AdmissionCalls {
	return {
		hold: params => ctx.call<AdmissionHold, AdmissionParams>("v1.k8s.namespaces.holdAdmission", params),
		release: params => ctx.call<unknown, AdmissionParams>("v1.k8s.namespaces.releaseAdmission", params),
		warn,
	};
}

/**
 * Runs `work` (the quota check and the store of what it admits) while the namespace's admission is
 * this caller's; `work` gets the quota read under the hold (undefined: none). A failed release is
 * only logged: the change is stored, and the hold expires.
 */
export async function withAdmission<T>(calls: AdmissionCalls, namespaceId: string, work: (quota: QuotaReport | undefined) => Promise<T>): Promise<T> {
	const holder = randomUUID();
	const hold = await calls.hold({ id: namespaceId, holder });
	try {
		return await work(hold.quota ?? undefined);
	} finally {
		await calls.release({ id: namespaceId, holder }).catch(err => calls.warn(`Could not release the admission of namespace ${namespaceId}; it expires at ${new Date(hold.until).toISOString()}: ${(err as Error).message}`));
	}
}

/** Holds the namespace for `holder`, then reads its quota; a failed read gives the hold back at once. */
export async function holdWithQuota(desk: AdmissionDesk, kube: KubeClient, target: AdmissionParams & { name: string }): Promise<AdmissionHold> {
	const held = await desk.hold(target.id, target.holder);
	try {
		return { holder: target.holder, until: held.until, quota: await readQuotaReport(kube, target.name) };
	} catch (err) {
		await desk.release(target.id, target.holder);
		throw err;
	}
}

/** What the namespaces service's moleculer-db adapter is on MongoDB: its `db` is the driver's database. */
export interface MongoAdapter {
	db: { collection(name: string): RowCollection };
}

/** The desk of a namespaces service: holds shared in MongoDB/FerretDB (through its adapter), or this process's own on NeDB (none). */
export function admissionDeskFor(mongo: MongoAdapter | undefined, lockSeconds: number): AdmissionDesk {
	const store = mongo ? mongoAdmissionStore(mongo.db.collection(ADMISSIONS_COLLECTION)) : new MemoryAdmissionStore();
	return new AdmissionDesk(store, admissionTiming(lockSeconds));
}
