import { KubeClient } from "./client";

let shared: KubeClient | undefined;

/** The process-wide client; created on first use from KUBECONFIG / ~/.kube/config / in-cluster. */
export function getKubeClient(): KubeClient {
	shared ??= KubeClient.fromEnvironment();
	return shared;
}

/** Replaces the process-wide client: unit tests stub the Kubernetes boundary here. */
export function setKubeClient(client: KubeClient | undefined): void {
	shared = client;
}
