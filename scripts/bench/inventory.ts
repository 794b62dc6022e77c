import { KubeClient, type KubernetesObject } from "../../lib/k8s";
import type { BenchCluster } from "./cluster";
import type { Mesh } from "./mesh";
import { log, pad, pool, sleep, waitFor, type BenchConfig } from "./util";

export interface InventoryResult {
	pods: number;
	failed: number;
	/** From the first create request until the last create was answered. */
	createSeconds: number;
	/** From the last create answered until the inventory API counted them all. */
	lagSeconds: number;
	/** Pods over the time from the first create until all were visible. */
	objectsPerSec: number;
}

export interface RelistResult {
	/** The idle mesh's time from spawn to a synced inventory on the empty cluster, when it was measured. */
	idleSyncedSeconds?: number;
	/** Objects over (visibleSeconds − idleSyncedSeconds): what listing and indexing them took, boot aside. */
	listObjectsPerSec?: number;
	/** Objects the inventory holds after the restart (every kind, every namespace). */
	objects: number;
	pods: number;
	/** From spawning the process until it answered /health/ready (it lists before it serves). */
	readySeconds: number;
	/** From spawning the process until the API counted every benchmark pod. */
	visibleSeconds: number;
	objectsPerSec: number;
}

/** The node kwok simulates (scripts/cluster/manifests/cluster.yaml). */
const NODE = "berth-node-0";

function podManifest(namespace: string, name: string): KubernetesObject {
	// Bound to the kwok node directly: what is measured is the inventory, not kube-scheduler on two cores.
	return {
		apiVersion: "v1",
		kind: "Pod",
		metadata: { name, namespace, labels: { app: "bench-inventory" } },
		spec: { nodeName: NODE, containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "1m", memory: "1Mi" } } }] },
	} as KubernetesObject;
}

async function podsVisible(mesh: Mesh, namespace: string): Promise<number> {
	const res = await mesh.api<{ total?: number }>("GET", `/api/v1/k8s/inventory/pods?namespace=${namespace}&limit=1`);
	return res.status === 200 ? (res.body?.total ?? 0) : 0;
}

/**
 * Benchmark 3: pods created straight through the apiserver (not through Berth),
 * `config.podConcurrency` requests at a time, while the inventory API is polled every 100 ms for
 * how many of them it shows.
 */
export async function benchInventory(mesh: Mesh, cluster: BenchCluster, config: BenchConfig, namespace: string): Promise<InventoryResult> {
	const kube = KubeClient.fromEnvironment({ kind: "file", path: cluster.kubeconfig });
	await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { "app.kubernetes.io/part-of": "berth-bench" } } } as KubernetesObject);
	await waitFor(`serviceaccount ${namespace}/default`, 60_000, async () => ((await kube.get({ apiVersion: "v1", kind: "ServiceAccount", namespace, name: "default" })) ? true : undefined));
	await waitFor(`the inventory to show namespace ${namespace}`, 60_000, async () => ((await mesh.api("GET", `/api/v1/k8s/inventory/namespaces/${namespace}`)).status === 200 ? true : undefined));

	const width = String(config.pods - 1).length;
	const names = Array.from({ length: config.pods }, (_, i) => `p-${pad(i, width)}`);
	let failed = 0;
	let lastCreated = 0;
	let visibleAt = 0;
	let visible = 0;
	let creating = true;
	log(`inventory: creating ${names.length} pods outside Berth, ${config.podConcurrency} at a time`);
	const t0 = performance.now();
	const watcher = (async () => {
		while (!visibleAt) {
			const before = performance.now();
			visible = await podsVisible(mesh, namespace).catch(() => visible);
			if (!creating && visible >= names.length - failed) visibleAt = performance.now();
			await sleep(Math.max(0, 100 - (performance.now() - before)));
		}
	})();
	let lastLog = Date.now();
	await pool(names, config.podConcurrency, async name => {
		for (let attempt = 1; ; attempt++) {
			try {
				await kube.create(podManifest(namespace, name));
				break;
			} catch (err) {
				const code = (err as { code?: number }).code ?? 500;
				if (attempt < 5 && (code === 429 || code >= 500)) {
					await sleep(200 * attempt);
					continue;
				}
				failed++;
				log(`inventory: create ${name}: ${(err as Error).message}`);
				break;
			}
		}
		if (Date.now() - lastLog > 5_000) {
			lastLog = Date.now();
			log(`inventory: ${Math.round((performance.now() - t0) / 1000)} s, inventory shows ${visible}`);
		}
	});
	lastCreated = performance.now();
	creating = false;
	log(`inventory: ${names.length - failed} pods created in ${((lastCreated - t0) / 1000).toFixed(1)} s; the inventory shows ${visible}`);
	try {
		await waitFor(`the inventory to show all ${names.length - failed} pods`, 300_000, async () => (visibleAt ? true : undefined), 20);
	} finally {
		if (!visibleAt) visibleAt = -1; // stops the poller
		await watcher;
	}
	const pods = names.length - failed;
	const lagSeconds = Math.max(0, (visibleAt - lastCreated) / 1000);
	const total = (visibleAt - t0) / 1000;
	log(`inventory: all ${pods} visible ${lagSeconds.toFixed(2)} s after the last creation`);
	return { pods, failed, createSeconds: (lastCreated - t0) / 1000, lagSeconds, objectsPerSec: pods / total };
}

/** After a restart: how long until a new mesh process serves the inventory with every pod in it. */
export async function measureRelist(start: () => Promise<Mesh>, namespace: string, pods: number, idleSyncedSeconds?: number): Promise<{ mesh: Mesh; result: RelistResult }> {
	const t0 = performance.now();
	const mesh = await start();
	const readySeconds = mesh.readySeconds;
	await waitFor(`the restarted inventory to show ${pods} pods`, 300_000, async () => ((await podsVisible(mesh, namespace)) >= pods ? true : undefined), 50);
	const visibleSeconds = (performance.now() - t0) / 1000;
	const summary = await mesh.must<{ counts: Record<string, number> }>("GET", "/api/v1/k8s/inventory");
	const objects = Object.values(summary.counts).reduce((a, b) => a + b, 0);
	const listSeconds = idleSyncedSeconds === undefined ? undefined : visibleSeconds - idleSyncedSeconds;
	return { mesh, result: { objects, pods, readySeconds, visibleSeconds, objectsPerSec: objects / visibleSeconds, idleSyncedSeconds, listObjectsPerSec: listSeconds && listSeconds > 0 ? objects / listSeconds : undefined } };
}
