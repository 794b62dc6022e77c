import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

/** Where cluster credentials come from, in the order client-node's loadFromDefault looks. */
export type KubeSource = { kind: "file"; path: string } | { kind: "in-cluster" } | { kind: "none" };

export function findKubeSource(env: NodeJS.ProcessEnv = process.env): KubeSource {
	if (env.KUBECONFIG) return { kind: "file", path: env.KUBECONFIG };
	const home = path.join(os.homedir(), ".kube", "config");
	if (fs.existsSync(home)) return { kind: "file", path: home };
	if (env.KUBERNETES_SERVICE_HOST && fs.existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")) return { kind: "in-cluster" };
	return { kind: "none" };
}

export function loadKubeConfig(source: KubeSource = findKubeSource()): KubeConfig {
	const kc = new KubeConfig();
	if (source.kind === "file") kc.loadFromFile(source.path);
	else if (source.kind === "in-cluster") kc.loadFromCluster();
	else throw new Error("No Kubernetes configuration: set KUBECONFIG, create ~/.kube/config, or run in a cluster");
	return reuseConnections(kc);
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
