import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../helpers/cluster";
import { clusterScript, faultsCluster, faultsEnv, figuresFile, kube, thawApiserver } from "./harness";

/**
 * Brings up the fault suite's own instance (.cluster-faults/: apiserver 6543, nats 4322, FerretDB
 * 27117) from nothing, so every run starts clean; the shared instance is never touched.
 */
export default async function globalSetup(): Promise<void> {
	const started = Date.now();
	// This instance gets purged, frozen and killed: never let an override point it at the shared one.
	const shared = faultsCluster.dir === path.join(repoRoot, ".cluster") || [6443, 4222, 27017].some(p => [faultsCluster.apiserverPort, faultsCluster.natsPort, faultsCluster.ferretPort].includes(p));
	if (shared) throw new Error(`The fault suite refuses to run on the shared instance's directory or ports (${JSON.stringify(faultsCluster)})`);
	// A run that died mid-scenario may have left the apiserver frozen; kwokctl could not stop it then.
	thawApiserver();
	clusterScript("down.sh", "--purge");
	try {
		clusterScript("up.sh");
	} catch (err) {
		throw new Error(`The fault suite needs its own control plane, nats-server and FerretDB, and they did not start:\n${(err as Error).message}`);
	}
	const env = faultsEnv();
	const version = await kube().version();
	fs.rmSync(figuresFile, { force: true });
	console.log(`\n[faults] own instance in ${faultsCluster.dir} up in ${((Date.now() - started) / 1000).toFixed(1)} s: kube-apiserver ${version} on :${faultsCluster.apiserverPort}, ${env.NATS_URL}, ${env.MONGO_URI}`);
}
