/**
 * Benchmarks 5 (scale curve), 6 (reconcile latency) and the write path's count on a private control
 * plane, without the rest of `npm run bench`:
 *   npm run build && node dist/scripts/bench/run-scale.js
 * BENCH_ONLY=cost,reconcile,scale (default all) BENCH_SCALE=10000 BENCH_SCALES=200; the other
 * BENCH_* knobs as index.ts. The instance always runs FerretDB (the three-node mesh's store); the
 * single-process meshes use it only with BENCH_DB=ferretdb (default: NeDB, as `npm start`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bringUpCluster, type BenchCluster } from "./cluster";
import { runCost } from "./cost";
import { Mesh, newAdminKey } from "./mesh";
import { formatSummary } from "./profile";
import { runReconcileLatency } from "./reconcile";
import type { BenchRow } from "./rows";
import { runScaleCurve, type ScaleContext } from "./scale";
import { loadBenchConfig, log, repoRoot } from "./util";

const RUNS: Record<string, (ctx: ScaleContext) => Promise<BenchRow[]>> = { cost: runCost, reconcile: runReconcileLatency, scale: runScaleCurve };

async function main(): Promise<number> {
	const only = (process.env.BENCH_ONLY || Object.keys(RUNS).join(",")).split(",").map(s => s.trim()).filter(Boolean);
	const unknown = only.filter(o => !RUNS[o]);
	if (unknown.length) throw new Error(`BENCH_ONLY: unknown ${unknown.join(", ")}; known here: ${Object.keys(RUNS).join(", ")}`);
	delete process.env.BENCH_ONLY; // index.ts's config knows other names
	const config = loadBenchConfig();
	const outDir = path.resolve(repoRoot, process.env.BENCH_OUT || path.join(".cluster-bench", "results", `scale-${new Date().toISOString().replace(/[:.]/g, "-")}`));
	fs.mkdirSync(outDir, { recursive: true });
	const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-data-"));
	const cluster: BenchCluster = bringUpCluster({ ...config, db: "ferretdb" });
	for (const signal of ["SIGINT", "SIGTERM"] as const)
		process.once(signal, () => {
			log(`${signal}: tearing down`);
			cluster.down();
			process.exit(130);
		});
	const adminKey = newAdminKey();
	let meshes = 0;
	const ctx: ScaleContext = {
		cluster,
		config,
		outDir,
		adminKey,
		leaseName: "berth-bench-scale",
		createdNamespaces: [],
		// A fresh store per mesh (a database of its own on FerretDB): each benchmark starts empty.
		startMesh: label => {
			const dataDir = path.join(dataRoot, `${label}-${++meshes}`);
			fs.mkdirSync(dataDir);
			const c = { ...cluster, mongoUri: config.db === "ferretdb" ? cluster.mongoUri?.replace(/\/[^/]*$/, `/berth-bench-${label}-${meshes}-${process.pid}`) : undefined };
			return Mesh.start(label, { cluster: c, config, dataDir, outDir, adminKey, leaseName: `berth-bench-${label}-${meshes}` });
		},
	};
	const rows: BenchRow[] = [];
	const errors: string[] = [];
	try {
		for (const name of only) {
			try {
				rows.push(...(await RUNS[name](ctx)));
			} catch (err) {
				log(`${name} failed: ${(err as Error).stack ?? err}`);
				errors.push(`${name}: ${(err as Error).message}`);
			}
		}
	} finally {
		cluster.down();
		fs.rmSync(dataRoot, { recursive: true, force: true });
	}
	fs.writeFileSync(path.join(outDir, "rows.json"), JSON.stringify({ rows, errors }, null, 2) + "\n");
	for (const r of rows) process.stdout.write(`${r.id.padEnd(22)} ${r.berth.toFixed(1).padStart(9)} ${r.unit.padEnd(10)} baseline ${r.baseline === null ? "—" : r.baseline.toFixed(1)}  ratio ${r.ratio === null ? "—" : r.ratio.toFixed(2)}  ${r.target} ${r.met ? "met" : "MISSED"}  ${r.benchmark}\n`);
	const profiles = path.join(outDir, "profiles");
	if (config.profile === "cpu" && fs.existsSync(profiles))
		for (const f of fs.readdirSync(profiles).filter(f => f.endsWith(".cpuprofile")).sort()) process.stdout.write("\n" + formatSummary(path.join(profiles, f), 20) + "\n");
	log(`written: ${path.join(outDir, "rows.json")}`);
	return errors.length ? 1 : 0;
}

main().then(
	code => process.exit(code),
	err => {
		console.error(err);
		process.exit(1);
	},
);
