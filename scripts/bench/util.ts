import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..", "..");

/** Every knob of `npm run bench`, from the environment; the defaults are the sizes of issue #12. */
export interface BenchConfig {
	/** Benchmark 1: catalog apps deployed by each side. */
	apps: number;
	/** Benchmark 2: deployment entities listed, and the page size asked for. */
	list: number;
	page: number;
	connections: number;
	durationS: number;
	/** Benchmark 3: pods created outside Berth. */
	pods: number;
	/** Concurrent REST creates (benchmarks 1 and 2) and pod creates (benchmark 3). */
	createConcurrency: number;
	podConcurrency: number;
	/** Which benchmarks run (BENCHMARKS). */
	only: Set<Benchmark>;
	/** "own": a private control plane brought up and torn down here; "shared": the one in .cluster/. */
	cluster: "own" | "shared";
	keepCluster: boolean;
	/** Profile the mesh process: its .cpuprofile / .heapprofile lands in the results directory. */
	profile?: "cpu" | "heap";
	/** The whole run is stopped after this many minutes. */
	timeoutMin: number;
	/** "nedb" (what `npm start` uses without MONGO_URI) or "ferretdb" (the instance's FerretDB). */
	db: "nedb" | "ferretdb";
	/** Write heap snapshots of the mesh where memory is measured (4b, 4c), and summarize them. */
	heapSnapshots: boolean;
}

function int(name: string, fallback: number, min = 1): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: expected an integer ≥ ${min}`);
	return n;
}

function oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	if (!values.includes(raw as T)) throw new Error(`${name}=${raw}: expected one of ${values.join(", ")}`);
	return raw as T;
}

/** Every BENCH_ONLY name; scale, reconcile and cost run through index.ts's ROW_BENCHMARKS. */
export const BENCHMARKS = ["deploy", "reads", "inventory", "memory", "scale", "reconcile", "cost"] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

export function loadBenchConfig(): BenchConfig {
	const only = (process.env.BENCH_ONLY ?? "").split(",").map(s => s.trim()).filter(Boolean);
	const unknown = only.filter(b => !(BENCHMARKS as readonly string[]).includes(b));
	if (unknown.length) throw new Error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(", ")}; known: ${BENCHMARKS.join(", ")}`);
	const profile = process.env.BENCH_PROFILE;
	if (profile && profile !== "cpu" && profile !== "heap") throw new Error(`BENCH_PROFILE=${profile}: expected cpu or heap`);
	return {
		apps: int("BENCH_APPS", 200),
		list: int("BENCH_LIST", 1000),
		page: int("BENCH_PAGE", 100),
		connections: int("BENCH_CONNECTIONS", 32),
		durationS: int("BENCH_DURATION", 10),
		pods: int("BENCH_PODS", 5000),
		createConcurrency: int("BENCH_CONCURRENCY", 16),
		podConcurrency: int("BENCH_POD_CONCURRENCY", 32),
		only: new Set((only.length ? only : BENCHMARKS) as Benchmark[]),
		cluster: oneOf("BENCH_CLUSTER", ["own", "shared"] as const, "own"),
		keepCluster: process.env.BENCH_KEEP_CLUSTER === "1" || process.env.BENCH_KEEP_CLUSTER === "true",
		profile: profile as BenchConfig["profile"],
		timeoutMin: int("BENCH_TIMEOUT_MIN", 120),
		db: oneOf("BENCH_DB", ["nedb", "ferretdb"] as const, "nedb"),
		heapSnapshots: process.env.BENCH_HEAPSNAPSHOT === "1" || process.env.BENCH_HEAPSNAPSHOT === "true",
	};
}

const started = Date.now();

export function log(msg: string): void {
	process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}

export function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/** Seconds since `t0` (a performance.now() reading). */
export function since(t0: number): number {
	return (performance.now() - t0) / 1000;
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value !== undefined) return value;
		} catch (err) {
			lastError = err;
		}
		if (Date.now() >= deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
		await sleep(intervalMs);
	}
}

/** Runs `fn` over `items` with at most `concurrency` at a time; results in input order. */
export async function pool<I, R>(items: readonly I[], concurrency: number, fn: (item: I, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			results[i] = await fn(items[i], i);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
	return results;
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.listen(0, "127.0.0.1", () => {
			const port = (srv.address() as net.AddressInfo).port;
			srv.close(() => resolve(port));
		});
		srv.on("error", reject);
	});
}

/** Resident set size and its peak of a process, in MiB, from /proc. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
	const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
	const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
	return { rssMiB: kb("VmRSS") / 1024, peakMiB: kb("VmHWM") / 1024 };
}

export function pad(n: number, width: number): string {
	return String(n).padStart(width, "0");
}
