/**
 * Benchmark 5, the scale curve: deployments with replicas 0 spread over 200 namespaces, created
 * through REST (config.createConcurrency clients) up to a tenth, half and all of BENCH_SCALE
 * (default 10,000). At each size: the create rate since the last size, a page of 100 (p50/p99 of
 * sequential GETs at random offsets), the last full resync of the deployments controller (the
 * berth_reconcile_resync_seconds metric, from a resync that began after the creates) and the RSS.
 * Then the same creates on a three-node mesh over NATS with FerretDB (docker-compose.yml's split):
 * its create rate against the single node's at the first size.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import type { BenchCluster } from "./cluster";
import { BENCH_QUOTA } from "./deploy";
import { Mesh } from "./mesh";
import type { BenchRow } from "./rows";
import { percentile, scrape, sumBy } from "./scrape";
import { freePort, log, pad, pool, repoRoot, since, sleep, waitFor, type BenchConfig } from "./util";

/** What a benchmark of this file needs from the run (index.ts's BenchRun has all of it). */
export interface ScaleContext {
	cluster: BenchCluster;
	config: BenchConfig;
	outDir: string;
	adminKey: string;
	leaseName: string;
	/** Starts the single-process mesh (every service, no transporter) as index.ts does. */
	startMesh(label: string): Promise<Mesh>;
	/** Namespaces made in the cluster, for the run's cleanup on a shared cluster. */
	createdNamespaces?: string[];
}

/** A mesh that also serves /metrics (METRICS_PORT, read by the process when it is spawned). */
export interface MeteredMesh {
	mesh: Mesh;
	metricsUrl: string;
}

export async function startMetered(ctx: ScaleContext, label: string): Promise<MeteredMesh> {
	const port = await freePort();
	const before = process.env.METRICS_PORT;
	process.env.METRICS_PORT = String(port);
	try {
		return { mesh: await ctx.startMesh(label), metricsUrl: `http://127.0.0.1:${port}/metrics` };
	} finally {
		if (before === undefined) delete process.env.METRICS_PORT;
		else process.env.METRICS_PORT = before;
	}
}

/** The sizes measured: a tenth, half and all of BENCH_SCALE (1,000 / 5,000 / 10,000 by default). */
export function scaleSizes(top: number): number[] {
	return [...new Set([Math.max(1, Math.round(top / 10)), Math.max(1, Math.round(top / 2)), top])];
}

export function scaleTop(): number {
	const raw = process.env.BENCH_SCALE;
	const n = raw ? Number(raw) : 10_000;
	if (!Number.isInteger(n) || n < 10) throw new Error(`BENCH_SCALE=${raw}: expected an integer ≥ 10`);
	return n;
}

export interface ScalePoint {
	deployments: number;
	createPerSec: number;
	createFailed: number;
	pageP50Ms: number;
	pageP99Ms: number;
	resyncSeconds: number;
	resyncKeys: number;
	rssMiB: number;
}

const CONTROLLER = "k8s.deployments";

async function createNamespaces(mesh: Mesh, ctx: ScaleContext, names: string[]): Promise<void> {
	await pool(names, ctx.config.createConcurrency, async name => {
		await mesh.must("POST", "/api/v1/k8s/namespaces", { name, quota: BENCH_QUOTA });
		ctx.createdNamespaces?.push(name);
	});
}

/** Creates deployments [from, to) round-robin over `namespaces`; the rate and the failures. */
async function createRange(mesh: Mesh, ctx: ScaleContext, namespaces: string[], from: number, to: number, label: string): Promise<{ perSec: number; failed: number }> {
	const width = String(scaleTop()).length;
	const indexes = Array.from({ length: to - from }, (_, k) => from + k);
	let failed = 0;
	let done = 0;
	const t0 = performance.now();
	await pool(indexes, ctx.config.createConcurrency, async i => {
		const outcome = await mesh.createDeployment({ name: `s-${pad(i, width)}`, namespace: namespaces[i % namespaces.length], image: "nginx", replicas: 0 }, label);
		if (outcome === "failed") failed++;
		if (++done % 500 === 0) log(`${label}: ${from + done}/${to} created`);
	});
	const seconds = since(t0);
	return { perSec: (indexes.length - failed) / seconds, failed };
}

/** p50 and p99 of `n` sequential pages of 100 over every deployment (the admin's list), at random offsets. */
async function pageLatency(mesh: Mesh, total: number, n = 200): Promise<{ p50: number; p99: number }> {
	const times: number[] = [];
	const pages = Math.max(1, Math.floor(total / 100));
	for (let k = 0; k < n + 10; k++) {
		const offset = Math.floor(Math.random() * pages) * 100;
		const t0 = performance.now();
		const res = await mesh.api<unknown[]>("GET", `/api/v1/k8s/deployments?limit=100&offset=${offset}`);
		const ms = performance.now() - t0;
		if (res.status !== 200) throw new Error(`GET /api/v1/k8s/deployments?limit=100&offset=${offset}: ${res.status} ${res.text.slice(0, 300)}`);
		if (k >= 10) times.push(ms); // the first ten warm the caches and the JIT
	}
	return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** The deployments controller's next full resync that lists at least `keys` keys (so began after the creates). */
async function resyncOf(metricsUrl: string, keys: number, timeoutMs: number): Promise<{ seconds: number; keys: number }> {
	return waitFor(`a full resync of ${keys} deployments`, timeoutMs, async () => {
		const samples = await scrape(metricsUrl);
		const n = sumBy(samples, "berth_reconcile_resync_keys", "controller")[CONTROLLER] ?? 0;
		if (n < keys) return undefined;
		return { seconds: sumBy(samples, "berth_reconcile_resync_seconds", "controller")[CONTROLLER], keys: n };
	}, 2_000);
}

/** The single node's curve. */
async function singleNodeCurve(ctx: ScaleContext, sizes: number[], namespaces: string[]): Promise<{ points: ScalePoint[]; baseRssMiB: number }> {
	const { mesh, metricsUrl } = await startMetered(ctx, "scale");
	try {
		log(`scale: ${namespaces.length} namespaces`);
		await createNamespaces(mesh, ctx, namespaces);
		await sleep(5_000);
		const baseRssMiB = mesh.memory().rssMiB;
		const points: ScalePoint[] = [];
		let made = 0;
		const resyncWaitMs = (Number(process.env.RESYNC_SECONDS) || 60) * 2_000 + 900_000;
		for (const size of sizes) {
			const created = await createRange(mesh, ctx, namespaces, made, size, "scale");
			made = size;
			const page = await pageLatency(mesh, size);
			const resync = await resyncOf(metricsUrl, size - created.failed, resyncWaitMs);
			const point: ScalePoint = { deployments: size, createPerSec: created.perSec, createFailed: created.failed, pageP50Ms: page.p50, pageP99Ms: page.p99, resyncSeconds: resync.seconds, resyncKeys: resync.keys, rssMiB: mesh.memory().rssMiB };
			log(`scale @${size}: ${point.createPerSec.toFixed(1)} creates/s (${point.createFailed} failed), page p50 ${point.pageP50Ms.toFixed(1)} ms p99 ${point.pageP99Ms.toFixed(1)} ms, resync ${point.resyncSeconds.toFixed(1)} s (${point.resyncKeys} keys), RSS ${point.rssMiB.toFixed(0)} MiB`);
			points.push(point);
		}
		return { points, baseRssMiB };
	} finally {
		await mesh.stop();
	}
}

/** A Berth node of the three-node mesh: dist/scripts/start.js with its SERVICES. */
function startNode(name: string, env: Record<string, string>, outDir: string): ChildProcess {
	const base: NodeJS.ProcessEnv = { ...process.env };
	for (const k of ["SERVICES", "PORT", "NODE_OPTIONS", "METRICS_PORT", "DATA_DIR"]) delete base[k];
	const proc = spawn(process.execPath, [path.join(repoRoot, "dist", "scripts", "start.js")], { cwd: repoRoot, env: { ...base, LOG_LEVEL: "warn", BERTH_AUTO_CLUSTER: "false", RATE_LIMIT: "1000000000", NODE_ID: name, ...env }, stdio: ["ignore", "pipe", "pipe"] });
	const sink = fs.createWriteStream(path.join(outDir, `mesh3-${name}.log`));
	proc.stdout?.pipe(sink);
	proc.stderr?.pipe(sink);
	return proc;
}

function stopProc(proc: ChildProcess): Promise<void> {
	return new Promise(resolve => {
		if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
		const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
		proc.once("exit", () => {
			clearTimeout(timer);
			resolve();
		});
		proc.kill("SIGTERM");
	});
}

/** SERVICES of docker-compose.yml's api and worker nodes. */
function composeSplit(): { api: string; worker: string } {
	const doc = YAML.parse(fs.readFileSync(path.join(repoRoot, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
	return { api: String(doc.services.api.environment?.SERVICES), worker: String(doc.services.worker.environment?.SERVICES) };
}

/**
 * `count` creates against the api node of three (api + two workers, over a nats-server of its own,
 * with the instance's FerretDB in a database of its own): the rate.
 */
async function threeNodeRate(ctx: ScaleContext, count: number, namespaces: string[]): Promise<number> {
	if (!ctx.cluster.mongoUri) throw new Error("the three-node mesh needs FerretDB: BENCH_DB=ferretdb");
	const run = randomBytes(3).toString("hex");
	const natsPort = await freePort();
	const natsDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-nats-"));
	const nats = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)], { stdio: ["ignore", "ignore", "pipe"] });
	const procs: ChildProcess[] = [];
	const port = await freePort();
	const split = composeSplit();
	const common = {
		TRANSPORTER: `nats://127.0.0.1:${natsPort}`,
		MONGO_URI: ctx.cluster.mongoUri.replace(/\/[^/]*$/, `/berth-scale-${run}`),
		BERTH_ADMIN_KEY: ctx.adminKey,
		LEADER_LEASE_NAME: `${ctx.leaseName}-mesh3-${run}`,
		KUBECONFIG: ctx.cluster.kubeconfig,
		SECRETS_KEY: randomBytes(32).toString("base64"),
		DATA_DIR: natsDir,
	};
	try {
		procs.push(startNode(`api-${run}`, { ...common, SERVICES: split.api, PORT: String(port), HOST: "127.0.0.1" }, ctx.outDir));
		procs.push(startNode(`worker1-${run}`, { ...common, SERVICES: split.worker }, ctx.outDir));
		procs.push(startNode(`worker2-${run}`, { ...common, SERVICES: split.worker }, ctx.outDir));
		const url = `http://127.0.0.1:${port}`;
		const auth = { authorization: `Bearer ${ctx.adminKey}` };
		await waitFor("the three-node mesh to serve namespaces and deployments", 180_000, async () => {
			if (procs.some(p => p.exitCode !== null)) throw new Error(`a node exited; logs in ${ctx.outDir}/mesh3-*.log`);
			const ready = await fetch(`${url}/health/ready`).catch(() => undefined);
			const ns = await fetch(`${url}/api/v1/k8s/namespaces`, { headers: auth }).catch(() => undefined);
			const deps = await fetch(`${url}/api/v1/k8s/deployments?limit=1`, { headers: auth }).catch(() => undefined);
			return ready?.status === 200 && ns?.status === 200 && deps?.status === 200 ? true : undefined;
		}, 500);
		// The Mesh helper's REST calls, pointed at the api node.
		const api = Object.assign(Object.create(Mesh.prototype) as Mesh, { url, key: ctx.adminKey });
		await createNamespaces(api, ctx, namespaces);
		const created = await createRange(api, ctx, namespaces, 0, count, "mesh3");
		log(`scale (three nodes): ${count} creates at ${created.perSec.toFixed(1)}/s (${created.failed} failed)`);
		return created.perSec;
	} finally {
		await Promise.all(procs.map(stopProc));
		nats.kill("SIGTERM");
		fs.rmSync(natsDir, { recursive: true, force: true });
	}
}

/** The rows of benchmark 5 from the measured curve (targets of issue #24 at the top size). */
export function scaleRows(points: ScalePoint[], baseRssMiB: number, mesh3PerSec?: number): BenchRow[] {
	const first = points[0];
	const top = points[points.length - 1];
	const perThousand = (top.rssMiB - baseRssMiB) / (top.deployments / 1000);
	const rows: BenchRow[] = [
		{ id: "5a", benchmark: `scale: create rate at ${top.deployments} vs at ${first.deployments}`, berth: top.createPerSec, baseline: first.createPerSec, unit: "creates/s", ratio: top.createPerSec / first.createPerSec, target: "≥ 1.0×", met: top.createPerSec >= first.createPerSec },
		{ id: "5b", benchmark: `scale: page of 100 at ${top.deployments}, p50`, berth: top.pageP50Ms, baseline: null, unit: "ms", ratio: null, target: "< 50 ms", met: top.pageP50Ms < 50 },
		{ id: "5c", benchmark: `scale: page of 100 at ${top.deployments}, p99`, berth: top.pageP99Ms, baseline: null, unit: "ms", ratio: null, target: "< 50 ms", met: top.pageP99Ms < 50 },
		{ id: "5d", benchmark: `scale: full resync of ${top.resyncKeys} deployments`, berth: top.resyncSeconds, baseline: null, unit: "s", ratio: null, target: "< 30 s", met: top.resyncSeconds < 30 },
		{ id: "5e", benchmark: `scale: RSS per 1,000 deployments (${top.rssMiB.toFixed(0)} MiB at ${top.deployments}, ${baseRssMiB.toFixed(0)} MiB with none)`, berth: perThousand, baseline: null, unit: "MiB", ratio: null, target: "≤ 10 MiB", met: perThousand <= 10 },
	];
	if (mesh3PerSec !== undefined)
		rows.push({ id: "5f", benchmark: `scale: create rate of ${first.deployments} on three nodes (NATS, FerretDB) vs one node`, berth: mesh3PerSec, baseline: first.createPerSec, unit: "creates/s", ratio: mesh3PerSec / first.createPerSec, target: "reported", met: true });
	return rows;
}

export async function runScaleCurve(ctx: ScaleContext): Promise<BenchRow[]> {
	const top = scaleTop();
	const sizes = scaleSizes(top);
	const tag = randomBytes(2).toString("hex");
	const nsCount = Math.min(200, sizes[0]);
	const namespaces = Array.from({ length: nsCount }, (_, i) => `scale-${tag}-${pad(i, 3)}`);
	log(`scale: ${sizes.join(" / ")} deployments (replicas 0) over ${nsCount} namespaces, ${ctx.config.createConcurrency} clients; DB ${ctx.config.db}`);
	const { points, baseRssMiB } = await singleNodeCurve(ctx, sizes, namespaces);
	let mesh3: number | undefined;
	try {
		mesh3 = await threeNodeRate(ctx, sizes[0], namespaces.map(n => `${n}-m3`).slice(0, Math.min(nsCount, 20)));
	} catch (err) {
		log(`scale: the three-node mesh was not measured: ${(err as Error).message}`);
	}
	const rows = scaleRows(points, baseRssMiB, mesh3);
	fs.writeFileSync(path.join(ctx.outDir, "scale.json"), JSON.stringify({ sizes, namespaces: nsCount, db: ctx.config.db, baseRssMiB, points, mesh3PerSec: mesh3, rows }, null, 2) + "\n");
	return rows;
}
