import { Reconciler, type ReconcilerOptions } from "../../lib/reconciler";

const tick = (ms = 0) => new Promise(r => setTimeout(r, ms));

function deferred() {
	let resolve!: () => void;
	let reject!: (err: unknown) => void;
	const promise = new Promise<void>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

describe("Reconciler", () => {
	let rec: Reconciler | undefined;
	const make = (opts: Partial<ReconcilerOptions> & Pick<ReconcilerOptions, "reconcile">) => {
		rec = new Reconciler({ name: "test", minBackoffMs: 10, maxBackoffMs: 40, ...opts });
		rec.start();
		return rec;
	};
	afterEach(async () => {
		await rec?.stop();
		rec = undefined;
	});

	/** One worker, kept busy by key "block" until `gate` resolves, so other keys wait in the queue. */
	const oneBlockedWorker = () => {
		const runs: string[] = [];
		const gate = deferred();
		const r = make({
			concurrency: 1,
			reconcile: async key => {
				if (key === "block") await gate.promise;
				runs.push(key);
			},
		});
		r.enqueue("block");
		return { r, runs, gate };
	};

	it("collapses repeated enqueues of a waiting key into one run", async () => {
		const { r, runs, gate } = oneBlockedWorker();
		r.enqueue("a");
		r.enqueue("b");
		r.enqueue("b");
		r.enqueue("a");
		r.enqueue("c");
		gate.resolve();
		while (r.pending > 0) await tick(1);
		expect(runs).toEqual(["block", "a", "b", "c"]);
	});

	it("serves a key somebody waits for with sync() before the queued events and resyncs", async () => {
		const { r, runs, gate } = oneBlockedWorker();
		for (const k of ["a", "b", "c"]) r.enqueue(k);
		const synced = r.sync("c");
		gate.resolve();
		await synced;
		expect(runs.slice(0, 2)).toEqual(["block", "c"]);
		await r.sync("b");
		expect(runs.slice(0, 4)).toEqual(["block", "c", "a", "b"]);
	});

	it("never runs one key twice at once, and runs it again when enqueued while running", async () => {
		let active = 0;
		let maxActive = 0;
		let runs = 0;
		const gates = [deferred(), deferred()];
		const r = make({
			reconcile: async () => {
				active++;
				maxActive = Math.max(maxActive, active);
				await gates[runs++]?.promise;
				active--;
			},
		});
		r.enqueue("k");
		await tick();
		r.enqueue("k");
		r.enqueue("k");
		await tick();
		expect(runs).toBe(1);
		gates[0].resolve();
		await tick(5);
		expect(runs).toBe(2);
		gates[1].resolve();
		await tick(5);
		expect(maxActive).toBe(1);
		expect(runs).toBe(2);
	});

	it("runs different keys concurrently up to the limit", async () => {
		const gate = deferred();
		let active = 0;
		let maxActive = 0;
		const r = make({
			concurrency: 2,
			reconcile: async () => {
				active++;
				maxActive = Math.max(maxActive, active);
				await gate.promise;
				active--;
			},
		});
		for (const k of ["a", "b", "c", "d"]) r.enqueue(k);
		await tick(5);
		expect(maxActive).toBe(2);
		gate.resolve();
		await r.sync("e");
		expect(maxActive).toBe(2);
	});

	it("retries a failing key with growing backoff until it succeeds, and sync() reports the failure", async () => {
		const times: number[] = [];
		const errors: number[] = [];
		const r = make({
			reconcile: async () => {
				times.push(Date.now());
				if (times.length < 4) throw new Error(`boom ${times.length}`);
			},
			onError: (_key, _err, retryIn) => errors.push(retryIn),
		});
		await expect(r.sync("k")).rejects.toThrow("boom 1");
		await tick(150);
		expect(times).toHaveLength(4);
		expect(errors).toEqual([10, 20, 40]);
		expect(times[3] - times[2]).toBeGreaterThanOrEqual(35);
		// success resets the backoff
		await r.sync("k");
		expect(times).toHaveLength(5);
	});

	it("sync() waits for a run that starts after the call", async () => {
		const seen: number[] = [];
		let version = 0;
		const gate = deferred();
		const r = make({
			reconcile: async () => {
				const v = version;
				if (seen.length === 0) await gate.promise;
				seen.push(v);
			},
		});
		r.enqueue("k");
		await tick();
		version = 1;
		const synced = r.sync("k");
		gate.resolve();
		await synced;
		// the run that was already going saw version 0; sync resolved only after one saw version 1
		expect(seen).toEqual([0, 1]);
	});

	it("requeues after a successful run when asked to", async () => {
		let runs = 0;
		const r = make({ reconcile: async () => (++runs < 3 ? { requeueAfterMs: 5 } : undefined) });
		r.enqueue("k");
		await tick(60);
		expect(runs).toBe(3);
	});

	it("resyncs every key periodically", async () => {
		const runs = new Map<string, number>();
		const r = make({ resyncMs: 20, listKeys: async () => ["a", "b"], reconcile: async key => void runs.set(key, (runs.get(key) ?? 0) + 1) });
		await tick(70);
		expect(runs.get("a")).toBeGreaterThanOrEqual(2);
		expect(runs.get("b")).toBeGreaterThanOrEqual(2);
		await r.stop();
		const after = runs.get("a");
		await tick(50);
		expect(runs.get("a")).toBe(after);
	});

	it("keeps resyncing when listing keys fails", async () => {
		let calls = 0;
		const warnings: unknown[] = [];
		make({
			resyncMs: 10,
			listKeys: async () => {
				calls++;
				throw new Error("db down");
			},
			reconcile: async () => undefined,
			logger: { debug: () => undefined, warn: (...a) => warnings.push(a) },
		});
		await tick(45);
		expect(calls).toBeGreaterThanOrEqual(2);
		expect(warnings.length).toBe(calls);
	});

	it("forget() drops a pending retry", async () => {
		let runs = 0;
		const r = make({
			minBackoffMs: 30,
			reconcile: async () => {
				runs++;
				throw new Error("nope");
			},
		});
		await expect(r.sync("k")).rejects.toThrow("nope");
		r.forget("k");
		await tick(80);
		expect(runs).toBe(1);
	});

	it("stop() waits for running work and rejects sync() afterwards", async () => {
		const gate = deferred();
		let finished = false;
		const r = make({
			reconcile: async () => {
				await gate.promise;
				finished = true;
			},
		});
		r.enqueue("k");
		await tick();
		const stopping = r.stop();
		gate.resolve();
		await stopping;
		expect(finished).toBe(true);
		await expect(r.sync("k")).rejects.toThrow("not running");
	});

	it("reports a resync once each of its keys has run, failed runs included, and a second resync meanwhile only enqueues", async () => {
		const gate = deferred();
		const rounds: number[] = [];
		const r = make({
			concurrency: 2,
			listKeys: async () => ["a", "b", "c"],
			onResync: keys => rounds.push(keys),
			reconcile: async key => {
				if (key === "a") await gate.promise;
				if (key === "b") throw new Error("nope");
			},
		});
		await r.resync();
		await r.resync();
		await tick(20);
		expect(rounds).toEqual([]);
		gate.resolve();
		await tick(20);
		expect(rounds).toEqual([3]);
	});

	it("reports an empty resync at once", async () => {
		const rounds: number[] = [];
		const r = make({ listKeys: async () => [], onResync: keys => rounds.push(keys), reconcile: async () => undefined });
		await r.resync();
		expect(rounds).toEqual([0]);
	});
});
