/**
 * `npm run bench`: issue #12's benchmarks against a local control plane, each side by side with
 * what a user would otherwise use, in the same run. By default it brings up a private instance of
 * the control plane (.cluster-bench/, its own ports), so the shared one is never loaded, and tears
 * it down at the end. Results: a table on stdout, and JSON + Markdown in .cluster-bench/results/.
 *
 * Sizes and switches (defaults are the issue's):
 *   BENCH_APPS=200 BENCH_LIST=1000 BENCH_PAGE=100 BENCH_CONNECTIONS=32 BENCH_DURATION=10
 *   BENCH_PODS=5000 BENCH_CONCURRENCY=16 BENCH_POD_CONCURRENCY=32
 *   BENCH_ONLY=deploy,reads,inventory,memory   BENCH_CLUSTER=own|shared   BENCH_KEEP_CLUSTER=1
 *   BENCH_PROFILE=cpu|heap (the mesh process)   BENCH_DB=nedb|ferretdb   BENCH_TIMEOUT_MIN=120
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bringUpCluster, kubectl, type BenchCluster } from "./cluster";
import { deployWithBerth, deployWithKubectl, type DeployResult } from "./deploy";
import { benchInventory, measureRelist, type InventoryResult, type RelistResult } from "./inventory";
import { Mesh, newAdminKey } from "./mesh";
import { formatSummary } from "./profile";
import { benchReads, type ReadsResult } from "./reads";
import { renderMarkdown, renderTable, type Results } from "./report";
import { loadBenchConfig, log, repoRoot, sleep, type BenchConfig } from "./util";

/** How long an idle mesh is left alone before its RSS is read. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS || 15_000);

function machine(cluster: BenchCluster): Results["machine"] {
	const cpus = os.cpus();
	let kubectlVersion = "";
	try {
		kubectlVersion = (JSON.parse(execFileSync(cluster.kubectl, ["version", "--client", "-o", "json"], { encoding: "utf8" })) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? "";
	} catch {
		/* reported as unknown */
	}
	const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
	return {
		cpus: `${cpus.length} × ${cpus[0]?.model ?? "unknown"}`,
		memoryGiB: Math.round(os.totalmem() / 2 ** 30),
		os: `${os.type()} ${os.release()}`,
		node: process.version,
		kubectl: kubectlVersion,
		cluster: `${cluster.kind === "own" ? "private" : "shared"} kwokctl binary-runtime control plane: Kubernetes ${cluster.versions.kubernetes}, etcd ${cluster.versions.etcd}, kwok ${cluster.versions.kwok} (one simulated node)`,
		moleculer: pkg.dependencies.moleculer,
		moleculerWeb: pkg.dependencies["moleculer-web"],
		autocannon: pkg.devDependencies.autocannon,
		loadAverageAtStart: os.loadavg().map(l => l.toFixed(2)).join(" "),
	};
}

async function main(): Promise<number> {
	const config: BenchConfig = loadBenchConfig();
	const stamp = new Date().toISOString().replace(/[:.]/g, "-");
	const outDir = path.resolve(repoRoot, process.env.BENCH_OUT || path.join(".cluster-bench", "results", stamp));
	fs.mkdirSync(outDir, { recursive: true });
	log(`results go to ${outDir}`);
	log(`sizes: ${config.apps} apps, ${config.list} listed (pages of ${config.page}, ${config.connections} clients, ${config.durationS} s), ${config.pods} pods; running ${[...config.only].join(", ")}`);

	let mesh: Mesh | undefined;
	let cluster: BenchCluster | undefined;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-data-"));
	const suffix = config.cluster === "shared" ? `-${randomBytes(2).toString("hex")}` : "";
	const ns = { kubectl: `bench-kubectl${suffix}`, berth: `bench-berth${suffix}`, reads: `bench-reads${suffix}`, pods: `bench-pods${suffix}` };
	const createdNamespaces: string[] = [];

	let cleaned = false;
	const cleanup = async () => {
		if (cleaned) return;
		cleaned = true;
		await mesh?.stop().catch(() => undefined);
		if (cluster?.kind === "shared" && createdNamespaces.length) {
			log(`deleting the benchmark's namespaces from the shared cluster: ${createdNamespaces.join(" ")}`);
			await kubectl(cluster, ["delete", "namespace", "--ignore-not-found", "--wait=false", ...createdNamespaces], 120_000);
		}
		cluster?.down();
		fs.rmSync(dataDir, { recursive: true, force: true });
	};
	const abort = async (why: string) => {
		log(`${why}: stopping`);
		await cleanup();
		process.exit(130);
	};
	process.once("SIGINT", () => void abort("SIGINT"));
	process.once("SIGTERM", () => void abort("SIGTERM"));
	const overall = setTimeout(() => void abort(`BENCH_TIMEOUT_MIN=${config.timeoutMin} reached`), config.timeoutMin * 60_000);
	overall.unref();

	const results: Results = { command: commandLine(config), startedAt: new Date().toISOString(), config: { ...config, only: [...config.only] } as Results["config"], errors: [] };
	const adminKey = newAdminKey();
	const leaseName = `berth-bench${suffix}`;
	const startMesh = (label: string) => Mesh.start(label, { cluster: cluster as BenchCluster, config, dataDir, outDir, adminKey, leaseName });
	/** Runs one benchmark; a failure is recorded and the others still run. */
	const step = async (name: string, fn: () => Promise<void>) => {
		try {
			await fn();
		} catch (err) {
			log(`${name} failed: ${(err as Error).stack ?? err}`);
			results.errors.push(`${name}: ${(err as Error).message}`);
		}
	};

	const snapshots: string[] = [];
	const loads: number[] = [];
	const sampler = setInterval(() => loads.push(os.loadavg()[0]), 10_000);
	sampler.unref();
	try {
		cluster = bringUpCluster(config);
		results.machine = machine(cluster);
		const wantPods = config.only.has("inventory") || config.only.has("memory");
		let idleSyncedSeconds: number | undefined;

		if (config.only.has("memory"))
			await step("memory (idle)", async () => {
				mesh = await startMesh("idle");
				await mesh.inventorySynced();
				await sleep(SETTLE_MS);
				results.idle = mesh.memory();
				idleSyncedSeconds = mesh.syncedSeconds;
				log(`memory: idle mesh RSS ${results.idle.rssMiB.toFixed(0)} MiB`);
				await mesh.stop();
				mesh = undefined;
			});

		const deploy: DeployResult = { apps: config.apps };
		if (config.only.has("deploy")) {
			results.deploy = deploy;
			// No Berth process runs while kubectl works: a kubectl user has none.
			createdNamespaces.push(ns.kubectl);
			await step("deploy (kubectl)", async () => {
				deploy.kubectl = await deployWithKubectl(cluster as BenchCluster, config, outDir, ns.kubectl);
			});
		}

		mesh = await startMesh("main");
		await mesh.inventorySynced();
		const running = mesh;
		if (config.only.has("deploy"))
			await step("deploy (berth)", async () => {
				createdNamespaces.push(ns.berth);
				deploy.berth = await deployWithBerth(running, cluster as BenchCluster, config, ns.berth);
				if (deploy.kubectl) deploy.ratio = deploy.berth.seconds / deploy.kubectl.seconds;
			});
		let inventory: InventoryResult | undefined;
		if (wantPods)
			await step("inventory", async () => {
				createdNamespaces.push(ns.pods);
				inventory = await benchInventory(running, cluster as BenchCluster, config, ns.pods);
				results.inventory = inventory;
				await sleep(SETTLE_MS);
				results.withPods = running.memory();
				log(`memory: RSS with the ${inventory.pods}-pod inventory ${results.withPods.rssMiB.toFixed(0)} MiB (peak ${results.withPods.peakMiB.toFixed(0)} MiB)`);
				if (config.heapSnapshots) snapshots.push(await running.heapSnapshot(path.join(outDir, "heap"), "mesh-with-pods"));
			});
		// Last with this process: a thousand more entities make every periodic resync re-apply them all.
		if (config.only.has("reads"))
			await step("reads", async () => {
				createdNamespaces.push(ns.reads);
				results.reads = await benchReads(running, config, outDir, ns.reads);
			});
		await mesh.stop();
		mesh = undefined;

		if (wantPods && inventory)
			await step("inventory (restart)", async () => {
				const { mesh: restarted, result } = await measureRelist(() => startMesh("restart"), ns.pods, (inventory as InventoryResult).pods, idleSyncedSeconds);
				mesh = restarted;
				results.relist = result as RelistResult;
				await sleep(SETTLE_MS);
				results.afterRestart = restarted.memory();
				log(`inventory: a restarted mesh served ${result.objects} objects after ${result.visibleSeconds.toFixed(1)} s; RSS ${results.afterRestart.rssMiB.toFixed(0)} MiB`);
				if (config.heapSnapshots) snapshots.push(await restarted.heapSnapshot(path.join(outDir, "heap"), "mesh-after-restart"));
				await restarted.stop();
				mesh = undefined;
			});
	} catch (err) {
		log(`stopped early: ${(err as Error).stack ?? err}`);
		results.errors.push((err as Error).message);
	} finally {
		clearTimeout(overall);
		clearInterval(sampler);
		await cleanup();
	}
	if (results.machine && loads.length) results.machine.loadAverage = { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) };

	results.finishedAt = new Date().toISOString();
	const profiles = path.join(outDir, "profiles");
	if (config.profile === "cpu" && fs.existsSync(profiles)) {
		results.profiles = [];
		for (const f of fs.readdirSync(profiles).filter(f => f.endsWith(".cpuprofile")).sort()) {
			const summary = formatSummary(path.join(profiles, f), 20);
			results.profiles.push(summary);
			fs.writeFileSync(path.join(profiles, `${f}.txt`), summary + "\n");
		}
	}
	for (const file of snapshots) {
		// In its own process: parsing a snapshot takes several times its size in memory.
		const summary = spawnSync(process.execPath, ["--max-old-space-size=8192", path.join(__dirname, "profile.js"), "--heap", file, "25"], { encoding: "utf8", timeout: 600_000 });
		if (summary.status === 0) {
			(results.profiles ??= []).push(summary.stdout.trim());
			fs.writeFileSync(`${file}.txt`, summary.stdout);
		} else log(`could not summarize ${file}: ${summary.stderr.slice(0, 500)}`);
	}
	fs.writeFileSync(path.join(outDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
	const md = renderMarkdown(results);
	fs.writeFileSync(path.join(outDir, "results.md"), md);
	process.stdout.write("\n" + renderTable(results) + "\n");
	for (const p of results.profiles ?? []) process.stdout.write("\n" + p + "\n");
	log(`written: ${path.join(outDir, "results.md")} and results.json`);
	return results.errors.length ? 1 : 0;
}

/** The command that reproduces this run: `npm run bench` with the knobs that differ from the defaults. */
function commandLine(config: BenchConfig): string {
	const knobs = Object.entries(process.env)
		.filter(([k]) => k.startsWith("BENCH_"))
		.map(([k, v]) => `${k}=${v}`)
		.sort();
	void config;
	return [...knobs, "npm run bench"].join(" ");
}

main().then(
	code => process.exit(code),
	err => {
		console.error(err);
		process.exit(1);
	},
);
