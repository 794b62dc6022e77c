import type { V1Secret } from "../k8s";
import { objectNames } from "./model";
import { envAnnotations, envLabels, type EnvTarget } from "./configmap";

/** Secret env values, consumed through envFrom. `data` (base64) rather than stringData, so server-side apply owns each key. */
export function envSecret(dep: EnvTarget, values: Record<string, string>): V1Secret {
	return {
		apiVersion: "v1",
		kind: "Secret",
		type: "Opaque",
		metadata: { name: objectNames(dep).env, namespace: dep.namespaceName, labels: envLabels(dep), annotations: envAnnotations(dep) },
		data: secretData(values),
	};
}

/** Text values as a Secret's `data` (base64). */
export function secretData(values: Record<string, string>): Record<string, string> {
	return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]));
}

/** A Secret's values as text. */
export function secretValues(secret: Pick<V1Secret, "data"> | undefined): Record<string, string> {
	return Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}
