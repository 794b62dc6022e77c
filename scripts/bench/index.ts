/**
 * `npm run bench`: issue #12's and #24's benchmarks against a local control plane, each side by side with
 * what a user would otherwise use, in the same run. By default it brings up a private instance of
 * the control plane (.cluster-bench/, its own ports), so the shared one is never loaded, and tears
 * it down at the end. Results: a table on stdout, and JSON (its `rows`: scripts/bench/rows.ts) +
 * Markdown in .cluster-bench/results/.
 *
 * Sizes and switches (defaults are the issue's):
 *   BENCH_APPS=200 BENCH_LIST=1000 BENCH_PAGE=100 BENCH_CONNECTIONS=32 BENCH_DURATION=10
 *   BENCH_PODS=5000 BENCH_CONCURRENCY=16 BENCH_POD_CONCURRENCY=32
 *   BENCH_ONLY=deploy,reads,inventory,memory,scale,reconcile,cost   BENCH_CLUSTER=own|shared   BENCH_KEEP_CLUSTER=1
 *   BENCH_PROFILE=cpu|heap (the mesh process)   BENCH_DB=nedb|ferretdb   BENCH_TIMEOUT_MIN=120
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bringUpCluster, kubectl, type BenchCluster } from "./cluster";
import { runCost } from "./cost";
import { deployWithBerth, deployWithKubectl, type DeployResult } from "./deploy";
import { benchInventory, measureRelist, type InventoryResult, type RelistResult } from "./inventory";
import { Mesh, newAdminKey } from "./mesh";
import { formatSummary } from "./profile";
import { benchReads, type ReadsResult } from "./reads";
import { runReconcileLatency } from "./reconcile";
import { renderMarkdown, renderTable, rows, type Results } from "./report";
import type { BenchRow } from "./rows";
import { runScaleCurve, type ScaleContext } from "./scale";
import { loadBenchConfig, log, repoRoot, sleep, type BenchConfig, type Benchmark } from "./util";

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

/** What one run shares between its steps: where it writes, what it made, what it measured. */
interface BenchRun {
	config: BenchConfig;
	outDir: string;
	dataDir: string;
	/** The namespaces each benchmark uses (suffixed on a shared cluster). */
	ns: { kubectl: string; berth: string; reads: string; pods: string };
	createdNamespaces: string[];
	results: Results;
	adminKey: string;
	leaseName: string;
	snapshots: string[];
	mesh?: Mesh;
	cluster?: BenchCluster;
	/** The idle mesh's time to a synced inventory, compared with the restarted one's. */
	idleSyncedSeconds?: number;
	/** Rows the benchmarks of ROW_BENCHMARKS answered. */
	extraRows: BenchRow[];
}

async function main(): Promise<number> {
	const run = newRun();
	const cleanup = cleanupOnce(run);
	const abort = async (why: string) => {
		log(`${why}: stopping`);
		await cleanup();
		process.exit(130);
	};
	process.once("SIGINT", () => void abort("SIGINT"));
	process.once("SIGTERM", () => void abort("SIGTERM"));
	const overall = setTimeout(() => void abort(`BENCH_TIMEOUT_MIN=${run.config.timeoutMin} reached`), run.config.timeoutMin * 60_000);
	overall.unref();

	const loads: number[] = [];
	const sampler = setInterval(() => loads.push(os.loadavg()[0]), 10_000);
	sampler.unref();
	try {
		await runBenchmarks(run);
	} catch (err) {
		log(`stopped early: ${(err as Error).stack ?? err}`);
		run.results.errors.push((err as Error).message);
	} finally {
		clearTimeout(overall);
		clearInterval(sampler);
		await cleanup();
	}
	const { results } = run;
	if (results.machine && loads.length) results.machine.loadAverage = { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) };
	results.finishedAt = new Date().toISOString();
	summarizeProfiles(run);
	writeResults(run);
	return results.errors.length ? 1 : 0;
}

function newRun(): BenchRun {
	const config: BenchConfig = loadBenchConfig();
	const stamp = new Date().toISOString().replace(/[:.]/g, "-");
	const outDir = path.resolve(repoRoot, process.env.BENCH_OUT || path.join(".cluster-bench", "results", stamp));
	fs.mkdirSync(outDir, { recursive: true });
	log(`results go to ${outDir}`);
	log(`sizes: ${config.apps} apps, ${config.list} listed (pages of ${config.page}, ${config.connections} clients, ${config.durationS} s), ${config.pods} pods; running ${[...config.only].join(", ")}`);
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-data-"));
	const suffix = config.cluster === "shared" ? `-${randomBytes(2).toString("hex")}` : "";
	return {
		config,
		outDir,
		dataDir,
		ns: { kubectl: `bench-kubectl${suffix}`, berth: `bench-berth${suffix}`, reads: `bench-reads${suffix}`, pods: `bench-pods${suffix}` },
		createdNamespaces: [],
		results: { command: commandLine(config), startedAt: new Date().toISOString(), config: { ...config, only: [...config.only] } as Results["config"], errors: [] },
		adminKey: newAdminKey(),
		leaseName: `berth-bench${suffix}`,
		snapshots: [],
		extraRows: [],
	};
}

/** Stops the mesh, deletes what the run made and the cluster it brought up; only the first call does anything. */
function cleanupOnce(run: BenchRun): () => Promise<void> {
	let cleaned = false;
	return async () => {
		if (cleaned) return;
		cleaned = true;
		await run.mesh?.stop().catch(() => undefined);
		if (run.cluster?.kind === "shared" && run.createdNamespaces.length) {
			log(`deleting the benchmark's namespaces from the shared cluster: ${run.createdNamespaces.join(" ")}`);
			await kubectl(run.cluster, ["delete", "namespace", "--ignore-not-found", "--wait=false", ...run.createdNamespaces], 120_000);
		}
		run.cluster?.down();
		fs.rmSync(run.dataDir, { recursive: true, force: true });
	};
}

function startMesh(run: BenchRun, label: string): Promise<Mesh> {
	return Mesh.start(label, { cluster: run.cluster as BenchCluster, config: run.config, dataDir: run.dataDir, outDir: run.outDir, adminKey: run.adminKey, leaseName: run.leaseName });
}

/** Runs one benchmark; a failure is recorded and the others still run. */
async function step(run: BenchRun, name: string, fn: () => Promise<void>): Promise<void> {
	try {
		await fn();
	} catch (err) {
		log(`${name} failed: ${(err as Error).stack ?? err}`);
		run.results.errors.push(`${name}: ${(err as Error).message}`);
	}
}

async function runBenchmarks(run: BenchRun): Promise<void> {
	const { config, results } = run;
	run.cluster = bringUpCluster(config);
	results.machine = machine(run.cluster);
	if (config.only.has("memory")) await step(run, "memory (idle)", () => benchIdle(run));
	const deploy: DeployResult = { apps: config.apps };
	if (config.only.has("deploy")) {
		results.deploy = deploy;
		// No Berth process runs while kubectl works: a kubectl user has none.
		run.createdNamespaces.push(run.ns.kubectl);
		await step(run, "deploy (kubectl)", async () => {
			deploy.kubectl = await deployWithKubectl(run.cluster as BenchCluster, config, run.outDir, run.ns.kubectl);
		});
	}
	const inventory = await benchMainMesh(run, deploy);
	if ((config.only.has("inventory") || config.only.has("memory")) && inventory) await step(run, "inventory (restart)", () => benchRestart(run, inventory));
	for (const [name, bench] of Object.entries(ROW_BENCHMARKS) as [Benchmark, RowsBenchmark][])
		if (config.only.has(name))
			await step(run, name, async () => {
				run.extraRows.push(...(await bench(rowsContext(run))));
			});
	for (const name of config.only) if (!BUILT_IN.has(name) && !ROW_BENCHMARKS[name]) log(`${name}: not part of this build (scripts/bench/index.ts's ROW_BENCHMARKS has no runner for it)`);
}

/** A benchmark that answers rows of its own: each mesh it starts gets a store of its own, so every benchmark starts empty. */
type RowsBenchmark = (ctx: ScaleContext) => Promise<BenchRow[]>;

/** The benchmarks above, run here step by step. */
const BUILT_IN = new Set<Benchmark>(["deploy", "reads", "inventory", "memory"]);

/**
 * Benchmarks that bring their own rows, by BENCH_ONLY name, in the order they run: the scale curve,
 * reconcile latency and the write path's count (scale.ts, reconcile.ts, cost.ts).
 */
const ROW_BENCHMARKS: Partial<Record<Benchmark, RowsBenchmark>> = { scale: runScaleCurve, reconcile: runReconcileLatency, cost: runCost };

function rowsContext(run: BenchRun): ScaleContext {
	const cluster = run.cluster as BenchCluster;
	let meshes = 0;
	return {
		cluster,
		config: run.config,
		outDir: run.outDir,
		adminKey: run.adminKey,
		leaseName: run.leaseName,
		createdNamespaces: run.createdNamespaces,
		startMesh: async label => {
			const n = ++meshes;
			const dataDir = path.join(run.dataDir, `${label}-${n}`);
			fs.mkdirSync(dataDir, { recursive: true });
			const own = cluster.mongoUri ? { ...cluster, mongoUri: cluster.mongoUri.replace(/\/[^/]*$/, `/berth-bench-${label}-${n}-${process.pid}`) } : cluster;
			const mesh = await Mesh.start(label, { cluster: own, config: run.config, dataDir, outDir: run.outDir, adminKey: run.adminKey, leaseName: `${run.leaseName}-${label}-${n}` });
			run.mesh = mesh;
			return mesh;
		},
	};
}

/** The memory of a mesh that has synced its inventory and does nothing. */
async function benchIdle(run: BenchRun): Promise<void> {
	const mesh = await startMesh(run, "idle");
	run.mesh = mesh;
	await mesh.inventorySynced();
	await sleep(SETTLE_MS);
	run.results.idle = mesh.memory();
	run.idleSyncedSeconds = mesh.syncedSeconds;
	log(`memory: idle mesh RSS ${run.results.idle.rssMiB.toFixed(0)} MiB`);
	await mesh.stop();
	run.mesh = undefined;
}

/** The benchmarks against one long-running mesh: deploy through Berth, the pod inventory, the reads. */
async function benchMainMesh(run: BenchRun, deploy: DeployResult): Promise<InventoryResult | undefined> {
	const { config, results, ns } = run;
	const cluster = run.cluster as BenchCluster;
	const running = await startMesh(run, "main");
	run.mesh = running;
	await running.inventorySynced();
	if (config.only.has("deploy"))
		await step(run, "deploy (berth)", async () => {
			run.createdNamespaces.push(ns.berth);
			deploy.berth = await deployWithBerth(running, cluster, config, ns.berth);
		});
	let inventory: InventoryResult | undefined;
	if (config.only.has("inventory") || config.only.has("memory"))
		await step(run, "inventory", async () => {
			run.createdNamespaces.push(ns.pods);
			inventory = await benchInventory(running, cluster, config, ns.pods);
			results.inventory = inventory;
			await sleep(SETTLE_MS);
			results.withPods = running.memory();
			log(`memory: RSS with the ${inventory.pods}-pod inventory ${results.withPods.rssMiB.toFixed(0)} MiB (peak ${results.withPods.peakMiB.toFixed(0)} MiB)`);
			if (config.heapSnapshots) run.snapshots.push(await running.heapSnapshot(path.join(run.outDir, "heap"), "mesh-with-pods"));
		});
	// Last with this process: a thousand more entities make every periodic resync re-apply them all.
	if (config.only.has("reads"))
		await step(run, "reads", async () => {
			run.createdNamespaces.push(ns.reads);
			results.reads = await benchReads(running, config, run.outDir, ns.reads);
		});
	await running.stop();
	run.mesh = undefined;
	return inventory;
}

/** How long a restarted mesh takes to serve the inventory again, and its memory then. */
async function benchRestart(run: BenchRun, inventory: InventoryResult): Promise<void> {
	const { results } = run;
	const { mesh: restarted, result } = await measureRelist(() => startMesh(run, "restart"), run.ns.pods, inventory.pods, run.idleSyncedSeconds);
	run.mesh = restarted;
	results.relist = result as RelistResult;
	await sleep(SETTLE_MS);
	results.afterRestart = restarted.memory();
	log(`inventory: a restarted mesh served ${result.objects} objects after ${result.visibleSeconds.toFixed(1)} s; RSS ${results.afterRestart.rssMiB.toFixed(0)} MiB`);
	if (run.config.heapSnapshots) run.snapshots.push(await restarted.heapSnapshot(path.join(run.outDir, "heap"), "mesh-after-restart"));
	await restarted.stop();
	run.mesh = undefined;
}

/** Text summaries of the CPU profiles and heap snapshots the run took, into the results. */
function summarizeProfiles(run: BenchRun): void {
	const { results, outDir } = run;
	const profiles = path.join(outDir, "profiles");
	if (run.config.profile === "cpu" && fs.existsSync(profiles)) {
		results.profiles = [];
		for (const f of fs.readdirSync(profiles).filter(f => f.endsWith(".cpuprofile")).sort()) {
			const summary = formatSummary(path.join(profiles, f), 20);
			results.profiles.push(summary);
			fs.writeFileSync(path.join(profiles, `${f}.txt`), summary + "\n");
		}
	}
	for (const file of run.snapshots) {
		// In its own process: parsing a snapshot takes several times its size in memory.
		const summary = spawnSync(process.execPath, ["--max-old-space-size=8192", path.join(__dirname, "profile.js"), "--heap", file, "25"], { encoding: "utf8", timeout: 600_000 });
		if (summary.status === 0) {
			(results.profiles ??= []).push(summary.stdout.trim());
			fs.writeFileSync(`${file}.txt`, summary.stdout);
		} else log(`could not summarize ${file}: ${summary.stderr.slice(0, 500)}`);
	}
}

function writeResults(run: BenchRun): void {
	const { results, outDir } = run;
	results.rows = rows(results, run.extraRows);
	fs.writeFileSync(path.join(outDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
	const md = renderMarkdown(results);
	fs.writeFileSync(path.join(outDir, "results.md"), md);
	process.stdout.write("\n" + renderTable(results) + "\n");
	for (const p of results.profiles ?? []) process.stdout.write("\n" + p + "\n");
	log(`written: ${path.join(outDir, "results.md")} and results.json`);
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
