import { spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../lib/config";
import { createBroker } from "../services";
import { describeKube, findKubeSource, loadKubeConfig, type KubeSource } from "../lib/k8s";
import { checkNatsCredentials, openMeshWarning } from "../lib/mesh/transporter";

const root = path.resolve(__dirname, "..", "..");
/** The local control plane's directory, as scripts/cluster/lib.sh reads it. */
const clusterDir = path.resolve(root, process.env.BERTH_CLUSTER_DIR || ".cluster");

function runScript(script: string): boolean {
	const res = spawnSync("bash", [path.join(root, "scripts", "cluster", script)], { stdio: "inherit", cwd: root });
	return res.status === 0;
}

/** Which cluster this process talks to, said before anything is done to it: the context and the server. */
function announceCluster(source: KubeSource): void {
	const from = source.kind === "file" ? `KUBECONFIG=${source.path}` : "the in-cluster service account";
	console.log(`[berth] Kubernetes: ${describeKube(loadKubeConfig(source))} (from ${from})`);
}

/** Without any cluster configuration, bring up the local control plane and use it. Returns whether it did. */
function ensureCluster(): boolean {
	const source = findKubeSource();
	if (source.kind !== "none") {
		announceCluster(source);
		return false;
	}
	if (!loadConfig().autoCluster) throw new Error("No Kubernetes configuration and BERTH_AUTO_CLUSTER=false");
	process.env.KUBECONFIG = path.join(clusterDir, "kubeconfig");
	// Already running (another terminal, a test run): use it, and leave it running on exit.
	if (spawnSync("bash", [path.join(root, "scripts", "cluster", "status.sh")], { stdio: "ignore", cwd: root }).status === 0) {
		console.log("[berth] No KUBECONFIG, ~/.kube/config or in-cluster credentials: using the local control plane that is already running");
		announceCluster(findKubeSource());
		return false;
	}
	console.log("[berth] No KUBECONFIG, ~/.kube/config or in-cluster credentials: starting the local control plane (scripts/cluster/up.sh; the first run builds it)");
	if (!runScript("up.sh")) {
		// A half-started control plane (up.sh failed or was interrupted) is stopped, not left behind.
		runScript("down.sh");
		throw new Error(`The local control plane did not start; see the output above and ${path.join(clusterDir, "logs")}`);
	}
	announceCluster(findKubeSource());
	return true;
}

/**
 * Stops what this process started, in order, and says so: the broker (its services finish and
 * leave the mesh), then the local control plane if this process brought it up.
 */
async function shutdown(broker: ServiceBroker, startedCluster: boolean, signal: string): Promise<number> {
	console.log(`[berth] ${signal}: stopping the broker and its services`);
	let code = 0;
	await broker.stop().catch(err => {
		code = 1;
		console.error(`[berth] The broker did not stop cleanly: ${(err as Error).message}`);
	});
	if (startedCluster) {
		console.log("[berth] Stopping the local control plane this process started (scripts/cluster/down.sh)");
		if (!runScript("down.sh")) {
			code = 1;
			console.error(`[berth] scripts/cluster/down.sh failed; see ${path.join(clusterDir, "logs")}`);
		}
	}
	console.log(code === 0 ? "[berth] Stopped" : "[berth] Stopped, with the errors above");
	return code;
}

/** Where this node's gateway listens (PORT=0 lets the OS pick the port). */
function gatewayUrl(broker: ServiceBroker): string | undefined {
	const server = (broker.getLocalService("api") as { server?: { address(): AddressInfo | string | null } } | undefined)?.server;
	const address = server?.address();
	return address && typeof address === "object" ? `http://${address.address}:${address.port}/` : undefined;
}

async function main(): Promise<void> {
	const config = loadConfig();
	// A refused NATS login stops the node before anything else is started.
	await checkNatsCredentials(config.transporter);
	const startedCluster = ensureCluster();
	// This script owns the process's signals: Moleculer's own handlers would exit as soon as the
	// broker stopped, before the control plane is stopped.
	const broker = createBroker(config.services, { skipProcessEventRegistration: true });
	const openMesh = openMeshWarning(config);
	if (openMesh) broker.logger.warn(openMesh);
	let stopping = false;
	const stop = (signal: string) => {
		if (stopping) return console.log(`[berth] ${signal}: already stopping`);
		stopping = true;
		void shutdown(broker, startedCluster, signal).then(code => process.exit(code));
	};
	process.on("SIGINT", () => stop("SIGINT"));
	process.on("SIGTERM", () => stop("SIGTERM"));
	await broker.start().catch(async err => {
		console.error(`[berth] The broker did not start: ${(err as Error).message}`);
		process.exit((await shutdown(broker, startedCluster, "Start failed")) || 1);
	});
	broker.logger.info(`Berth is up: ${gatewayUrl(broker) ?? "no gateway on this node"} (services: ${config.services.length ? config.services.join(", ") : "all"})`);
}

main().catch(err => {
	console.error(`[berth] ${(err as Error).message}`);
	process.exit(1);
});
