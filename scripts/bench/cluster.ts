import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { log, repoRoot, type BenchConfig } from "./util";

/** Where the control plane the benchmarks run against lives, and how to reach it. */
export interface BenchCluster {
	kind: "own" | "shared";
	dir: string;
	kubeconfig: string;
	kubectl: string;
	/** MONGO_URI of the instance's FerretDB, when BENCH_DB=ferretdb. */
	mongoUri?: string;
	/** Versions for the report. */
	versions: Record<string, string>;
	down(): void;
}

const clusterScripts = path.join(repoRoot, "scripts", "cluster");

/**
 * The private instance: its own directory, kwokctl cluster name and ports, so the shared control
 * plane (and the fault suite's instance) never see the benchmarks' load.
 */
function ownInstanceEnv(): Record<string, string> {
	return {
		BERTH_CLUSTER_DIR: process.env.BENCH_CLUSTER_DIR || ".cluster-bench",
		BERTH_CLUSTER_NAME: process.env.BENCH_CLUSTER_NAME || "berth-bench",
		KUBE_APISERVER_PORT: process.env.BENCH_APISERVER_PORT || "6643",
		NATS_PORT: process.env.BENCH_NATS_PORT || "4422",
		FERRET_PORT: process.env.BENCH_FERRET_PORT || "27217",
	};
}

function script(name: string, args: string[], env: Record<string, string>, timeoutMs: number): boolean {
	const res = spawnSync("bash", [path.join(clusterScripts, name), ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"], timeout: timeoutMs, killSignal: "SIGTERM" });
	if (res.error) log(`${name}: ${res.error.message}`);
	return res.status === 0;
}

/** Pinned versions (scripts/cluster/versions.sh) and the kubectl built from them. */
function pinned(): Record<string, string> {
	const out = spawnSync("bash", ["-c", `source ${JSON.stringify(path.join(clusterScripts, "versions.sh"))}; echo "$K8S_VERSION $ETCD_VERSION $KWOK_VERSION $FERRETDB_VERSION $BERTH_CACHE"`], { encoding: "utf8" }).stdout.trim().split(/\s+/);
	const [k8s, etcd, kwok, ferretdb, cache] = out;
	return { kubernetes: k8s, etcd, kwok, ferretdb, kubectl: path.join(cache, `kubernetes-${k8s}`, "bin", "kubectl") };
}

function envFileVars(file: string): Record<string, string> {
	const vars: Record<string, string> = {};
	if (!fs.existsSync(file)) return vars;
	for (const line of fs.readFileSync(file, "utf8").split("\n")) {
		const m = /^export\s+([A-Z_]+)=(.*)$/.exec(line.trim());
		if (m) vars[m[1]] = m[2];
	}
	return vars;
}

export function bringUpCluster(config: BenchConfig): BenchCluster {
	const versions = pinned();
	const kubectl = versions.kubectl;
	delete versions.kubectl;
	if (config.cluster === "shared") {
		const dir = path.join(repoRoot, ".cluster");
		const kubeconfig = path.join(dir, "kubeconfig");
		if (!fs.existsSync(kubeconfig)) throw new Error("BENCH_CLUSTER=shared: no .cluster/kubeconfig; run npm run cluster:up first");
		log(`using the shared control plane (${kubeconfig}); it is left running`);
		return { kind: "shared", dir, kubeconfig, kubectl, mongoUri: config.db === "ferretdb" ? envFileVars(path.join(dir, "env")).MONGO_URI : undefined, versions, down: () => undefined };
	}
	const env = ownInstanceEnv();
	const dir = path.resolve(repoRoot, env.BERTH_CLUSTER_DIR);
	const components = config.db === "ferretdb" ? "k8s,ferretdb" : "k8s";
	log(`bringing up a private control plane in ${dir} (apiserver on 127.0.0.1:${env.KUBE_APISERVER_PORT}; ${components})`);
	let downed = false;
	const down = () => {
		if (downed) return;
		downed = true;
		if (config.keepCluster) {
			log(`BENCH_KEEP_CLUSTER: leaving the private control plane up; stop it with: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")} bash scripts/cluster/down.sh --purge`);
			return;
		}
		log("tearing down the private control plane");
		// Not --purge: the results and logs stay in the directory (the cluster's own state goes with kwokctl).
		script("down.sh", [], env, 180_000);
	};
	// A failed or timed-out up.sh has still recorded what it started: down.sh cleans that up.
	if (!script("up.sh", ["--only", components], env, 30 * 60_000)) {
		down();
		throw new Error(`scripts/cluster/up.sh failed for the private instance (logs in ${dir}/logs)`);
	}
	const vars = envFileVars(path.join(dir, "env"));
	const cluster: BenchCluster = { kind: "own", dir, kubeconfig: path.join(dir, "kubeconfig"), kubectl, mongoUri: config.db === "ferretdb" ? vars.MONGO_URI : undefined, versions, down };
	widenServiceRange(cluster);
	return cluster;
}

/**
 * kube-apiserver's default Service range is 10.0.0.0/24: 254 ClusterIPs, fewer than the
 * benchmarks' Services (an app has one). A ServiceCIDR object (networking.k8s.io/v1) adds a range
 * at runtime; only on the private instance.
 */
function widenServiceRange(cluster: BenchCluster): void {
	const file = path.join(cluster.dir, "bench-servicecidr.yaml");
	fs.writeFileSync(file, "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata:\n  name: berth-bench\nspec:\n  cidrs: [\"10.96.0.0/16\"]\n");
	const run = (args: string[]) => spawnSync(cluster.kubectl, ["--kubeconfig", cluster.kubeconfig, ...args], { encoding: "utf8", timeout: 120_000 });
	const applied = run(["apply", "-f", file]);
	if (applied.status !== 0) throw new Error(`could not add a Service range: ${applied.stderr}`);
	const ready = run(["wait", "--for=condition=Ready", "servicecidr/berth-bench", "--timeout=60s"]);
	if (ready.status !== 0) throw new Error(`the added Service range did not become Ready: ${ready.stderr}`);
	log("added Service range 10.96.0.0/16 (ServiceCIDR berth-bench)");
}

export interface CommandResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** Runs kubectl against the benchmark's cluster; never rejects (the caller looks at `code`). */
export function kubectl(cluster: BenchCluster, args: string[], timeoutMs = 600_000): Promise<CommandResult> {
	return new Promise(resolve => {
		const proc = spawn(cluster.kubectl, ["--kubeconfig", cluster.kubeconfig, ...args], { stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		proc.stdout.on("data", d => (stdout += String(d)));
		proc.stderr.on("data", d => (stderr += String(d)));
		const timer = setTimeout(() => proc.kill("SIGTERM"), timeoutMs);
		proc.on("error", err => {
			clearTimeout(timer);
			resolve({ code: -1, stdout, stderr: stderr + err.message });
		});
		proc.on("close", code => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}
