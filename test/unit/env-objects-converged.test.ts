import { envObjectsConverged, type StoredEnv } from "../../lib/envs/envs";
import { envConfigMap } from "../../lib/manifests/configmap";
import { envSecret } from "../../lib/manifests/secret";
import type { KubernetesObject } from "../../lib/k8s";

const target = { id: "d1", name: "web", namespaceName: "team" };
const env = (key: string, value: string, type: "plain" | "secret" = "plain"): StoredEnv =>
	({ id: `e-${key}`, key, type, value: type === "secret" ? "" : value, secretValue: type === "secret" ? value : undefined, deployment: "d1", deploymentName: "web", namespace: "n1", namespaceName: "team", namespaceUid: "u1" }) as unknown as StoredEnv;

function caches(objects: KubernetesObject[]) {
	const byKind = new Map<string, { get(name: string, namespace?: string): KubernetesObject | undefined }>();
	for (const kind of ["ConfigMap", "Secret"]) byKind.set(kind, { get: (name, namespace) => objects.find(o => o.kind === kind && o.metadata?.name === name && o.metadata?.namespace === namespace) });
	return byKind;
}

describe("envObjectsConverged: whether the env objects in the watch caches are as they would be written", () => {
	const docs = [env("MODE", "production"), env("TOKEN", "s3cret", "secret")];
	const written = [envConfigMap(target, { MODE: "production" }), envSecret(target, { TOKEN: "s3cret" })] as KubernetesObject[];

	it("is true when both hold exactly the data, labels and annotations", () => {
		expect(envObjectsConverged(caches(written), "d1", docs)).toBe(true);
	});

	it("is false without caches, with an object missing or being deleted", () => {
		expect(envObjectsConverged(undefined, "d1", docs)).toBe(false);
		expect(envObjectsConverged(caches([written[0]]), "d1", docs)).toBe(false);
		const deleting = { ...written[1], metadata: { ...written[1].metadata, deletionTimestamp: new Date() } } as KubernetesObject;
		expect(envObjectsConverged(caches([written[0], deleting]), "d1", docs)).toBe(false);
	});

	it("is false when a value differs or a key is no longer wanted", () => {
		expect(envObjectsConverged(caches([envConfigMap(target, { MODE: "dev" }), written[1]] as KubernetesObject[]), "d1", docs)).toBe(false);
		expect(envObjectsConverged(caches([envConfigMap(target, { MODE: "production", OLD: "x" }), written[1]] as KubernetesObject[]), "d1", docs)).toBe(false);
	});

	it("is false when someone took a label off", () => {
		const cm = envConfigMap(target, { MODE: "production" });
		const stripped = { ...cm, metadata: { ...cm.metadata, labels: {} } } as KubernetesObject;
		expect(envObjectsConverged(caches([stripped, written[1]]), "d1", docs)).toBe(false);
	});
});
