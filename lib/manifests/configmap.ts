import { createHash } from "node:crypto";
import type { V1ConfigMap } from "../k8s";
import { entityAnnotations, managedLabels } from "./labels";
import { ENV_KIND, deploymentAnnotations, deploymentLabels, objectNames, type DeploymentEntity } from "./model";

/** The configMap's files, mounted into the container; undefined when the deployment has none. */
export function filesConfigMap(dep: DeploymentEntity): V1ConfigMap | undefined {
	const name = objectNames(dep).configMap;
	if (!dep.configMap || !name) return undefined;
	return {
		apiVersion: "v1",
		kind: "ConfigMap",
		metadata: { name, namespace: dep.namespaceName, labels: deploymentLabels(dep), annotations: deploymentAnnotations(dep) },
		data: { ...dep.configMap.data },
	};
}

/** What the env objects need of their deployment. */
export type EnvTarget = Pick<DeploymentEntity, "id" | "name" | "namespaceName">;

/** Labels of the env ConfigMap and Secret: `berth.dev/id` is the deployment's id, so its reconciler hears of changes. */
export function envLabels(dep: EnvTarget): Record<string, string> {
	return managedLabels(ENV_KIND, dep.id, dep.name);
}

export function envAnnotations(dep: EnvTarget): Record<string, string> {
	return entityAnnotations(ENV_KIND, dep.id);
}

/** Plain env values, consumed by the container through envFrom. */
export function envConfigMap(dep: EnvTarget, values: Record<string, string>): V1ConfigMap {
	return {
		apiVersion: "v1",
		kind: "ConfigMap",
		metadata: { name: objectNames(dep).env, namespace: dep.namespaceName, labels: envLabels(dep), annotations: envAnnotations(dep) },
		data: { ...values },
	};
}

/**
 * A stable digest of string maps (key order does not matter). On the pod template it makes a
 * changed env or config file roll the pods.
 */
export function dataChecksum(...maps: (Record<string, string> | undefined)[]): string {
	const hash = createHash("sha256");
	maps.forEach((map, i) => {
		hash.update(`#${i}\n`);
		for (const key of Object.keys(map ?? {}).sort()) hash.update(`${key.length}:${key}=${(map as Record<string, string>)[key].length}:${(map as Record<string, string>)[key]}\n`);
	});
	return hash.digest("hex").slice(0, 32);
}
