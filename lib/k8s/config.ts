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
	return kc;
}
