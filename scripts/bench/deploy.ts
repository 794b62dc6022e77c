import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { KubeClient } from "../../lib/k8s";
import { dataChecksum } from "../../lib/manifests/configmap";
import { deploymentManifests, type CatalogImage, type DeploymentEntity } from "../../lib/manifests/deployment";
import { loadConfig } from "../../lib/config";
import { namespaceManifests, type NamespaceQuota } from "../../lib/manifests/namespace";
import { kubectl, type BenchCluster } from "./cluster";
import type { Mesh } from "./mesh";
import { log, pad, pool, repoRoot, since, waitFor, type BenchConfig } from "./util";

/**
 * Room for every benchmark's pods and deployments: the quota must never be what is measured.
 * pods is 9999, not 10000: the apiserver reports 10000 back as "10k", which the deployments
 * service's quota check reads as 10 (Number.parseFloat; see docs/BENCHMARKS.md).
 */
export const BENCH_QUOTA: NamespaceQuota = { cpu: "2000", memory: "4Ti", storage: "4Ti", pods: 9999, gpu: 0 };

/** The catalog app each side deploys: nginx with a config file, so Deployment + Service + Ingress + ConfigMap. */
const IMAGE = "nginx";
const SITE = { name: "site", data: { "default.conf": "server {\n  listen 80;\n  location / { return 200 'benchmark\\n'; }\n}\n" } };

export function appName(i: number, width: number): string {
	return `app-${pad(i, width)}`;
}

export interface DeploySide {
	/** Wall time from the first request until every app is Ready. */
	seconds: number;
	/** When the last create/apply was answered. */
	submittedSeconds: number;
	ready: number;
	failed: number;
	/** Creates answered 409 though this run's own earlier try had made the deployment. */
	conflicts?: number;
	notes: string[];
}

export interface DeployResult {
	apps: number;
	berth?: DeploySide;
	kubectl?: DeploySide;
	ratio?: number;
}

/** The default ServiceAccount exists: without it pods are refused, and the ReplicaSets back off. */
async function waitForServiceAccount(cluster: BenchCluster, namespace: string): Promise<void> {
	await waitFor(`serviceaccount ${namespace}/default`, 60_000, async () => ((await kubectl(cluster, ["-n", namespace, "get", "serviceaccount", "default", "-o", "name"], 15_000)).code === 0 ? true : undefined), 250);
}

/** What `POST /api/v1/k8s/deployments/generate` answers for the same params: Berth's own pure builders. */
function generatedManifests(name: string, namespace: string, image: CatalogImage): object[] {
	const draft: DeploymentEntity = { id: "generated", name, namespace: "generated", namespaceName: namespace, image: image.id, replicas: 1, vHosts: [], volumes: [], configMap: SITE, owner: "bench", members: [] };
	return deploymentManifests({ deployment: draft, image, configChecksum: dataChecksum(SITE.data) }, process.env.BASE_DOMAIN || "berth.local");
}

/**
 * The baseline: the same manifests, written to a directory, applied by one
 * `kubectl apply --server-side -f dir/`, then `kubectl rollout status` on each Deployment in turn,
 * as a user with a directory of manifests would. No Berth process runs meanwhile.
 */
export async function deployWithKubectl(cluster: BenchCluster, config: BenchConfig, outDir: string, namespace: string): Promise<DeploySide> {
	const kube = KubeClient.fromEnvironment({ kind: "file", path: cluster.kubeconfig });
	// The same Namespace, ResourceQuota and LimitRange a Berth namespace gets: quota admission costs both sides alike.
	for (const obj of namespaceManifests({ id: "bench-kubectl", name: namespace, owner: "bench", quota: BENCH_QUOTA }, loadConfig().tenantPolicy.podSecurityLevel)) await kube.apply(obj);
	await waitForServiceAccount(cluster, namespace);
	const image = { id: IMAGE, ...(JSON.parse(fs.readFileSync(path.join(repoRoot, "images", `${IMAGE}.json`), "utf8")) as Omit<CatalogImage, "id">) };
	const dir = path.join(outDir, "kubectl-manifests");
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(dir, { recursive: true });
	const width = String(config.apps - 1).length;
	const names = Array.from({ length: config.apps }, (_, i) => appName(i, width));
	for (const name of names) fs.writeFileSync(path.join(dir, `${name}.yaml`), generatedManifests(name, namespace, image).map(m => YAML.stringify(m)).join("---\n"));
	log(`kubectl: ${names.length} apps (${names.length * 4} objects) in ${dir}; applying`);

	const t0 = performance.now();
	const applied = await kubectl(cluster, ["apply", "--server-side", "-f", dir], 30 * 60_000);
	const submittedSeconds = since(t0);
	if (applied.code !== 0) throw new Error(`kubectl apply --server-side failed (${applied.code}): ${applied.stderr.slice(0, 2000)}`);
	log(`kubectl: applied in ${submittedSeconds.toFixed(1)} s; rollout status on each`);
	let ready = 0;
	let failed = 0;
	for (const name of names) {
		const res = await kubectl(cluster, ["-n", namespace, "rollout", "status", `deployment/${name}`, "--timeout=600s"], 660_000);
		if (res.code === 0) ready++;
		else {
			failed++;
			log(`kubectl: rollout status ${name} failed: ${res.stderr.trim().slice(0, 300)}`);
		}
	}
	const seconds = since(t0);
	log(`kubectl: ${ready} ready in ${seconds.toFixed(1)} s`);
	return { seconds, submittedSeconds, ready, failed, notes: ["one `kubectl apply --server-side -f dir/`, then `kubectl rollout status` per Deployment, sequentially"] };
}

interface ListedDeployment {
	id: string;
	name: string;
	status?: { phase?: string };
}

/**
 * Berth's side: the namespace through the API (not timed), then every app created through
 * `POST /api/v1/k8s/deployments`, `config.createConcurrency` at a time, and the deployments list
 * polled until each reports phase Running (what `berth deploy --wait` waits for).
 */
export async function deployWithBerth(mesh: Mesh, cluster: BenchCluster, config: BenchConfig, namespace: string): Promise<DeploySide> {
	await mesh.must("POST", "/api/v1/k8s/namespaces", { name: namespace, quota: BENCH_QUOTA });
	await waitForServiceAccount(cluster, namespace);
	const width = String(config.apps - 1).length;
	const names = Array.from({ length: config.apps }, (_, i) => appName(i, width));
	log(`berth: creating ${names.length} apps through the REST API, ${config.createConcurrency} at a time`);

	const t0 = performance.now();
	let failed = 0;
	let conflicts = 0;
	await pool(names, config.createConcurrency, async name => {
		const outcome = await mesh.createDeployment({ name, namespace, image: IMAGE, configMap: SITE }, "berth");
		if (outcome === "conflict") conflicts++;
		if (outcome === "failed") failed++;
	});
	const submittedSeconds = since(t0);
	log(`berth: ${names.length - failed} created in ${submittedSeconds.toFixed(1)} s; waiting for Running`);
	const want = names.length - failed;
	let ready = 0;
	let lastLog = 0;
	await waitFor(`${want} Berth deployments to be Running`, 20 * 60_000, async () => {
		const list = await mesh.must<ListedDeployment[]>("GET", `/api/v1/k8s/deployments?namespace=${namespace}`);
		ready = list.filter(d => d.status?.phase === "Running").length;
		if (Date.now() - lastLog > 10_000) {
			lastLog = Date.now();
			log(`berth: ${ready}/${want} Running`);
		}
		return ready >= want ? true : undefined;
	}, 500);
	const seconds = since(t0);
	log(`berth: ${ready} Running in ${seconds.toFixed(1)} s`);
	return { seconds, submittedSeconds, ready, failed, conflicts, notes: [`${config.createConcurrency} concurrent POSTs; readiness from one list call every 0.5 s`] };
}
