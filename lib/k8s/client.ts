import type { Writable } from "node:stream";
import {
	AppsV1Api,
	BatchV1Api,
	CoreV1Api,
	CustomObjectsApi,
	KubeConfig,
	KubernetesObjectApi,
	Log,
	PatchStrategy,
	VersionApi,
	type KubernetesObject,
	type V1Deployment,
} from "@kubernetes/client-node";
import { metricsUnavailable } from "../errors";
import { findKubeSource, loadKubeConfig, type KubeSource } from "./config";
import { isNotFound, statusOf, toMoleculerError } from "./errors";
import { ResilientInformer, type InformerOptions, type WatchHandler } from "./informer";
import type { ResourceKind } from "./resources";

/** Field manager of every server-side apply Berth makes. */
export const FIELD_MANAGER = "berth";

export interface ObjectRef {
	apiVersion: string;
	kind: string;
	name: string;
	namespace?: string;
}

export interface LogOptions {
	/** The apiserver's `limitBytes`: required, so no log read goes unbounded (lib/reads.ts computes it). */
	limitBytes: number;
	container?: string;
	tailLines?: number;
	sinceSeconds?: number;
	timestamps?: boolean;
}

/**
 * The Kubernetes boundary: the only class that talks to the apiserver. Every failure leaves it
 * as a Moleculer error (see errors.ts), so services never see client-node's exceptions.
 */
/** One pod's usage as the metrics API (metrics.k8s.io) reports it. */
export interface PodMetrics {
	metadata?: { name?: string };
	containers?: { name: string; usage?: { cpu?: string; memory?: string } }[];
}

/** Verbs that change the cluster (a dry run changes nothing). */
const WRITE_VERBS = new Set(["apply", "create", "replace", "delete", "orphan"]);

/** One request that changed the cluster: when (wall-clock ms), the verb and the kind (no names). */
export interface ApiserverWrite {
	at: number;
	verb: string;
	kind: string;
}

/** How many write times are kept (the fault suite asks how many came after a moment). */
const RECENT_WRITES = 256;

/**
 * Requests sent to the apiserver by this process, by verb: what tests and benchmarks read to see
 * what one action costs. Counted where each request is made, so nothing is missed. `writes` counts
 * the requests that change objects other than the controller Lease (whose renewals are the
 * elector's own), and keeps the wall-clock times of the last ones: what the fault suite reads
 * (GET /health/metrics) to see that a node which lost the Lease writes nothing more.
 */
export const apiserverRequests = {
	byVerb: new Map<string, number>(),
	/** Failed requests by `"<verb> <status>"`: the status of the error Berth makes of the failure (503: no answer). */
	errors: new Map<string, number>(),
	writes: { count: 0, recent: [] as ApiserverWrite[] },
	get total(): number {
		let n = 0;
		for (const v of this.byVerb.values()) n += v;
		return n;
	},
	/** Writes sent at or after `since` (wall-clock ms), among the last RECENT_WRITES. */
	writesSince(since: number): ApiserverWrite[] {
		return this.writes.recent.filter(w => w.at >= since);
	},
	reset(): void {
		this.byVerb.clear();
		this.errors.clear();
		this.writes = { count: 0, recent: [] };
	},
};

function count(verb: string, kind?: string): void {
	apiserverRequests.byVerb.set(verb, (apiserverRequests.byVerb.get(verb) ?? 0) + 1);
	if (!WRITE_VERBS.has(verb) || kind === "Lease") return;
	const { writes } = apiserverRequests;
	writes.count++;
	writes.recent.push({ at: Date.now(), verb, kind: kind ?? "" });
	if (writes.recent.length > RECENT_WRITES) writes.recent.shift();
}

export class KubeClient {
	readonly core: CoreV1Api;
	readonly apps: AppsV1Api;
	readonly batch: BatchV1Api;
	readonly custom: CustomObjectsApi;
	private readonly objects: KubernetesObjectApi;

	constructor(readonly kc: KubeConfig) {
		this.core = kc.makeApiClient(CoreV1Api);
		this.apps = kc.makeApiClient(AppsV1Api);
		this.batch = kc.makeApiClient(BatchV1Api);
		this.custom = kc.makeApiClient(CustomObjectsApi);
		this.objects = KubernetesObjectApi.makeApiClient(kc);
	}

	static fromEnvironment(source: KubeSource = findKubeSource()): KubeClient {
		return new KubeClient(loadKubeConfig(source));
	}

	get server(): string {
		return this.kc.getCurrentCluster()?.server ?? "";
	}

	/** Runs one apiserver call and maps its failure; counted under `verb`, the context's first word by default (its second names the kind). */
	async call<R>(context: string, fn: () => Promise<R>, verb = context.split(" ")[0]): Promise<R> {
		count(verb, context.split(" ")[1]);
		try {
			return await fn();
		} catch (err) {
			const mapped = toMoleculerError(err, context);
			const key = `${verb} ${statusOf(mapped) ?? 0}`;
			apiserverRequests.errors.set(key, (apiserverRequests.errors.get(key) ?? 0) + 1);
			throw mapped;
		}
	}

	async version(): Promise<string> {
		const info = await this.call("version", () => this.kc.makeApiClient(VersionApi).getCode());
		return info.gitVersion;
	}

	/** Server-side apply with Berth's field manager; fields owned by other managers stay theirs. */
	async apply<T extends KubernetesObject>(obj: T, opts: { dryRun?: boolean; force?: boolean } = {}): Promise<T> {
		return this.call(`apply ${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`, () =>
			this.objects.patch(obj, undefined, opts.dryRun ? "All" : undefined, FIELD_MANAGER, opts.force ?? true, PatchStrategy.ServerSideApply),
			// A dry run checks without changing anything: counted apart from the applies that do.
			opts.dryRun ? "dry-run" : "apply",
		);
	}

	/**
	 * Creates an object; 409 (conflict, reason AlreadyExists) when one of that name exists already.
	 * A dry run is the apiserver's full check of a new object and says whether the name is taken.
	 */
	async create<T extends KubernetesObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
		return this.call(
			`create ${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`,
			() => this.objects.create(obj, undefined, opts.dryRun ? "All" : undefined, FIELD_MANAGER),
			opts.dryRun ? "dry-run" : "create",
		);
	}

	/**
	 * Adds the labels and annotations of `obj` to the live object by a JSON merge patch: nothing else
	 * of it changes, whoever manages its other fields.
	 */
	async mergeMetadata<T extends KubernetesObject>(obj: T): Promise<T> {
		const { name, namespace, labels, annotations } = obj.metadata ?? {};
		const patch = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace, labels, annotations } } as T;
		return this.call(`patch ${obj.kind} ${namespace ?? ""}/${name}`, () => this.objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch));
	}

	/** Replaces an object; with metadata.resourceVersion set, 409 when someone else changed it first. */
	async replace<T extends KubernetesObject>(obj: T): Promise<T> {
		return this.call(`replace ${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`, () => this.objects.replace(obj, undefined, undefined, FIELD_MANAGER));
	}

	/** The object, or undefined when it does not exist. */
	async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
		count("get");
		try {
			return (await this.objects.read<T>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } })) as T;
		} catch (err) {
			if (isNotFound(err)) return undefined;
			throw toMoleculerError(err, `get ${ref.kind} ${ref.namespace ?? ""}/${ref.name}`);
		}
	}

	async list<T extends KubernetesObject>(resource: ResourceKind, opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
		const res = await this.call(`list ${resource.kind}`, () =>
			this.objects.list<T>(resource.apiVersion, resource.kind, opts.namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector),
		);
		return res.items;
	}

	/**
	 * Deletes with background propagation; returns false when it was already gone. With `uid`, only
	 * that object: the apiserver refuses (409) to delete another one made since under the same name.
	 */
	async delete(ref: ObjectRef, opts: { dryRun?: boolean; uid?: string } = {}): Promise<boolean> {
		count("delete", ref.kind);
		try {
			await this.objects.delete(
				{ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } },
				undefined,
				opts.dryRun ? "All" : undefined,
				undefined,
				undefined,
				"Background",
				opts.uid ? { preconditions: { uid: opts.uid } } : undefined,
			);
			return true;
		} catch (err) {
			if (isNotFound(err)) return false;
			throw toMoleculerError(err, `delete ${ref.kind} ${ref.namespace ?? ""}/${ref.name}`);
		}
	}

	/**
	 * Deletes the objects of `kinds` in `namespace` that match `labelSelector`, except those `keep`
	 * names as `Kind/name`; in the order of `kinds`. Returns how many it deleted.
	 */
	async prune(kinds: ResourceKind[], namespace: string, labelSelector: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
		let deleted = 0;
		for (const kind of kinds)
			for (const obj of await this.list(kind, { namespace, labelSelector })) {
				const name = obj.metadata?.name as string;
				if (keep.has(`${kind.kind}/${name}`)) continue;
				if (await this.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name, namespace })) deleted++;
			}
		return deleted;
	}

	/** Pod usage from the metrics API; 501 METRICS_UNAVAILABLE when the cluster serves none. */
	async podMetrics(namespace: string, labelSelector: string): Promise<PodMetrics[]> {
		try {
			const list = (await this.call("metrics", () => this.custom.listNamespacedCustomObject({ group: "metrics.k8s.io", version: "v1beta1", namespace, plural: "pods", labelSelector }))) as { items?: PodMetrics[] };
			return list.items ?? [];
		} catch (err) {
			// No metrics-server: the group is not served (404) or its APIService is down (503).
			const code = (err as { code?: number }).code ?? statusOf(err);
			if (code === 404 || code === 503) throw metricsUnavailable();
			throw err;
		}
	}

	/** Deletes a Deployment but leaves its ReplicaSets and pods running (adoption re-creates it). */
	async orphanDeployment(namespace: string, name: string): Promise<void> {
		await this.call(`orphan Deployment ${namespace}/${name}`, () => this.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: "Orphan" }));
	}

	/** Creates a Deployment from a body (an orphaned one restored). */
	async createDeployment(namespace: string, body: V1Deployment): Promise<V1Deployment> {
		return this.call(`create Deployment ${namespace}/${body.metadata?.name}`, () => this.apps.createNamespacedDeployment({ namespace, body }));
	}

	async podLogs(namespace: string, pod: string, opts: LogOptions): Promise<string> {
		return this.call(`logs ${namespace}/${pod}`, () =>
			this.core.readNamespacedPodLog({ name: pod, namespace, container: opts.container, tailLines: opts.tailLines, sinceSeconds: opts.sinceSeconds, timestamps: opts.timestamps, limitBytes: opts.limitBytes }),
		);
	}

	/**
	 * Streams a pod's log into `out` until the pod ends, `limitBytes` have come, or the returned
	 * controller aborts. The response is piped: while `out` refuses more (its write returns false),
	 * the apiserver's stream is paused.
	 */
	async followLogs(namespace: string, pod: string, out: Writable, opts: LogOptions): Promise<AbortController> {
		// client-node pipes the response into `out` without an error listener on the response: aborting
		// the follow would otherwise be an uncaught error. Ending `out` is the right outcome of an abort.
		out.once("pipe", (source: NodeJS.ReadableStream) => source.on("error", () => out.end()));
		return this.call(`follow logs ${namespace}/${pod}`, () =>
			new Log(this.kc).log(namespace, pod, opts.container ?? "", out, { follow: true, tailLines: opts.tailLines, sinceSeconds: opts.sinceSeconds, timestamps: opts.timestamps, limitBytes: opts.limitBytes }),
		);
	}

	informer<T extends KubernetesObject>(resource: ResourceKind, handler: WatchHandler<T>, opts: InformerOptions = {}): ResilientInformer<T> {
		return new ResilientInformer<T>(this.kc, this.objects, resource, handler, opts);
	}
}

/** The methods of KubeClient that change the cluster. */
const WRITE_METHODS = new Set(["apply", "create", "replace", "delete", "prune", "orphanDeployment", "createDeployment"]);

/**
 * `kube`, with `check` run before every write it sends (a dry run is no write): for leader-only
 * work, whose writes are fenced one by one (lib/leader.ts), so a pass that a pause caught halfway
 * does not go on writing when it wakes. A prune's deletes are each checked too.
 */
export function checkedWrites(kube: KubeClient, check: () => void): KubeClient {
	const proxy: KubeClient = new Proxy(kube, {
		get(target, prop, receiver) {
			const value = Reflect.get(target, prop, receiver) as unknown;
			if (typeof value !== "function") return value;
			if (typeof prop !== "string" || !WRITE_METHODS.has(prop)) return value.bind(target);
			// Every write is async: a refused one is a rejected promise like any failed request.
			return async (...args: unknown[]) => {
				if (!(prop === "apply" && (args[1] as { dryRun?: boolean } | undefined)?.dryRun)) check();
				return value.apply(proxy, args);
			};
		},
	});
	return proxy;
}
