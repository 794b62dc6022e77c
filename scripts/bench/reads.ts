import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import autocannon from "autocannon";
import { BENCH_QUOTA } from "./deploy";
import type { Mesh } from "./mesh";
import { log, pad, pool, since, sleep, waitFor, type BenchConfig } from "./util";

export interface LoadRun {
	reqPerSec: number;
	p50Ms: number;
	p99Ms: number;
	non2xx: number;
	errors: number;
	bytesPerReq: number;
}

export interface ReadsVariant {
	/** What was read, e.g. "GET /api/v1/k8s/deployments". */
	route: string;
	itemsPerResponse: number;
	berth: LoadRun;
	bare: LoadRun;
	ratio: number;
}

export interface ReadsResult {
	entities: number;
	createSeconds: number;
	/** From the last create until every deployment reported its final phase, plus a quiet 5 s. */
	settleSeconds: number;
	createFailed: number;
	/** Creates answered 409 though they had succeeded (a retry after the broker's request timeout). */
	createConflicts: number;
	variants: ReadsVariant[];
}

async function load(url: string, paths: string[], config: BenchConfig, headers: Record<string, string>, seconds: number): Promise<LoadRun> {
	const result = await autocannon({
		url,
		connections: config.connections,
		duration: seconds,
		headers,
		requests: paths.map(p => ({ method: "GET", path: p })),
	});
	return {
		reqPerSec: result.requests.average,
		p50Ms: result.latency.p50,
		p99Ms: result.latency.p99,
		non2xx: result.non2xx,
		errors: result.errors + result.timeouts,
		bytesPerReq: result.requests.total ? result.throughput.total / result.requests.total : 0,
	};
}

/** A warm-up (JIT, connection pools), then the measured run. */
async function measure(url: string, paths: string[], config: BenchConfig, headers: Record<string, string> = {}): Promise<LoadRun> {
	await load(url, paths, config, headers, Math.min(3, config.durationS));
	return load(url, paths, config, headers, config.durationS);
}

/** Starts the bare server over `bodies` in its own process; resolves with its URL and a stop function. */
async function startBare(bodies: Record<string, unknown>, outDir: string, name: string): Promise<{ url: string; stop: () => Promise<void> }> {
	const file = path.join(outDir, `bare-${name}.json`);
	fs.writeFileSync(file, JSON.stringify(bodies));
	const proc = spawn(process.execPath, [path.join(__dirname, "bare-server.js"), file], { stdio: ["ignore", "pipe", "inherit"] });
	const port = await new Promise<number>((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error("the bare server did not start in 10 s")), 10_000);
		proc.stdout.on("data", d => {
			out += String(d);
			const m = /PORT (\d+)/.exec(out);
			if (m) {
				clearTimeout(timer);
				resolve(Number(m[1]));
			}
		});
		proc.once("exit", code => reject(new Error(`the bare server exited (${code})`)));
	});
	return {
		url: `http://127.0.0.1:${port}`,
		stop: () =>
			new Promise<void>(resolve => {
				if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
				proc.once("exit", () => resolve());
				proc.kill("SIGTERM");
			}),
	};
}

async function compare(mesh: Mesh, config: BenchConfig, outDir: string, name: string, route: string, paths: string[], itemsOf: (body: unknown) => number): Promise<ReadsVariant> {
	const bodies: Record<string, unknown> = {};
	let items = 0;
	for (const p of paths) {
		const res = await mesh.api("GET", p);
		if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${res.text.slice(0, 300)}`);
		bodies[p] = res.body;
		items = Math.max(items, itemsOf(res.body));
	}
	const bare = await startBare(bodies, outDir, name);
	try {
		log(`reads/${name}: bare node:http server, ${config.connections} connections, ${config.durationS} s`);
		const bareRun = await measure(bare.url, paths, config);
		log(`reads/${name}: bare ${bareRun.reqPerSec.toFixed(0)} req/s, p99 ${bareRun.p99Ms} ms; now Berth`);
		const berthRun = await measure(mesh.url, paths, config, { authorization: `Bearer ${mesh.key}` });
		log(`reads/${name}: Berth ${berthRun.reqPerSec.toFixed(0)} req/s, p99 ${berthRun.p99Ms} ms (non-2xx ${berthRun.non2xx}, errors ${berthRun.errors})`);
		return { route, itemsPerResponse: items, berth: berthRun, bare: bareRun, ratio: berthRun.reqPerSec / bareRun.reqPerSec };
	} finally {
		await bare.stop();
	}
}

/**
 * Benchmark 2: `config.list` deployment entities (replicas 0: no pods) in one namespace, read in
 * pages of `config.page` by `config.connections` concurrent clients, against a bare server that
 * answers the very same bodies. Two routes: the deployments list (the entities, from the DB) and
 * the inventory's Deployments (from memory, paged by limit/offset).
 */
export async function benchReads(mesh: Mesh, config: BenchConfig, outDir: string, namespace: string): Promise<ReadsResult> {
	await mesh.must("POST", "/api/v1/k8s/namespaces", { name: namespace, quota: BENCH_QUOTA });
	const width = String(config.list - 1).length;
	const names = Array.from({ length: config.list }, (_, i) => `r-${pad(i, width)}`);
	log(`reads: creating ${names.length} deployments (replicas 0) through the REST API, ${config.createConcurrency} at a time`);
	const t0 = performance.now();
	let failed = 0;
	let conflicts = 0;
	let done = 0;
	await pool(names, config.createConcurrency, async name => {
		const outcome = await mesh.createDeployment({ name, namespace, image: "nginx", replicas: 0 }, "reads");
		if (outcome === "conflict") conflicts++;
		if (outcome === "failed") failed++;
		if (++done % 200 === 0) log(`reads: ${done}/${names.length} created`);
	});
	const createSeconds = since(t0);
	log(`reads: ${names.length - failed} created in ${createSeconds.toFixed(1)} s (${((names.length - failed) / createSeconds).toFixed(1)}/s; ${conflicts} answered 409 after succeeding)`);
	// Reads are measured in the steady state, not while the cluster is still rolling the 1,000 out:
	// every status write-back clears the list's cache, as it must.
	const settleStart = performance.now();
	await waitFor(`every deployment in ${namespace} to report "Scaled to zero"`, 300_000, async () => {
		const list = (await mesh.api<Array<{ status?: { phase?: string } }>>("GET", `/api/v1/k8s/deployments?namespace=${namespace}`)).body;
		return Array.isArray(list) && list.length >= names.length - failed && list.every(d => d.status?.phase === "Scaled to zero") ? true : undefined;
	}, 1_000);
	await sleep(5_000);
	const settleSeconds = since(settleStart);
	log(`reads: every deployment settled ${settleSeconds.toFixed(1)} s after the last create (5 s of it a quiet wait)`);
	const pages = Math.max(1, Math.ceil(config.list / config.page));
	const offsets = Array.from({ length: pages }, (_, k) => k * config.page);

	const variants: ReadsVariant[] = [];
	// The deployments list takes limit/offset once it pages; until then it answers the whole list.
	variants.push(
		await compare(mesh, config, outDir, "deployments", "GET /api/v1/k8s/deployments?namespace=…", offsets.map(o => `/api/v1/k8s/deployments?namespace=${namespace}&limit=${config.page}&offset=${o}`), body =>
			Array.isArray(body) ? body.length : ((body as { items?: unknown[]; rows?: unknown[] })?.items ?? (body as { rows?: unknown[] })?.rows ?? []).length,
		),
	);
	await waitFor(`the inventory to list ${config.list} Deployments in ${namespace}`, 120_000, async () => {
		const page = (await mesh.api<{ total?: number }>("GET", `/api/v1/k8s/inventory/deployments?namespace=${namespace}&limit=1`)).body;
		return (page?.total ?? 0) >= config.list - failed ? true : undefined;
	});
	variants.push(
		await compare(mesh, config, outDir, "inventory", "GET /api/v1/k8s/inventory/deployments?namespace=…", offsets.map(o => `/api/v1/k8s/inventory/deployments?namespace=${namespace}&limit=${config.page}&offset=${o}`), body =>
			((body as { items?: unknown[] })?.items ?? []).length,
		),
	);
	return { entities: names.length - failed, createSeconds, settleSeconds, createFailed: failed, createConflicts: conflicts, variants };
}
