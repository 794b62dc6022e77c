import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { KubeClient } from "../../lib/k8s";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const clusterEnvFile = path.join(repoRoot, ".cluster", "env");

/** Variables written by scripts/cluster/up.sh: KUBECONFIG, NATS_URL, MONGO_URI. */
export function readClusterEnv(): Record<string, string> {
	if (!fs.existsSync(clusterEnvFile)) return {};
	const vars: Record<string, string> = {};
	for (const line of fs.readFileSync(clusterEnvFile, "utf8").split("\n")) {
		const m = /^(?:export\s+)?([A-Z_]+)=["']?([^"']*)["']?$/.exec(line.trim());
		if (m) vars[m[1]] = m[2];
	}
	return vars;
}

let client: KubeClient | undefined;

/** A client for the local control plane (KUBECONFIG was set by the global setup). */
export function kube(): KubeClient {
	client ??= KubeClient.fromEnvironment();
	return client;
}

/** A fresh name for test objects: tests never collide with each other or with earlier runs. */
export function uniqueName(prefix: string): string {
	return `${prefix}-${randomBytes(3).toString("hex")}`;
}
