import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

/**
 * The import graph of the code's own folders, type-only imports included: a cycle through types
 * still makes two modules one unit to read and to change.
 */
const ROOT = path.resolve(__dirname, "../..");

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(p);
		return /\.ts$/.test(e.name) && !/\.d\.ts$/.test(e.name) ? [p] : [];
	});
}

function importGraph(dirs: string[]): Map<string, string[]> {
	const graph = new Map<string, string[]>();
	for (const file of dirs.flatMap(d => sourceFiles(path.join(ROOT, d)))) {
		const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
		const deps = importedFiles
			.map(i => ts.resolveModuleName(i.fileName, file, { moduleResolution: ts.ModuleResolutionKind.Node10 }, ts.sys).resolvedModule)
			.filter(r => r && !r.isExternalLibraryImport && !r.resolvedFileName.includes("node_modules"))
			.map(r => path.resolve(r!.resolvedFileName));
		graph.set(path.resolve(file), deps);
	}
	return graph;
}

/** Every strongly connected set of more than one module (Tarjan), as paths relative to the root. */
function cycles(graph: Map<string, string[]>): string[][] {
	let next = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (v: string): void => {
		index.set(v, next);
		low.set(v, next++);
		stack.push(v);
		onStack.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!graph.has(w)) continue;
			if (!index.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v)!, low.get(w)!));
			} else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
		}
		if (low.get(v) !== index.get(v)) return;
		const component: string[] = [];
		let w: string;
		do {
			w = stack.pop()!;
			onStack.delete(w);
			component.push(path.relative(ROOT, w));
		} while (w !== v);
		if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
	};
	for (const v of graph.keys()) if (!index.has(v)) visit(v);
	return found;
}

describe("imports", () => {
	it("finds a cycle when there is one", () => {
		const graph = new Map([
			["/a", ["/b"]],
			["/b", ["/c"]],
			["/c", ["/a"]],
			["/d", ["/a"]],
		]);
		expect(cycles(graph).map(c => c.length)).toEqual([3]);
	});

	it("lib/manifests has no cycle: the builders import the leaf model.ts, never the other way round", () => {
		const graph = importGraph(["lib/manifests"]);
		expect(graph.size).toBeGreaterThan(10);
		expect(cycles(graph)).toEqual([]);
	});

	it("lib/, mixins/ and services/ have no import cycle", () => {
		expect(cycles(importGraph(["lib", "mixins", "services"]))).toEqual([]);
	});
});
