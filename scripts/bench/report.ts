import type { DeployResult, DeploySide } from "./deploy";
import type { InventoryResult, RelistResult } from "./inventory";
import type { LoadRun, ReadsResult } from "./reads";
import type { BenchRow } from "./rows";
import { benchRow } from "./targets";
import type { BenchConfig } from "./util";

export interface Memory {
	rssMiB: number;
	peakMiB: number;
}

export interface Results {
	command: string;
	startedAt: string;
	finishedAt?: string;
	config: Omit<BenchConfig, "only"> & { only: string[] };
	machine?: {
		cpus: string;
		memoryGiB: number;
		os: string;
		node: string;
		kubectl: string;
		cluster: string;
		moleculer: string;
		moleculerWeb: string;
		autocannon: string;
		loadAverageAtStart: string;
		/** 1-minute load average sampled every 10 s during the run. */
		loadAverage?: { mean: number; max: number };
	};
	deploy?: DeployResult;
	reads?: ReadsResult;
	inventory?: InventoryResult;
	relist?: RelistResult;
	idle?: Memory;
	withPods?: Memory;
	afterRestart?: Memory;
	/** Every benchmark's figure, baseline, ratio, target and whether it is met. */
	rows?: BenchRow[];
	profiles?: string[];
	errors: string[];
}

/** A row as the table prints it. */
interface Cells {
	id: string;
	benchmark: string;
	berth: string;
	baseline: string;
	ratio: string;
	target: string;
	met: string;
}

const MB = 1.048576; // MiB → MB (10^6 bytes): the targets are in MB

/** The figure and its unit as the table prints them. */
function figure(x: number | null, unit: string): string {
	if (x === null) return "—";
	const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
	return `${x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

/** Every row this run measured (benchmarks 1–4), in the order of the issue; `extra` (5, 6, …) after them. */
export function rows(r: Results, extra: BenchRow[] = []): BenchRow[] {
	return [...deployRows(r), ...readRows(r), ...inventoryRows(r), ...memoryRows(r), ...extra];
}

/** 1a and 1b: deploying the catalog apps, against kubectl apply --server-side and the cluster's own rollout. */
function deployRows(r: Results): BenchRow[] {
	const d = r.deploy;
	if (!d?.berth) return [];
	const clean = !d.berth.failed && !d.kubectl?.failed;
	const objects = d.berth.objectsPerApp;
	return [
		benchRow({ id: "1a", benchmark: `apply ${d.apps} catalog apps (${objects} objects each): REST (${r.config.createConcurrency} clients) until applied, vs kubectl apply --server-side`, berth: d.berth.appliedSeconds, baseline: d.kubectl?.appliedSeconds, unit: "s", target: { of: "ratio", op: "≤", value: 1, note: "stretch 0.7×" }, clean }),
		benchRow({ id: "1b", benchmark: `${d.apps} catalog apps until all Ready, vs kubectl apply + one wait for every Deployment`, berth: d.berth.seconds, baseline: d.kubectl?.seconds, unit: "s", target: { of: "ratio", op: "≤", value: 1.05 }, clean }),
	];
}

/** 2a, 2b…: gateway reads, against a bare node:http server. */
function readRows(r: Results): BenchRow[] {
	return (r.reads?.variants ?? []).map((v, i) =>
		benchRow({
			id: `2${"abcdefgh"[i]}`,
			benchmark: `gateway reads: ${v.route} of ${r.reads?.entities} (${v.itemsPerResponse} per response, ${(v.berth.bytesPerReq / 1024).toFixed(0)} KiB), ${r.config.connections} clients, vs bare node:http`,
			berth: v.berth.reqPerSec,
			baseline: v.bare.reqPerSec,
			unit: "req/s",
			target: { of: "ratio", op: "≥", value: 0.7 },
			clean: !v.berth.non2xx && !v.berth.errors,
		}),
	);
}

/** 3a and 3b: the pod inventory's lag behind the apiserver, and its list path after a restart. */
function inventoryRows(r: Results): BenchRow[] {
	const out: BenchRow[] = [];
	const inv = r.inventory;
	if (inv) out.push(benchRow({ id: "3a", benchmark: `inventory: ${inv.pods} pods created outside Berth, all visible after the last creation`, berth: inv.lagSeconds, unit: "s", target: { of: "berth", op: "<", value: 1 }, clean: !inv.failed }));
	const re = r.relist;
	if (re?.listObjectsPerSec !== undefined) out.push(benchRow({ id: "3b", benchmark: `inventory list path: ${re.objects} objects listed by a restarted mesh (boot aside)`, berth: re.listObjectsPerSec, unit: "objects/s", target: { of: "berth", op: "≥", value: 3000 } }));
	return out;
}

/** 4a–4c: the mesh's memory (RSS, MB), idle, with the inventory, and restarted. */
function memoryRows(r: Results): BenchRow[] {
	const out: BenchRow[] = [];
	const mb = (m: Memory) => m.rssMiB * MB;
	if (r.idle) out.push(benchRow({ id: "4a", benchmark: "memory: single-process mesh, idle", berth: mb(r.idle), unit: "MB", target: { of: "berth", op: "<", value: 150 } }));
	if (r.withPods) out.push(benchRow({ id: "4b", benchmark: `memory: with the ${r.inventory?.pods ?? r.config.pods}-pod inventory (and everything above)`, berth: mb(r.withPods), unit: "MB", target: { of: "berth", op: "<", value: 300 } }));
	if (r.afterRestart) out.push(benchRow({ id: "4c", benchmark: "memory: the same state, freshly restarted", berth: mb(r.afterRestart), unit: "MB", target: { of: "berth", op: "<", value: 350 } }));
	return out;
}

/** What each row's figure is made of, for the notes under the table. */
function details(r: Results): string[] {
	const out: string[] = [];
	const side = (s: DeploySide | undefined) => (s ? `applied ${s.appliedSeconds.toFixed(1)} s, all answered ${s.submittedSeconds.toFixed(1)} s, Ready ${s.seconds.toFixed(1)} s${s.failed ? `, ${s.failed} failed` : ""}${s.conflicts ? `, ${s.conflicts} answered 409 though created` : ""}` : "failed");
	if (r.deploy) out.push(`1: Berth ${side(r.deploy.berth)}; kubectl ${side(r.deploy.kubectl)}.`);
	for (const [i, v] of (r.reads?.variants ?? []).entries()) {
		const run = (x: LoadRun) => `${x.reqPerSec.toFixed(0)} req/s, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms${x.non2xx || x.errors ? ` (${x.non2xx} non-2xx, ${x.errors} errors)` : ""}`;
		out.push(`2${"abcdefgh"[i]}: Berth ${run(v.berth)}; bare ${run(v.bare)}.`);
	}
	if (r.reads) out.push(`2: the ${r.reads.entities} deployments were created through the API in ${r.reads.createSeconds.toFixed(0)} s (${(r.reads.entities / r.reads.createSeconds).toFixed(1)}/s${r.reads.createConflicts ? `; ${r.reads.createConflicts} answered 409 though created` : ""}${r.reads.createFailed ? `; ${r.reads.createFailed} failed` : ""}); reads were measured once all reported their final phase, ${r.reads.settleSeconds.toFixed(0)} s after the last create.`);
	const inv = r.inventory;
	if (inv) out.push(`3a: ${inv.pods} pods created in ${inv.createSeconds.toFixed(1)} s (${(inv.pods / inv.createSeconds).toFixed(0)}/s); ${inv.objectsPerSec.toFixed(0)} objects/s end to end.`);
	const re = r.relist;
	if (re) out.push(`3b: the restarted mesh was ready ${re.readySeconds.toFixed(1)} s after spawning and served every pod at ${re.visibleSeconds.toFixed(1)} s${re.idleSyncedSeconds !== undefined ? ` (an empty inventory synced ${re.idleSyncedSeconds.toFixed(1)} s after spawning)` : ""}; ${re.objectsPerSec.toFixed(0)} objects/s including boot.`);
	for (const [id, m] of [["4a", r.idle], ["4b", r.withPods], ["4c", r.afterRestart]] as const) if (m) out.push(`${id}: peak RSS ${(m.peakMiB * MB).toFixed(0)} MB.`);
	return out;
}

function cells(row: BenchRow): Cells {
	return {
		id: row.id,
		benchmark: row.benchmark,
		berth: figure(row.berth, row.unit),
		baseline: figure(row.baseline, row.unit),
		ratio: row.ratio === null ? "—" : `${row.ratio.toFixed(2)}×`,
		target: row.target,
		met: row.met ? "yes" : "**no**",
	};
}

/** A Markdown pipe table of `r.rows` whose columns line up, so it reads in a terminal too, and the notes behind each figure. */
export function renderTable(r: Results): string {
	const header: Cells = { id: "#", benchmark: "benchmark", berth: "Berth", baseline: "baseline (same run)", ratio: "ratio", target: "target", met: "met" };
	const all = [header, ...(r.rows ?? rows(r)).map(cells)];
	const keys = Object.keys(header) as (keyof Cells)[];
	const width = Object.fromEntries(keys.map(k => [k, Math.max(...all.map(row => row[k].length))])) as Record<keyof Cells, number>;
	const line = (row: Cells) => `| ${keys.map(k => row[k].padEnd(width[k])).join(" | ")} |`;
	const rule = `|${keys.map(k => "-".repeat(width[k] + 2)).join("|")}|`;
	const body = [line(header), rule, ...all.slice(1).map(line)];
	const notes = details(r);
	if (notes.length) body.push("", ...notes.map(n => `- ${n}`));
	if (r.errors.length) body.push("", ...r.errors.map(e => `error: ${e}`));
	return body.join("\n");
}

export function renderMarkdown(r: Results): string {
	const m = r.machine;
	const lines = [
		`## Run of ${r.startedAt}`,
		"",
		`Command: \`${r.command}\``,
		"",
		...(m
			? [
					`Machine: ${m.cpus}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; kubectl ${m.kubectl}; ${m.cluster}; moleculer ${m.moleculer}, moleculer-web ${m.moleculerWeb}, autocannon ${m.autocannon}. Load average at start: ${m.loadAverageAtStart}${m.loadAverage ? `; during the run (1-minute, sampled every 10 s): mean ${m.loadAverage.mean.toFixed(1)}, max ${m.loadAverage.max.toFixed(1)}` : ""}.`,
					"",
				]
			: []),
		renderTable(r),
		"",
	];
	return lines.join("\n");
}
