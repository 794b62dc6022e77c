import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findKubeSource, kubeconfigPaths, loadKubeConfig } from "../../lib/k8s/config";

/** KUBECONFIG with several files and KUBE_CONTEXT, read as kubectl reads them. */
let dir: string;

function kubeconfig(file: string, spec: { current?: string; contexts: [name: string, cluster: string][]; clusters: [name: string, server: string][] }): string {
	const p = path.join(dir, file);
	const lines = [
		"apiVersion: v1",
		"kind: Config",
		`current-context: "${spec.current ?? ""}"`,
		"clusters:",
		...spec.clusters.flatMap(([name, server]) => [`- name: ${name}`, "  cluster:", `    server: ${server}`]),
		"users:",
		...spec.contexts.map(([name]) => `- name: u-${name}\n  user:\n    token: t-${name}`),
		"contexts:",
		...spec.contexts.flatMap(([name, cluster]) => [`- name: ${name}`, "  context:", `    cluster: ${cluster}`, `    user: u-${name}`]),
	];
	fs.writeFileSync(p, lines.join("\n"));
	return p;
}

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-kubeconfig-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("kubeconfig files and contexts", () => {
	it("splits KUBECONFIG on the path delimiter, skipping empty entries and repeats", () => {
		expect(kubeconfigPaths(["/a", "", "/b", "/a"].join(path.delimiter))).toEqual(["/a", "/b"]);
	});

	it("merges several files as kubectl does: the first file's current context and the first of each name win", () => {
		const first = kubeconfig("one", { current: "dev", contexts: [["dev", "c-dev"]], clusters: [["c-dev", "https://dev:6443"], ["c-shared", "https://first:6443"]] });
		const second = kubeconfig("two", { current: "prod", contexts: [["prod", "c-shared"], ["dev", "c-other"]], clusters: [["c-shared", "https://second:6443"]] });
		const kc = loadKubeConfig({ kind: "file", path: [first, second].join(path.delimiter) });
		expect(kc.getCurrentContext()).toBe("dev");
		expect(kc.getCurrentCluster()?.server).toBe("https://dev:6443");
		expect(kc.getContexts().map(c => c.name).sort()).toEqual(["dev", "prod"]);
		kc.setCurrentContext("prod");
		expect(kc.getCurrentCluster()?.server).toBe("https://first:6443");
	});

	it("skips files that do not exist, and says so when none does", () => {
		const only = kubeconfig("one", { current: "dev", contexts: [["dev", "c"]], clusters: [["c", "https://dev:6443"]] });
		expect(loadKubeConfig({ kind: "file", path: [path.join(dir, "missing"), only].join(path.delimiter) }).getCurrentContext()).toBe("dev");
		expect(() => loadKubeConfig({ kind: "file", path: path.join(dir, "missing") })).toThrow(/No kubeconfig file exists/);
	});

	it("KUBE_CONTEXT picks a context other than the current one", () => {
		const file = kubeconfig("one", { current: "dev", contexts: [["dev", "c-dev"], ["staging", "c-staging"]], clusters: [["c-dev", "https://dev:6443"], ["c-staging", "https://staging:6443"]] });
		const source = findKubeSource({ KUBECONFIG: file, KUBE_CONTEXT: "staging" });
		expect(source).toEqual({ kind: "file", path: file, context: "staging" });
		expect(loadKubeConfig(source).getCurrentCluster()?.server).toBe("https://staging:6443");
	});

	it("refuses a KUBE_CONTEXT the files do not have, naming the ones they do", () => {
		const file = kubeconfig("one", { current: "dev", contexts: [["dev", "c"]], clusters: [["c", "https://dev:6443"]] });
		expect(() => loadKubeConfig({ kind: "file", path: file, context: "prod" })).toThrow('KUBE_CONTEXT "prod" is not a context of the kubeconfig (contexts: dev)');
	});

	it("asks for KUBE_CONTEXT when the files set no current context", () => {
		const file = kubeconfig("one", { contexts: [["dev", "c"]], clusters: [["c", "https://dev:6443"]] });
		expect(() => loadKubeConfig({ kind: "file", path: file })).toThrow(/no current context; set KUBE_CONTEXT/);
	});
});
