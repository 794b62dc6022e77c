import { KubeClient } from "../../lib/k8s";
import { clusterEnvFile, readClusterEnv } from "../helpers/cluster";

/**
 * The integration tier needs the real control plane, NATS and FerretDB (scripts/cluster/up.sh).
 * When they are missing every integration test fails with this message; nothing is skipped.
 */
export default async function globalSetup(): Promise<void> {
	const env = readClusterEnv();
	for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
	if (!process.env.KUBECONFIG) {
		throw new Error(`Integration tests need the local control plane, but ${clusterEnvFile} does not exist and KUBECONFIG is unset. Run \`npm run cluster:up\` (or \`npm test\`, which starts it).`);
	}
	try {
		const version = await KubeClient.fromEnvironment().version();
		console.log(`\n[integration] kube-apiserver ${version} at KUBECONFIG=${process.env.KUBECONFIG}`);
	} catch (err) {
		throw new Error(`Integration tests need a reachable kube-apiserver (KUBECONFIG=${process.env.KUBECONFIG}): ${(err as Error).message}. Run \`npm run cluster:up\`.`);
	}
}
