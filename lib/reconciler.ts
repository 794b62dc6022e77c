import { performance } from "node:perf_hooks";

/**
 * A small level-based work queue, after client-go's workqueue + controller-runtime's loop.
 *
 * A key ("look at entity K") is all an event carries: the reconcile function reads desired and
 * actual state itself, so ten events for one key while it waits collapse into one run. One key is
 * never worked on by two workers at once; a key enqueued while it runs is run again afterwards.
 * Failures requeue with exponential backoff; every `resyncMs` all known keys are enqueued, which
 * heals whatever events were missed.
 */

export interface ReconcileResult {
	/** Run this key again after this many ms, even on success (e.g. waiting for a rollout). */
	requeueAfterMs?: number;
}

export interface ReconcilerLogger {
	debug(...args: unknown[]): void;
	warn(...args: unknown[]): void;
}

export interface ReconcilerOptions {
	/** For log lines. */
	name: string;
	reconcile(key: string): Promise<ReconcileResult | void>;
	/** Every key that exists (for the periodic resync). */
	listKeys?(): Promise<string[]>;
	/** 0 or undefined: no periodic resync. */
	resyncMs?: number;
	/** Keys worked on at the same time (different keys only). */
	concurrency?: number;
	minBackoffMs?: number;
	maxBackoffMs?: number;
	logger?: ReconcilerLogger;
	/** Called after every failed run, with the delay before the retry. */
	onError?(key: string, err: unknown, retryInMs: number): void;
	/** Called after every run with how long it took (metrics). */
	onRun?(seconds: number, ok: boolean): void;
	/** Called when every key of a resync has run once since it was enqueued: how many, and how long that took. */
	onResync?(keys: number, seconds: number): void;
}

interface Waiter {
	resolve(): void;
	reject(err: unknown): void;
}

export class Reconciler {
	private readonly queue: string[] = [];
	private readonly queued = new Set<string>();
	private readonly running = new Set<string>();
	/** Enqueued again while running: run once more when the current run ends. */
	private readonly dirty = new Set<string>();
	private readonly failures = new Map<string, number>();
	private readonly delayed = new Map<string, NodeJS.Timeout>();
	/** Waiting for the next run of a key to *start*. */
	private readonly nextWaiters = new Map<string, Waiter[]>();
	private readonly inFlight = new Set<Promise<void>>();
	private resyncTimer?: NodeJS.Timeout;
	private started = false;
	/** The resync under way: the keys that have not run since it enqueued them, and when it began. */
	private round?: { left: Set<string>; keys: number; startedAt: number };

	constructor(private readonly opts: ReconcilerOptions) {}

	get isStarted(): boolean {
		return this.started;
	}

	/** Keys waiting or running (for tests and metrics). */
	get pending(): number {
		return this.queued.size + this.running.size + this.delayed.size;
	}

	start(): void {
		if (this.started) return;
		this.started = true;
		if (this.opts.resyncMs && this.opts.resyncMs > 0) {
			this.resyncTimer = setInterval(() => void this.resync(), this.opts.resyncMs);
			this.resyncTimer.unref?.();
		}
		this.pump();
	}

	/** Stops taking work, waits for the runs in progress, and fails every pending sync(). */
	async stop(): Promise<void> {
		this.started = false;
		if (this.resyncTimer) clearInterval(this.resyncTimer);
		this.resyncTimer = undefined;
		for (const timer of this.delayed.values()) clearTimeout(timer);
		this.delayed.clear();
		await Promise.allSettled([...this.inFlight]);
		const stopped = new Error(`reconciler ${this.opts.name} stopped`);
		for (const waiters of this.nextWaiters.values()) for (const w of waiters) w.reject(stopped);
		this.nextWaiters.clear();
		this.queue.length = 0;
		this.queued.clear();
		this.dirty.clear();
		this.failures.clear();
		this.round = undefined;
	}

	/** Asks for key to be reconciled soon. Cheap and idempotent: call it from any event. */
	enqueue(key: string): void {
		const timer = this.delayed.get(key);
		if (timer) {
			clearTimeout(timer);
			this.delayed.delete(key);
		}
		if (this.running.has(key)) {
			this.dirty.add(key);
			return;
		}
		if (this.queued.has(key)) return;
		this.queued.add(key);
		this.queue.push(key);
		this.pump();
	}

	/** Enqueues key after delayMs, unless it gets enqueued sooner. */
	enqueueAfter(key: string, delayMs: number): void {
		if (!this.started) return;
		if (this.delayed.has(key) || this.queued.has(key)) return;
		const timer = setTimeout(() => {
			this.delayed.delete(key);
			this.enqueue(key);
		}, delayMs);
		timer.unref?.();
		this.delayed.set(key, timer);
	}

	/**
	 * Enqueues key at the head of the queue (a caller is waiting for it, unlike the watch events
	 * and resyncs behind it) and resolves when a run that started after this call has ended: with
	 * nothing on success, with its error on failure (the key is still retried in the background).
	 */
	sync(key: string): Promise<void> {
		if (!this.started) return Promise.reject(new Error(`reconciler ${this.opts.name} is not running`));
		const done = new Promise<void>((resolve, reject) => {
			const list = this.nextWaiters.get(key) ?? [];
			list.push({ resolve, reject });
			this.nextWaiters.set(key, list);
		});
		this.enqueue(key);
		this.moveToFront(key);
		return done;
	}

	private moveToFront(key: string): void {
		const at = this.queue.indexOf(key);
		if (at <= 0) return;
		this.queue.splice(at, 1);
		this.queue.unshift(key);
	}

	/** Forgets a key's failure history and any delayed retry (e.g. after the entity was removed). */
	forget(key: string): void {
		const timer = this.delayed.get(key);
		if (timer) clearTimeout(timer);
		this.delayed.delete(key);
		this.failures.delete(key);
	}

	/**
	 * Enqueues every key listKeys() returns. The first resync while none is under way is timed until
	 * each of its keys has run once (onResync); one that starts meanwhile only enqueues.
	 */
	async resync(): Promise<void> {
		if (!this.opts.listKeys || !this.started) return;
		try {
			const startedAt = performance.now();
			const keys = await this.opts.listKeys();
			if (!this.round) this.round = { left: new Set(keys), keys: keys.length, startedAt };
			for (const key of keys) this.enqueue(key);
			this.roundRan();
		} catch (err) {
			this.opts.logger?.warn(`[${this.opts.name}] resync could not list keys:`, (err as Error).message);
		}
	}

	/** A key of the resync under way has run (or none was left): reports the round once it is done. */
	private roundRan(key?: string): void {
		const round = this.round;
		if (!round) return;
		if (key !== undefined) round.left.delete(key);
		if (round.left.size) return;
		this.round = undefined;
		this.opts.onResync?.(round.keys, (performance.now() - round.startedAt) / 1000);
	}

	private pump(): void {
		if (!this.started) return;
		const limit = Math.max(1, this.opts.concurrency ?? 4);
		while (this.running.size < limit && this.queue.length > 0) {
			const key = this.queue.shift() as string;
			this.queued.delete(key);
			const run = this.run(key);
			this.inFlight.add(run);
			void run.finally(() => this.inFlight.delete(run));
		}
	}

	private async run(key: string): Promise<void> {
		this.running.add(key);
		const waiters = this.nextWaiters.get(key) ?? [];
		this.nextWaiters.delete(key);
		let error: unknown;
		let result: ReconcileResult | void = undefined;
		const started = performance.now();
		try {
			result = await this.opts.reconcile(key);
		} catch (err) {
			error = err;
		}
		this.opts.onRun?.((performance.now() - started) / 1000, error === undefined);
		this.running.delete(key);
		this.roundRan(key);
		if (error === undefined) {
			this.failures.delete(key);
			for (const w of waiters) w.resolve();
		} else {
			const attempt = (this.failures.get(key) ?? 0) + 1;
			this.failures.set(key, attempt);
			const min = this.opts.minBackoffMs ?? 200;
			const delay = Math.min(min * 2 ** (attempt - 1), this.opts.maxBackoffMs ?? 60_000);
			this.opts.onError?.(key, error, delay);
			this.opts.logger?.warn(`[${this.opts.name}] reconcile ${key} failed (attempt ${attempt}, retry in ${delay} ms):`, (error as Error)?.message ?? error);
			for (const w of waiters) w.reject(error);
			// A failing key waits out its backoff even if events keep arriving for it.
			this.dirty.delete(key);
			this.enqueueAfter(key, delay);
		}
		if (this.dirty.delete(key)) this.enqueue(key);
		else if (error === undefined && result && result.requeueAfterMs) this.enqueueAfter(key, result.requeueAfterMs);
		this.pump();
	}
}
