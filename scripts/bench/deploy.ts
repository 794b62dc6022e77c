import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { KubeClient } from "../../lib/k8s";
import { Kinds } from "../../lib/k8s";
import { dataChecksum, envConfigMap } from "../../lib/manifests/configmap";
import { LABEL_COMPONENT } from "../../lib/manifests/labels";
import { ENV_KIND } from "../../lib/manifests/model";
import { envSecret } from "../../lib/manifests/secret";
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

/** The catalog app each side deploys: nginx with a config file and two env vars, so Deployment + Service + Ingress + files ConfigMap + env ConfigMap and Secret. */
const IMAGE = "nginx";
const SITE = { name: "site", data: { "default.conf": "server {\n  listen 80;\n  location / { return 200 'benchmark\\n'; }\n}\n" } };
/** One plain and one secret env var: Berth writes the env ConfigMap and Secret, so the kubectl side applies them too. */
const ENV = [
	{ key: "GREETING", value: "hello" },
	{ key: "API_TOKEN", value: "bench-token-0123456789", type: "secret" as const },
];
const PLAIN_ENV = { GREETING: "hello" };
const SECRET_ENV = { API_TOKEN: "bench-token-0123456789" };
/** How often each side's progress is looked at: the same for both. */
const POLL_MS = 250;

export function appName(i: number, width: number): string {
	return `app-${pad(i, width)}`;
}

export interface DeploySide {
	/** 1a: wall time from the first request until every app's objects are applied (kubectl: the apply returned; Berth: its status says Applied and the env objects exist). */
	appliedSeconds: number;
	/** 1b: wall time from the first request until every app is Ready. */
	seconds: number;
	/** When the last create/apply was answered. */
	submittedSeconds: number;
	/** Objects each app is made of (kubectl: in its manifests; Berth: the same builders). */
	objectsPerApp: number;
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
}

/** The default ServiceAccount exists: without it pods are refused, and the ReplicaSets back off. */
async function waitForServiceAccount(cluster: BenchCluster, namespace: string): Promise<void> {
	await waitFor(`serviceaccount ${namespace}/default`, 60_000, async () => ((await kubectl(cluster, ["-n", namespace, "get", "serviceaccount", "default", "-o", "name"], 15_000)).code === 0 ? true : undefined), 250);
}

/**
 * Exactly what Berth applies for one app: its pure builders' objects (files ConfigMap, Service,
 * Deployment, Ingress) with the env checksum on the pod template, and the env ConfigMap and Secret
 * v1.k8s.envs writes.
 */
export function generatedManifests(name: string, namespace: string, image: CatalogImage): object[] {
	const draft: DeploymentEntity = { id: "generated", name, namespace: "generated", namespaceName: namespace, image: image.id, replicas: 1, vHosts: [], volumes: [], configMap: SITE, owner: "bench", members: [] };
	const envChecksum = dataChecksum(PLAIN_ENV, SECRET_ENV);
	return [envConfigMap(draft, PLAIN_ENV), envSecret(draft, SECRET_ENV), ...deploymentManifests({ deployment: draft, image, envChecksum, configChecksum: dataChecksum(SITE.data) }, process.env.BASE_DOMAIN || "berth.local")];
}

/**
 * The baseline: the same manifests, written to a directory, applied by one
 * `kubectl apply --server-side -f dir/` (1a), then one `kubectl wait --for=condition=Available
 * deployment --all` until every Deployment is ready (1b): the control plane's own floor. No Berth
 * process runs meanwhile.
 */
export async function deployWithKubectl(cluster: BenchCluster, config: BenchConfig, outDir: string, namespace: string): Promise<DeploySide> {
	const kube = KubeClient.fromEnvironment({ kind: "file", path: cluster.kubeconfig });
	// The same Namespace, ResourceQuota and LimitRange a Berth namespace gets: quota admission costs both sides alike.
	for (const obj of namespaceManifests({ id: "bench-kubectl", name: namespace, owner: "bench", quota: BENCH_QUOTA }, loadConfig().tenantPolicy.podSecurityLevel)) await kube.apply(obj);
	await waitForServiceAccount(cluster, namespace);
	const image = catalogImage();
	const dir = path.join(outDir, "kubectl-manifests");
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(dir, { recursive: true });
	const names = appNames(config.apps);
	let objectsPerApp = 0;
	for (const name of names) {
		const objects = generatedManifests(name, namespace, image);
		objectsPerApp = objects.length;
		fs.writeFileSync(path.join(dir, `${name}.yaml`), objects.map(m => YAML.stringify(m)).join("---\n"));
	}
	log(`kubectl: ${names.length} apps (${names.length * objectsPerApp} objects) in ${dir}; applying`);

	const t0 = performance.now();
	const applied = await kubectl(cluster, ["apply", "--server-side", "-f", dir], 30 * 60_000);
	const appliedSeconds = since(t0);
	if (applied.code !== 0) throw new Error(`kubectl apply --server-side failed (${applied.code}): ${applied.stderr.slice(0, 2000)}`);
	log(`kubectl: applied in ${appliedSeconds.toFixed(1)} s; waiting for every Deployment to be Available`);
	const waited = await kubectl(cluster, ["-n", namespace, "wait", "--for=condition=Available", "deployment", "--all", "--timeout=1200s"], 1260_000);
	const seconds = since(t0);
	const failed = waited.code === 0 ? 0 : names.length - (waited.stdout.match(/condition met/g) ?? []).length;
	if (waited.code !== 0) log(`kubectl: wait failed (${waited.code}): ${waited.stderr.trim().slice(0, 500)}`);
	log(`kubectl: ${names.length - failed} ready in ${seconds.toFixed(1)} s`);
	return {
		appliedSeconds,
		seconds,
		submittedSeconds: appliedSeconds,
		objectsPerApp,
		ready: names.length - failed,
		failed,
		notes: ["one `kubectl apply --server-side -f dir/`, then one `kubectl wait --for=condition=Available deployment --all`"],
	};
}

function catalogImage(): CatalogImage {
	return { id: IMAGE, ...(JSON.parse(fs.readFileSync(path.join(repoRoot, "images", `${IMAGE}.json`), "utf8")) as Omit<CatalogImage, "id">) };
}

function appNames(apps: number): string[] {
	const width = String(apps - 1).length;
	return Array.from({ length: apps }, (_, i) => appName(i, width));
}

interface ListedDeployment {
	id: string;
	name: string;
	status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

/** Berth's word that an app's generated objects are all applied. */
function isApplied(d: ListedDeployment): boolean {
	return Boolean(d.status?.conditions?.some(c => c.type === "Applied" && c.status === "True"));
}

/** The env Secrets v1.k8s.envs wrote in `namespace`: the last of an app's objects to exist. */
async function envSecrets(kube: KubeClient, namespace: string): Promise<number> {
	return (await kube.list(Kinds.Secret, { namespace, labelSelector: `${LABEL_COMPONENT}=${ENV_KIND}` })).length;
}

/**
 * Berth's side: the namespace through the API (not timed), then every app created through
 * `POST /api/v1/k8s/deployments`, `config.createConcurrency` at a time, and the deployments list
 * polled until each says Applied (1a: its objects are in the apiserver, env Secret included), then
 * until each reports phase Running (1b: what `berth deploy --wait` waits for).
 */
export async function deployWithBerth(mesh: Mesh, cluster: BenchCluster, config: BenchConfig, namespace: string): Promise<DeploySide> {
	await mesh.must("POST", "/api/v1/k8s/namespaces", { name: namespace, quota: BENCH_QUOTA });
	await waitForServiceAccount(cluster, namespace);
	const kube = KubeClient.fromEnvironment({ kind: "file", path: cluster.kubeconfig });
	const names = appNames(config.apps);
	log(`berth: creating ${names.length} apps through the REST API, ${config.createConcurrency} at a time`);

	const t0 = performance.now();
	let failed = 0;
	let conflicts = 0;
	await pool(names, config.createConcurrency, async name => {
		const outcome = await mesh.createDeployment({ name, namespace, image: IMAGE, configMap: SITE, env: ENV }, "berth");
		if (outcome === "conflict") conflicts++;
		if (outcome === "failed") failed++;
	});
	const submittedSeconds = since(t0);
	const want = names.length - failed;
	log(`berth: ${want} created in ${submittedSeconds.toFixed(1)} s; waiting for every app to be applied, then Running`);
	let appliedSeconds = 0;
	let ready = 0;
	let lastLog = 0;
	await waitFor(`${want} Berth deployments to be Running`, 20 * 60_000, async () => {
		const list = await mesh.must<ListedDeployment[]>("GET", `/api/v1/k8s/deployments?namespace=${namespace}`);
		if (!appliedSeconds && list.filter(isApplied).length >= want && (await envSecrets(kube, namespace)) >= want) {
			appliedSeconds = since(t0);
			log(`berth: every app applied at ${appliedSeconds.toFixed(1)} s`);
		}
		ready = list.filter(d => d.status?.phase === "Running").length;
		if (Date.now() - lastLog > 10_000) {
			lastLog = Date.now();
			log(`berth: ${list.filter(isApplied).length}/${want} applied, ${ready}/${want} Running`);
		}
		return appliedSeconds && ready >= want ? true : undefined;
	}, POLL_MS);
	const seconds = since(t0);
	log(`berth: ${ready} Running in ${seconds.toFixed(1)} s`);
	return {
		appliedSeconds,
		seconds,
		submittedSeconds,
		objectsPerApp: generatedManifests(names[0], namespace, catalogImage()).length,
		ready,
		failed,
		conflicts,
		notes: [`${config.createConcurrency} concurrent POSTs; applied and Running from one list call every ${POLL_MS} ms`],
	};
}
