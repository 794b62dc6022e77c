import { makeInformer, type KubeConfig, type KubernetesObject, type KubernetesObjectApi, type KubernetesListObject } from "@kubernetes/client-node";
import { collectionPath, type ResourceKind } from "./resources";

export type WatchEvent = "add" | "update" | "delete";
/** `writtenAt`: when the apiserver last wrote the object (ms; its managedFields times), before they are dropped. */
export type WatchHandler<T> = (event: WatchEvent, obj: T, writtenAt?: number) => void;

export interface InformerOptions {
	namespace?: string;
	labelSelector?: string;
	/** First and largest delay between restarts after an error, in ms. */
	minBackoffMs?: number;
	maxBackoffMs?: number;
	onError?: (err: unknown, retryInMs: number) => void;
}

/** The latest write the apiserver recorded on the object (its managedFields times, 1 s resolution), in ms. */
export function lastWriteAt(obj: KubernetesObject): number | undefined {
	const times = (obj.metadata?.managedFields ?? []).map(f => (f.time ? new Date(f.time).getTime() : NaN)).filter(Number.isFinite);
	return times.length ? Math.max(...times) : undefined;
}

/**
 * Drops metadata.managedFields from an object the informer caches (the handler gets the cached
 * object itself): server-side apply's bookkeeping is often the larger part of an object, and no
 * reader of a cache needs it (docs/BENCHMARKS.md, memory). Reads through the apiserver keep it.
 */
function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
	if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
	return obj;
}

/**
 * A watch that stays up. client-node's informer relists by itself on 410 Gone but stops on any
 * other error; this one restarts it with exponential backoff until stop() is called.
 */
export class ResilientInformer<T extends KubernetesObject> {
	private readonly informer;
	private stopped = true;
	private backoffMs: number;
	private timer?: NodeJS.Timeout;
	private synced = false;

	constructor(kc: KubeConfig, objects: KubernetesObjectApi, private readonly resource: ResourceKind, handler: WatchHandler<T>, private readonly opts: InformerOptions = {}) {
		this.backoffMs = opts.minBackoffMs ?? 500;
		const list = () => objects.list<T>(resource.apiVersion, resource.kind, opts.namespace, undefined, undefined, undefined, undefined, opts.labelSelector) as Promise<KubernetesListObject<T>>;
		this.informer = makeInformer<T>(kc, collectionPath(resource, opts.namespace), list, opts.labelSelector);
		for (const event of ["add", "update", "delete"] as const)
			this.informer.on(event, obj => {
				const writtenAt = lastWriteAt(obj);
				handler(event, withoutManagedFields(obj), writtenAt);
			});
		this.informer.on("connect", () => {
			this.synced = true;
			this.backoffMs = opts.minBackoffMs ?? 500;
		});
		this.informer.on("error", err => this.restartLater(err));
	}

	get kind(): string {
		return this.resource.kind;
	}

	/** True once the first list has completed since the last (re)start. */
	get hasSynced(): boolean {
		return this.synced;
	}

	/** Objects currently known, from the informer's cache. */
	list(namespace?: string): readonly T[] {
		return this.informer.list(namespace);
	}

	get(name: string, namespace?: string): T | undefined {
		return this.informer.get(name, namespace);
	}

	async start(): Promise<void> {
		this.stopped = false;
		try {
			await this.informer.start();
		} catch (err) {
			this.restartLater(err);
		}
	}

	async stop(): Promise<void> {
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
		await this.informer.stop();
	}

	private restartLater(err: unknown): void {
		if (this.stopped) return;
		this.synced = false;
		const delay = this.backoffMs;
		this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
		this.opts.onError?.(err, delay);
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.timer = undefined;
			if (!this.stopped) this.start();
		}, delay);
	}
}
