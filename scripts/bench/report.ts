import type { DeployResult } from "./deploy";
import type { InventoryResult, RelistResult } from "./inventory";
import type { ReadsResult } from "./reads";
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
	profiles?: string[];
	errors: string[];
}

interface Row {
	id: string;
	benchmark: string;
	berth: string;
	baseline: string;
	ratio: string;
	target: string;
	met: string;
}

const MB = 1.048576; // MiB → MB (10^6 bytes): the targets are in MB

function verdict(ok: boolean | undefined): string {
	return ok === undefined ? "—" : ok ? "yes" : "**no**";
}

function mem(m: Memory | undefined): string {
	return m ? `${(m.rssMiB * MB).toFixed(0)} MB RSS (peak ${(m.peakMiB * MB).toFixed(0)} MB)` : "not measured";
}

export function rows(r: Results): Row[] {
	return [...deployRows(r), ...readRows(r), ...inventoryRows(r), ...memoryRows(r)];
}

/** 1: deploying the catalog apps, against kubectl apply. */
function deployRows(r: Results): Row[] {
	const out: Row[] = [];
	const d = r.deploy;
	if (d)
		out.push({
			id: "1",
			benchmark: `deploy ${d.apps} catalog apps until Ready`,
			berth: d.berth ? `${d.berth.seconds.toFixed(1)} s (API answered all in ${d.berth.submittedSeconds.toFixed(1)} s)${d.berth.failed ? `, ${d.berth.failed} failed` : ""}${d.berth.conflicts ? `, ${d.berth.conflicts} answered 409 though created` : ""}` : "failed",
			baseline: d.kubectl ? `kubectl: ${d.kubectl.seconds.toFixed(1)} s (apply ${d.kubectl.submittedSeconds.toFixed(1)} s)${d.kubectl.failed ? `, ${d.kubectl.failed} failed` : ""}` : "failed",
			ratio: d.ratio !== undefined ? `${d.ratio.toFixed(2)}×` : "—",
			target: "≤ 0.5×",
			met: verdict(d.ratio === undefined ? undefined : d.ratio <= 0.5 && !d.berth?.failed),
		});
	return out;
}

/** 2a, 2b…: gateway reads, against a bare node:http server. */
function readRows(r: Results): Row[] {
	const out: Row[] = [];
	for (const [i, v] of (r.reads?.variants ?? []).entries()) {
		const run = (x: { reqPerSec: number; p99Ms: number; non2xx: number; errors: number }) => `${x.reqPerSec.toFixed(0)} req/s, p99 ${x.p99Ms} ms${x.non2xx || x.errors ? ` (${x.non2xx} non-2xx, ${x.errors} errors)` : ""}`;
		out.push({
			id: `2${"abcdefgh"[i]}`,
			benchmark: `gateway reads: ${v.route} of ${r.reads?.entities} (${v.itemsPerResponse} per response, ${(v.berth.bytesPerReq / 1024).toFixed(0)} KiB), ${r.config.connections} clients`,
			berth: run(v.berth),
			baseline: `bare node:http: ${run(v.bare)}`,
			ratio: `${v.ratio.toFixed(2)}×`,
			target: "≥ 0.5×",
			met: verdict(v.ratio >= 0.5 && !v.berth.non2xx && !v.berth.errors),
		});
	}
	return out;
}

/** 3 and 3b: the pod inventory, live and after a restart. */
function inventoryRows(r: Results): Row[] {
	const out: Row[] = [];
	const inv = r.inventory;
	if (inv)
		out.push({
			id: "3",
			benchmark: `inventory: ${inv.pods} pods created outside Berth`,
			berth: `all visible ${inv.lagSeconds.toFixed(2)} s after the last creation; ${inv.objectsPerSec.toFixed(0)} objects/s end to end (pods were created in ${inv.createSeconds.toFixed(1)} s = ${(inv.pods / inv.createSeconds).toFixed(0)}/s)`,
			baseline: "—",
			ratio: "—",
			target: "≥ 2,000 objects/s, lag < 3 s",
			met: inv.lagSeconds < 3 && inv.objectsPerSec < 2000 ? "lag: yes; rate: **no** (bounded by the creates: see 3b)" : verdict(inv.objectsPerSec >= 2000 && inv.lagSeconds < 3),
		});
	const re = r.relist;
	if (re)
		out.push({
			id: "3b",
			benchmark: "inventory after a restart (list, then watch)",
			berth: `${re.objects} objects listed: ready ${re.readySeconds.toFixed(1)} s after spawning, every pod served at ${re.visibleSeconds.toFixed(1)} s${re.idleSyncedSeconds !== undefined ? ` (the idle mesh's inventory synced ${re.idleSyncedSeconds.toFixed(1)} s after spawning)` : ""}; ${re.listObjectsPerSec !== undefined ? `${re.listObjectsPerSec.toFixed(0)} objects/s boot aside, ` : ""}${re.objectsPerSec.toFixed(0)} objects/s including boot`,
			baseline: "—",
			ratio: "—",
			target: "≥ 2,000 objects/s",
			met: verdict(re.listObjectsPerSec === undefined ? undefined : re.listObjectsPerSec >= 2000),
		});
	return out;
}

/** 4a–4c: the mesh's memory, idle, with the inventory, and restarted. */
function memoryRows(r: Results): Row[] {
	const out: Row[] = [];
	const inv = r.inventory;
	if (r.idle || r.config.only.includes("memory"))
		out.push({ id: "4a", benchmark: "memory: single-process mesh, idle", berth: mem(r.idle), baseline: "—", ratio: "—", target: "< 200 MB", met: verdict(r.idle ? r.idle.rssMiB * MB < 200 : undefined) });
	if (r.withPods || r.config.only.includes("memory"))
		out.push({
			id: "4b",
			benchmark: `memory: with the ${inv?.pods ?? r.config.pods}-pod inventory (and everything above)`,
			berth: mem(r.withPods),
			baseline: "—",
			ratio: "—",
			target: "< 400 MB",
			met: verdict(r.withPods ? r.withPods.rssMiB * MB < 400 : undefined),
		});
	if (r.afterRestart)
		out.push({ id: "4c", benchmark: "memory: the same state, freshly restarted", berth: mem(r.afterRestart), baseline: "—", ratio: "—", target: "< 400 MB", met: verdict(r.afterRestart.rssMiB * MB < 400) });
	return out;
}

/** A Markdown pipe table whose columns line up, so it reads in a terminal too. */
export function renderTable(r: Results): string {
	const header: Row = { id: "#", benchmark: "benchmark", berth: "Berth", baseline: "baseline (same run)", ratio: "ratio", target: "target", met: "met" };
	const all = [header, ...rows(r)];
	const keys = Object.keys(header) as (keyof Row)[];
	const width = Object.fromEntries(keys.map(k => [k, Math.max(...all.map(row => row[k].length))])) as Record<keyof Row, number>;
	const line = (row: Row) => `| ${keys.map(k => row[k].padEnd(width[k])).join(" | ")} |`;
	const rule = `|${keys.map(k => "-".repeat(width[k] + 2)).join("|")}|`;
	const body = [line(header), rule, ...all.slice(1).map(line)];
	if (r.reads) body.push("", `Benchmark 2's ${r.reads.entities} deployments were created through the API in ${r.reads.createSeconds.toFixed(0)} s (${(r.reads.entities / r.reads.createSeconds).toFixed(1)}/s${r.reads.createConflicts ? `; ${r.reads.createConflicts} answered 409 though created` : ""}${r.reads.createFailed ? `; ${r.reads.createFailed} failed` : ""}); reads were measured once all of them reported their final phase, ${r.reads.settleSeconds.toFixed(0)} s after the last create.`);
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
