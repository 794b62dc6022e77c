import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

/**
 * Where cluster credentials come from, in the order kubectl looks. `path` is KUBECONFIG as given:
 * one file or several joined by the path delimiter (":"). `context` (KUBE_CONTEXT) picks a context
 * other than the files' current one.
 */
export type KubeSource = { kind: "file"; path: string; context?: string } | { kind: "in-cluster" } | { kind: "none" };

export function findKubeSource(env: NodeJS.ProcessEnv = process.env): KubeSource {
	const context = env.KUBE_CONTEXT?.trim() || undefined;
	if (env.KUBECONFIG) return { kind: "file", path: env.KUBECONFIG, ...(context ? { context } : {}) };
	const home = path.join(os.homedir(), ".kube", "config");
	if (fs.existsSync(home)) return { kind: "file", path: home, ...(context ? { context } : {}) };
	if (env.KUBERNETES_SERVICE_HOST && fs.existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")) return { kind: "in-cluster" };
	return { kind: "none" };
}

/** The files of a KUBECONFIG value, in order, each once; empty entries are skipped, as kubectl does. */
export function kubeconfigPaths(value: string): string[] {
	return [...new Set(value.split(path.delimiter).filter(p => p.trim() !== ""))];
}

/** The first entry of each name wins, as in kubectl's merge (client-node's mergeConfig throws on a repeat). */
function firstOfEachName<T extends { name: string }>(lists: T[][]): T[] {
	const byName = new Map<string, T>();
	for (const item of lists.flat()) if (!byName.has(item.name)) byName.set(item.name, item);
	return [...byName.values()];
}

/**
 * Several kubeconfigs as kubectl merges them: for clusters, users and contexts the first file that
 * names one wins, and the current context is the first file's that sets one.
 */
export function mergeKubeconfigs(configs: KubeConfig[]): KubeConfig {
	const merged = new KubeConfig();
	merged.loadFromOptions({
		clusters: firstOfEachName(configs.map(c => c.clusters)),
		users: firstOfEachName(configs.map(c => c.users)),
		contexts: firstOfEachName(configs.map(c => c.contexts)),
		currentContext: configs.find(c => c.currentContext)?.currentContext ?? "",
	});
	return merged;
}

/** KUBECONFIG's files that exist (kubectl skips missing ones), merged; an error if none exists. */
function loadFiles(value: string): KubeConfig {
	const paths = kubeconfigPaths(value);
	const present = paths.filter(p => fs.existsSync(p));
	if (!present.length) throw new Error(`No kubeconfig file exists at ${paths.join(", ")}`);
	return mergeKubeconfigs(
		present.map(p => {
			const kc = new KubeConfig();
			kc.loadFromFile(p);
			return kc;
		}),
	);
}

/** The context the source names, or the files' current one; an error that lists the choices otherwise. */
function pickContext(kc: KubeConfig, wanted: string | undefined): void {
	const names = kc.getContexts().map(c => c.name);
	const name = wanted ?? kc.getCurrentContext();
	if (!name || !names.includes(name)) {
		const what = wanted ? `KUBE_CONTEXT "${wanted}" is not a context of the kubeconfig` : "The kubeconfig has no current context; set KUBE_CONTEXT";
		throw new Error(`${what} (contexts: ${names.join(", ") || "none"})`);
	}
	kc.setCurrentContext(name);
}

export function loadKubeConfig(source: KubeSource = findKubeSource()): KubeConfig {
	if (source.kind === "none") throw new Error("No Kubernetes configuration: set KUBECONFIG, create ~/.kube/config, or run in a cluster");
	if (source.kind === "file") {
		const kc = loadFiles(source.path);
		pickContext(kc, source.context);
		return reuseConnections(kc);
	}
	const kc = new KubeConfig();
	kc.loadFromCluster();
	return reuseConnections(kc);
}

/** What `npm start` says about the cluster it uses: the context and the apiserver. */
export function describeKube(kc: KubeConfig): string {
	return `context "${kc.getCurrentContext()}", server ${kc.getCurrentCluster()?.server ?? "unknown"}`;
}

/** What a connection to the apiserver depends on: the server and the TLS material. */
const TLS_FIELDS = ["ca", "cert", "key", "pfx", "passphrase", "servername", "rejectUnauthorized"] as const;

function connectionKey(cluster: unknown, agentOptions: unknown): string {
	// Hashed: serializing the certificates' Buffers on every call would cost more than the call.
	const tls = (agentOptions ?? {}) as Record<string, unknown>;
	const { server, proxyUrl } = (cluster ?? {}) as { server?: string; proxyUrl?: string };
	const hash = createHash("sha1").update(`${server}\0${proxyUrl ?? ""}`);
	for (const field of TLS_FIELDS) hash.update(`\0${field}=`).update(String(tls[field] ?? ""));
	return hash.digest("base64");
}

/**
 * client-node 2.0.1 builds a new undici Agent for every request (applySecurityAuthentication →
 * createDispatcher), so every call to the apiserver paid a TLS handshake and a new SecureContext:
 * a third of the mesh's CPU under load (docs/BENCHMARKS.md). This keeps one Agent, and so its
 * kept-alive connections, per server and TLS material; new material (a rotated client certificate
 * from an exec plugin, say) gets a new Agent.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
	const target = kc as unknown as { createDispatcher?: (cluster: unknown, agentOptions: unknown) => unknown };
	if (typeof target.createDispatcher !== "function") return kc;
	const create = target.createDispatcher.bind(kc);
	const agents = new Map<string, unknown>();
	target.createDispatcher = (cluster, agentOptions) => {
		const key = connectionKey(cluster, agentOptions);
		let agent = agents.get(key);
		if (!agent) {
			agent = create(cluster, agentOptions);
			agents.set(key, agent);
		}
		return agent;
	};
	return kc;
}
