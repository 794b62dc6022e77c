import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { loadConfig } from "../lib/config";
import { createBroker } from "../services";
import { findKubeSource } from "../lib/k8s";
import { checkNatsCredentials, openMeshWarning } from "../lib/mesh/transporter";

const root = path.resolve(__dirname, "..", "..");

function runScript(script: string): boolean {
	const res = spawnSync("bash", [path.join(root, "scripts", "cluster", script)], { stdio: "inherit", cwd: root });
	return res.status === 0;
}

/** Without any cluster configuration, bring up the local control plane and use it. */
function ensureCluster(): boolean {
	const source = findKubeSource();
	if (source.kind !== "none") {
		console.log(`[berth] Kubernetes: ${source.kind === "file" ? source.path : "in-cluster service account"}`);
		return false;
	}
	if (!loadConfig().autoCluster) throw new Error("No Kubernetes configuration and BERTH_AUTO_CLUSTER=false");
	process.env.KUBECONFIG = path.join(root, ".cluster", "kubeconfig");
	// Already running (another terminal, a test run): use it, and leave it running on exit.
	if (spawnSync("bash", [path.join(root, "scripts", "cluster", "status.sh")], { stdio: "ignore", cwd: root }).status === 0) {
		console.log(`[berth] No KUBECONFIG, ~/.kube/config or in-cluster credentials: using the local control plane that is already running (KUBECONFIG=${process.env.KUBECONFIG})`);
		return false;
	}
	console.log("[berth] No KUBECONFIG, ~/.kube/config or in-cluster credentials: starting the local control plane (scripts/cluster/up.sh; the first run builds it)");
	if (!runScript("up.sh")) throw new Error("The local control plane did not start; see the output above and .cluster/logs/");
	console.log(`[berth] Using the local control plane: KUBECONFIG=${process.env.KUBECONFIG}`);
	return true;
}

async function main(): Promise<void> {
	const startedCluster = ensureCluster();
	const config = loadConfig();
	await checkNatsCredentials(config.transporter);
	const broker = createBroker(config.services);
	const openMesh = openMeshWarning(config);
	if (openMesh) broker.logger.warn(openMesh);
	let stopping = false;
	const stop = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		broker.logger.info(`${signal}: stopping`);
		await broker.stop().catch(err => broker.logger.error("Stop failed", err));
		if (startedCluster) {
			console.log("[berth] Stopping the local control plane this process started");
			runScript("down.sh");
		}
		process.exit(0);
	};
	process.on("SIGINT", () => void stop("SIGINT"));
	process.on("SIGTERM", () => void stop("SIGTERM"));
	await broker.start();
	broker.logger.info(`Berth is up: http://127.0.0.1:${config.port}/ (services: ${config.services.length ? config.services.join(", ") : "all"})`);
}

main().catch(err => {
	console.error(`[berth] ${(err as Error).message}`);
	process.exit(1);
});
