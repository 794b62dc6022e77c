/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, what BENCH_PROFILE=cpu writes for the mesh):
 * where the samples' self time went, by function and by package.
 *
 *   node dist/scripts/bench/profile.js .cluster-bench/results/<run>/profiles/mesh-main.cpuprofile [top]
 */
import * as fs from "node:fs";
import * as path from "node:path";

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}

interface CpuProfile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
	startTime: number;
	endTime: number;
}

/** node_modules/<package>, Berth's own file, node's internals, or V8's pseudo-frames. */
function owner(url: string, fn: string): string {
	if (!url) return fn.startsWith("(") ? fn : "(native)";
	const nm = url.lastIndexOf("node_modules/");
	if (nm >= 0) {
		const rest = url.slice(nm + "node_modules/".length).split("/");
		return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
	}
	if (url.startsWith("node:")) return "node:internal";
	const dist = url.indexOf("/dist/");
	return dist >= 0 ? `berth:${url.slice(dist + 6)}` : url;
}

export interface Hotspot {
	name: string;
	ms: number;
	share: number;
}

export function summarizeCpuProfile(file: string, top = 20): { totalMs: number; busyMs: number; functions: Hotspot[]; packages: Hotspot[] } {
	const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
	const byId = new Map(profile.nodes.map(n => [n.id, n]));
	const selfUs = new Map<number, number>();
	// timeDeltas[i] is the time since the previous sample: charge it to sample i's frame.
	profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
	const fns = new Map<string, number>();
	const pkgs = new Map<string, number>();
	let total = 0;
	let idle = 0;
	for (const [id, us] of selfUs) {
		const node = byId.get(id);
		if (!node) continue;
		const { functionName, url, lineNumber } = node.callFrame;
		total += us;
		if (functionName === "(idle)") {
			idle += us;
			continue;
		}
		const where = url ? `${owner(url, functionName)}:${lineNumber + 1}` : "";
		const key = `${functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
		fns.set(key, (fns.get(key) ?? 0) + us);
		const pkg = owner(url, functionName);
		pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
	}
	const busy = total - idle;
	const rank = (m: Map<string, number>) =>
		[...m.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([name, us]) => ({ name, ms: us / 1000, share: busy ? us / busy : 0 }));
	return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fns), packages: rank(pkgs) };
}

export function formatSummary(file: string, top = 20): string {
	const s = summarizeCpuProfile(file, top);
	const lines = [`${path.basename(file)}: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy`, "", "self time by package:"];
	for (const h of s.packages) lines.push(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.ms.toFixed(0).padStart(7)} ms  ${h.name}`);
	lines.push("", "self time by function:");
	for (const h of s.functions) lines.push(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.ms.toFixed(0).padStart(7)} ms  ${h.name}`);
	return lines.join("\n");
}

if (require.main === module) {
	const [file, top] = process.argv.slice(2);
	if (!file) {
		console.error("usage: profile.js <file.cpuprofile> [top]");
		process.exit(2);
	}
	console.log(formatSummary(file, top ? Number(top) : 25));
}
