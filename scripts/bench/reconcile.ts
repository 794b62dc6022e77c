/**
 * Benchmark 6, reconcile latency: from `POST /api/v1/k8s/deployments/:id/scale` until a watch on
 * the apiserver sees the Deployment's spec.replicas change, p50/p99 over BENCH_SCALES (default 200)
 * scales between 0 and 1; against `kubectl scale deployment/… --replicas=…` of a plain Deployment of
 * the same image, measured the same way, with no Berth process running.
 */
import { randomBytes } from "node:crypto";
import { KubeClient, Kinds, type KubernetesObject } from "../../lib/k8s";
import { kubectl } from "./cluster";
import { BENCH_QUOTA } from "./deploy";
import type { BenchRow } from "./rows";
import { startMetered, type ScaleContext } from "./scale";
import { percentile } from "./scrape";
import { log, waitFor } from "./util";

type Deployment = KubernetesObject & { spec?: { replicas?: number } };

export function scalesCount(): number {
	const raw = process.env.BENCH_SCALES;
	const n = raw ? Number(raw) : 200;
	if (!Number.isInteger(n) || n < 2) throw new Error(`BENCH_SCALES=${raw}: expected an integer ≥ 2`);
	return n;
}

/** A watch on one Deployment: resolves `next(replicas)` at the first event that shows them. */
class ReplicasWatch {
	private waiters: Array<{ replicas: number; resolve: (at: number) => void }> = [];
	private informer;

	constructor(kube: KubeClient, namespace: string, name: string) {
		this.informer = kube.informer<Deployment>(Kinds.Deployment, (_event, obj) => {
			if (obj.metadata?.name !== name) return;
			const at = performance.now();
			const replicas = obj.spec?.replicas;
			this.waiters = this.waiters.filter(w => (w.replicas === replicas ? (w.resolve(at), false) : true));
		}, { namespace });
	}

	start(): Promise<void> {
		return this.informer.start();
	}

	stop(): Promise<void> {
		return this.informer.stop();
	}

	/** When the watch first shows `replicas` after this call. */
	next(replicas: number, timeoutMs = 60_000): Promise<number> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no watch event with replicas ${replicas} in ${timeoutMs / 1000} s`)), timeoutMs);
			this.waiters.push({ replicas, resolve: at => (clearTimeout(timer), resolve(at)) });
		});
	}
}

/** `n` scales alternating 1 and 0 by `scale(replicas)`, each timed until the watch shows it. */
async function timeScales(watch: ReplicasWatch, n: number, scale: (replicas: number) => Promise<void>): Promise<number[]> {
	const ms: number[] = [];
	for (let k = 0; k < n; k++) {
		const replicas = k % 2 === 0 ? 1 : 0;
		const seen = watch.next(replicas);
		const t0 = performance.now();
		await scale(replicas);
		ms.push((await seen) - t0);
	}
	return ms;
}

async function kubectlSide(ctx: ScaleContext, kube: KubeClient, n: number, namespace: string): Promise<number[]> {
	const name = "scaled";
	await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } } as KubernetesObject);
	ctx.createdNamespaces?.push(namespace);
	const labels = { app: name };
	await kube.apply({
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name, namespace },
		spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "nginx", image: "nginx:1.27", resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "256Mi" } } }] } } },
	} as KubernetesObject);
	const watch = new ReplicasWatch(kube, namespace, name);
	await watch.start();
	try {
		return await timeScales(watch, n, async replicas => {
			const res = await kubectl(ctx.cluster, ["-n", namespace, "scale", `deployment/${name}`, `--replicas=${replicas}`], 60_000);
			if (res.code !== 0) throw new Error(`kubectl scale: ${res.stderr.slice(0, 300)}`);
		});
	} finally {
		await watch.stop();
	}
}

async function berthSide(ctx: ScaleContext, kube: KubeClient, n: number, namespace: string): Promise<number[]> {
	const { mesh } = await startMetered(ctx, "reconcile");
	try {
		await mesh.must("POST", "/api/v1/k8s/namespaces", { name: namespace, quota: BENCH_QUOTA });
		ctx.createdNamespaces?.push(namespace);
		const dep = await mesh.must<{ id: string }>("POST", "/api/v1/k8s/deployments", { name: "scaled", namespace, image: "nginx", replicas: 0 });
		await waitFor("the Deployment in the apiserver", 60_000, async () => ((await kube.get({ apiVersion: "apps/v1", kind: "Deployment", namespace, name: "scaled" })) ? true : undefined));
		const watch = new ReplicasWatch(kube, namespace, "scaled");
		await watch.start();
		try {
			return await timeScales(watch, n, async replicas => {
				await mesh.must("POST", `/api/v1/k8s/deployments/${dep.id}/scale`, { replicas });
			});
		} finally {
			await watch.stop();
		}
	} finally {
		await mesh.stop();
	}
}

export async function runReconcileLatency(ctx: ScaleContext): Promise<BenchRow[]> {
	const n = scalesCount();
	const kube = KubeClient.fromEnvironment({ kind: "file", path: ctx.cluster.kubeconfig });
	const tag = randomBytes(2).toString("hex");
	log(`reconcile: ${n} scales with kubectl scale (no Berth process running)`);
	const viaKubectl = await kubectlSide(ctx, kube, n, `bench-scale-kubectl-${tag}`);
	log(`reconcile: kubectl scale p50 ${percentile(viaKubectl, 50).toFixed(0)} ms, p99 ${percentile(viaKubectl, 99).toFixed(0)} ms; now ${n} through POST /:id/scale`);
	const viaBerth = await berthSide(ctx, kube, n, `bench-scale-berth-${tag}`);
	log(`reconcile: Berth scale p50 ${percentile(viaBerth, 50).toFixed(0)} ms, p99 ${percentile(viaBerth, 99).toFixed(0)} ms`);
	const row = (id: string, p: number): BenchRow => {
		const berth = percentile(viaBerth, p);
		const baseline = percentile(viaKubectl, p);
		return { id, benchmark: `reconcile latency: POST /:id/scale until the watch shows spec.replicas, p${p} of ${n}, vs kubectl scale`, berth, baseline, unit: "ms", ratio: berth / baseline, target: "≤ 1.0×", met: berth <= baseline };
	};
	return [row("6a", 50), row("6b", 99)];
}
