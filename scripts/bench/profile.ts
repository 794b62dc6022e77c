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

interface HeapSnapshot {
	snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
	nodes: number[];
	strings: string[];
}

/**
 * Self size of a V8 heap snapshot (`--heapsnapshot-signal`) by constructor: which kinds of object
 * hold the memory (client-node models such as V1Pod name who keeps whole Kubernetes objects).
 */
export function formatHeapSummary(file: string, top = 30): string {
	const snap = JSON.parse(fs.readFileSync(file, "utf8")) as HeapSnapshot;
	const fields = snap.snapshot.meta.node_fields;
	const types = snap.snapshot.meta.node_types[0];
	const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map(f => fields.indexOf(f));
	const byName = new Map<string, { bytes: number; count: number }>();
	let total = 0;
	for (let i = 0; i < snap.nodes.length; i += fields.length) {
		const type = types[snap.nodes[i + typeAt]];
		const bytes = snap.nodes[i + sizeAt];
		total += bytes;
		// Strings and code are grouped by type; objects by constructor name.
		const name = type === "object" || type === "closure" ? `${type === "closure" ? "closure " : ""}${snap.strings[snap.nodes[i + nameAt]]}` : `(${type})`;
		const entry = byName.get(name) ?? { bytes: 0, count: 0 };
		entry.bytes += bytes;
		entry.count++;
		byName.set(name, entry);
	}
	const lines = [`${path.basename(file)}: ${(total / 2 ** 20).toFixed(1)} MiB of heap objects (self size)`, "", "by constructor / type:"];
	for (const [name, e] of [...byName.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
		lines.push(`  ${((e.bytes / total) * 100).toFixed(1).padStart(5)}%  ${(e.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  ${String(e.count).padStart(8)}×  ${name.slice(0, 100)}`);
	return lines.join("\n");
}

if (require.main === module) {
	const args = process.argv.slice(2);
	const heap = args[0] === "--heap";
	const [file, top] = heap ? args.slice(1) : args;
	if (!file) {
		console.error("usage: profile.js <file.cpuprofile> [top] | profile.js --heap <file.heapsnapshot> [top]");
		process.exit(2);
	}
	console.log(heap ? formatHeapSummary(file, top ? Number(top) : 30) : formatSummary(file, top ? Number(top) : 25));
}
