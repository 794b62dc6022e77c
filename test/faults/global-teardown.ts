import { clusterScript, thawApiserver } from "./harness";

/** Stops the instance the global setup started (logs stay in .cluster-faults/logs); KEEP_FAULTS_CLUSTER=1 keeps it up. */
export default async function globalTeardown(): Promise<void> {
	thawApiserver();
	if (process.env.KEEP_FAULTS_CLUSTER) return;
	clusterScript("down.sh");
}
