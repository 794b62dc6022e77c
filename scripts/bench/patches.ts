/**
 * Proposed fixes, measured before they land: `BENCH_PATCHES=k8s-keepalive,auth-cache npm run bench`
 * preloads this module into the mesh process (`node --require`), which changes the mesh the way
 * the proposal in docs/BENCHMARKS.md would. Nothing here runs in a normal start.
 *
 * - k8s-keepalive: every KubeConfig keeps one undici Agent per cluster and TLS material, so calls
 *   to the apiserver reuse connections (client-node 2.0.1 makes an Agent, so a TLS handshake, per call).
 * - auth-cache: the gateway's `v1.keys.authenticate` answers are kept for 5 s per presented key.
 * - reconcile-priority: a reconciler's `sync()` (an action waiting for its own change to be applied)
 *   puts its key at the head of the queue instead of behind the watch events and the resync.
 * - reconcile-concurrency: reconcilers run 16 keys at once instead of 4 (the work waits on the apiserver).
 */
import { createHash } from "node:crypto";
import { reuseConnections } from "./util";

const wanted = new Set((process.env.BENCH_PATCHES ?? "").split(",").map(s => s.trim()).filter(Boolean));

if (wanted.has("k8s-keepalive")) {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const config = require("../../lib/k8s/config") as { loadKubeConfig: (...args: unknown[]) => unknown };
	const load = config.loadKubeConfig;
	config.loadKubeConfig = (...args: unknown[]) => reuseConnections({ kc: load(...args) }).kc;
}

if (wanted.has("auth-cache")) {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { ServiceBroker } = require("moleculer") as { ServiceBroker: { prototype: { call: (action: string, params?: unknown, opts?: unknown) => Promise<unknown> } } };
	const call = ServiceBroker.prototype.call;
	const cache = new Map<string, { at: number; identity: Promise<unknown> }>();
	ServiceBroker.prototype.call = function (this: unknown, action: string, params?: unknown, opts?: unknown) {
		if (action !== "v1.keys.authenticate") return call.call(this, action, params, opts);
		const key = createHash("sha256").update(String((params as { key?: string })?.key)).digest("hex");
		const hit = cache.get(key);
		if (hit && Date.now() - hit.at < 5_000) return hit.identity;
		const identity = call.call(this, action, params, opts);
		cache.set(key, { at: Date.now(), identity });
		identity.catch(() => cache.delete(key));
		return identity;
	};
}

if (wanted.has("reconcile-priority")) {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { Reconciler } = require("../../lib/reconciler") as { Reconciler: { prototype: { sync(key: string): Promise<void> } } };
	const sync = Reconciler.prototype.sync;
	Reconciler.prototype.sync = function (this: { queue: string[] }, key: string) {
		const done = sync.call(this, key);
		const at = this.queue.indexOf(key);
		if (at > 0) {
			this.queue.splice(at, 1);
			this.queue.unshift(key);
		}
		return done;
	};
}

if (wanted.has("reconcile-concurrency")) {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const module = require("../../lib/reconciler") as { Reconciler: new (opts: { concurrency?: number }) => object };
	const Base = module.Reconciler;
	module.Reconciler = class extends Base {
		constructor(opts: { concurrency?: number }) {
			super({ ...opts, concurrency: opts.concurrency ?? 16 });
		}
	};
}
