import {
	createEnv,
	deploymentDiff,
	deriveAdoption,
	diffValues,
	envReferences,
	imageCandidates,
	publicEnv,
	resolveEnv,
	selects,
	type EnvObjects,
} from "../../lib/adopt";
import type { V1Container, V1Deployment } from "../../lib/k8s";
import { deploymentManifest, type CatalogImage } from "../../lib/manifests/deployment";
import { legacyDeployment, legacyServer } from "../helpers/legacy";

function live(overrides: { containers?: V1Container[]; pod?: Record<string, unknown> } = {}): V1Deployment {
	return legacyDeployment({
		metadata: { namespace: "shop", resourceVersion: "42" },
		replicas: 3,
		pod: {
			containers: overrides.containers ?? [
				legacyServer({
					ports: [{ containerPort: 80 }, { containerPort: 443, name: "https" }, { containerPort: 80 }],
					env: [
						{ name: "MODE", value: "fast" },
						{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
						{ name: "LEVEL", valueFrom: { configMapKeyRef: { name: "conf", key: "level", optional: true } } },
						{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
						{ name: "bad-name", value: "x" },
					],
					envFrom: [{ configMapRef: { name: "common" } }, { secretRef: { name: "tokens" }, prefix: "TOK_" }],
					resources: { limits: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "1" }, requests: { cpu: "100m" } },
					volumeMounts: [
						{ name: "data", mountPath: "/data" },
						{ name: "data", mountPath: "/backup", subPath: "bk", readOnly: true },
						{ name: "tmp", mountPath: "/tmp" },
						{ name: "conf", mountPath: "/etc/app", readOnly: true },
						{ name: "tls", mountPath: "/etc/tls/tls.crt", subPath: "tls.crt" },
						{ name: "host", mountPath: "/host" },
					],
					livenessProbe: { httpGet: { path: "/", port: 80 as unknown as never } },
					startupProbe: { exec: { command: ["true"] } },
				}),
				{ name: "sidecar", image: "envoy:1" },
			],
			volumes: [
				{ name: "data", persistentVolumeClaim: { claimName: "legacy-data" } },
				{ name: "tmp", emptyDir: { medium: "Memory" } },
				{ name: "conf", configMap: { name: "legacy-conf", items: [{ key: "a", path: "a" }] } },
				{ name: "tls", secret: { secretName: "legacy-tls", optional: true } },
				{ name: "host", hostPath: { path: "/var/run" } },
			],
			serviceAccountName: "legacy-bot",
			automountServiceAccountToken: false,
			nodeSelector: { disk: "ssd" },
			...(overrides.pod ?? {}),
		},
	});
}

describe("deriving a Berth deployment from a live Deployment", () => {
	it("carries image, replicas, ports, env, volumes, mounts, resources and the account", () => {
		const { spec, container } = deriveAdoption(live());
		expect(container).toBe("server");
		expect(spec).toEqual({
			name: "legacy",
			namespace: "shop",
			image: "nginx:1.27",
			replicas: 3,
			// Several ports: each one named, as Berth's Service needs.
			ports: [
				{ name: "port-80", port: 80, protocol: "TCP" },
				{ name: "https", port: 443, protocol: "TCP" },
			],
			env: [
				{ key: "MODE", type: "as-is", value: "fast" },
				{ key: "DB_PASSWORD", type: "secret", from: { kind: "Secret", name: "db", key: "password" } },
				{ key: "LEVEL", type: "as-is", from: { kind: "ConfigMap", name: "conf", key: "level", optional: true } },
			],
			envFrom: [
				{ kind: "ConfigMap", name: "common" },
				{ kind: "Secret", name: "tokens", prefix: "TOK_" },
			],
			volumes: [
				{ name: "data", type: "persistentVolumeClaim", mountPath: "/data", persistentVolumeClaim: { claimName: "legacy-data" } },
				{ name: "data-2", type: "persistentVolumeClaim", mountPath: "/backup", persistentVolumeClaim: { claimName: "legacy-data" }, subPath: "bk", readOnly: true },
				{ name: "tmp", type: "emptyDir", mountPath: "/tmp" },
			],
			mounts: [
				{ type: "configMap", name: "legacy-conf", mountPath: "/etc/app", readOnly: true },
				{ type: "secret", name: "legacy-tls", mountPath: "/etc/tls/tls.crt", subPath: "tls.crt", readOnly: true, optional: true },
			],
			resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "100m" } },
			serviceAccount: { name: "legacy-bot", shared: true, automountToken: false },
			// The live probes are kept; where it has none, none (not the catalog's). An exec probe cannot be said.
			probes: { liveness: { http: { path: "/", port: 80 } }, readiness: false, startup: false },
		});
	});

	it("says what it cannot carry over", () => {
		const fields = deriveAdoption(live()).notes.map(n => n.field);
		expect(fields).toEqual(
			expect.arrayContaining([
				"containers[sidecar]",
				"spec.template.spec.nodeSelector",
				"containers[server].startupProbe",
				"env[POD_IP]",
				"env[bad-name]",
				"resources.limits.nvidia.com/gpu",
				"volumeMounts[tmp:/tmp]",
				"volumeMounts[conf:/etc/app]",
				"volumeMounts[host:/host]",
			]),
		);
	});

	it("leaves out what the live object does not have, and names a single port only if it was named", () => {
		const { spec, notes } = deriveAdoption(live({ containers: [{ name: "app", image: "redis:7", ports: [{ containerPort: 6379 }] }], pod: { serviceAccountName: undefined, automountServiceAccountToken: undefined, nodeSelector: undefined, volumes: [] } }));
		expect(spec).toEqual({ name: "legacy", namespace: "shop", image: "redis:7", replicas: 3, ports: [{ port: 6379, protocol: "TCP" }], probes: { readiness: false, liveness: false, startup: false } });
		expect(notes).toEqual([]);
		expect(() => deriveAdoption(live({ containers: [] }))).toThrow(/no container/);
	});

	it("tries an image reference without Docker Hub's implicit parts", () => {
		expect(imageCandidates("docker.io/library/nginx:1.27")).toEqual(["docker.io/library/nginx:1.27", "library/nginx:1.27", "nginx:1.27"]);
		expect(imageCandidates("nginx:1.27")).toEqual(["nginx:1.27"]);
		expect(imageCandidates("ghcr.io/acme/api:2")).toEqual(["ghcr.io/acme/api:2"]);
	});
});

describe("env resolution", () => {
	const { spec } = deriveAdoption(live());

	it("names every object the env reads", () => {
		expect(envReferences(spec)).toEqual([
			{ kind: "Secret", name: "db" },
			{ kind: "ConfigMap", name: "conf" },
			{ kind: "ConfigMap", name: "common" },
			{ kind: "Secret", name: "tokens" },
		]);
	});

	it("fills values in, with Kubernetes' precedence: explicit env over envFrom, later sources over earlier", () => {
		const objects: EnvObjects = new Map([
			["Secret/db", { password: "pw-1" }],
			["ConfigMap/conf", { level: "3" }],
			["ConfigMap/common", { MODE: "slow", REGION: "eu", "not-a-var": "x" }],
			["Secret/tokens", { API: "tok-1" }],
		]);
		const { env, notes } = resolveEnv(spec, objects);
		expect(createEnv(env)).toEqual([
			{ key: "MODE", value: "fast", type: "as-is" },
			{ key: "REGION", value: "eu", type: "as-is" },
			{ key: "TOK_API", value: "tok-1", type: "secret" },
			{ key: "DB_PASSWORD", value: "pw-1", type: "secret" },
			{ key: "LEVEL", value: "3", type: "as-is" },
		]);
		expect(notes.map(n => n.field)).toEqual(["envFrom[ConfigMap/common].not-a-var"]);
	});

	it("drops references to missing objects or keys, quietly when they were optional", () => {
		const { env, notes } = resolveEnv(spec, new Map([["ConfigMap/common", { A: "1" }]]));
		expect(env.map(e => e.key)).toEqual(["A", "MODE"]);
		expect(notes.map(n => n.field)).toEqual(["envFrom[Secret/tokens]", "env[DB_PASSWORD]"]);
	});

	it("shows Secret-sourced entries without their values", () => {
		const { env } = resolveEnv(spec, new Map([["Secret/db", { password: "pw-1" }], ["Secret/tokens", { API: "tok-1" }], ["ConfigMap/conf", { level: "3" }], ["ConfigMap/common", {}]]));
		const shown = publicEnv(env);
		expect(JSON.stringify(shown)).not.toContain("pw-1");
		expect(JSON.stringify(shown)).not.toContain("tok-1");
		expect(shown).toContainEqual({ key: "DB_PASSWORD", type: "secret", from: { kind: "Secret", name: "db", key: "password" } });
		expect(shown).toContainEqual({ key: "LEVEL", type: "as-is", from: { kind: "ConfigMap", name: "conf", key: "level", optional: true }, value: "3" });
		// Keys known, values not (what a dry run has): references stay references.
		const keysOnly = resolveEnv(spec, new Map([["Secret/db", { password: undefined }]])).env;
		expect(createEnv(keysOnly).map(e => e.key)).toEqual(["MODE"]);
	});
});

describe("the diff between the live object and Berth's", () => {
	const image: CatalogImage = { id: "img", name: "nginx", image: "nginx:1.27", ports: [{ name: "http", port: 80 }] };

	it("reports the selector, labels, container and volumes that change, and nothing the apiserver defaulted", () => {
		const current = live({ containers: [{ name: "legacy", image: "nginx:1.25", ports: [{ containerPort: 80, name: "http", protocol: "TCP" }] }], pod: { volumes: undefined, serviceAccountName: undefined, automountServiceAccountToken: undefined, nodeSelector: undefined } });
		const desired = deploymentManifest({ deployment: { id: "d1", name: "legacy", namespace: "n1", namespaceName: "shop", image: "img", replicas: 3, vHosts: [], volumes: [], owner: "u", members: [] }, image });
		const diff = deploymentDiff(current, desired);
		const paths = diff.map(c => c.path);
		expect(diff).toContainEqual({ path: "spec.template.spec.containers.legacy.image", live: "nginx:1.25", desired: "nginx:1.27" });
		expect(diff).toContainEqual({ path: "spec.selector.matchLabels.app", live: "legacy" });
		expect(diff).toContainEqual({ path: 'spec.selector.matchLabels["app.kubernetes.io/name"]', desired: "legacy" });
		expect(diff).toContainEqual({ path: 'metadata.labels["app.kubernetes.io/managed-by"]', desired: "berth" });
		expect(paths).toContain("spec.template.spec.containers.legacy.envFrom");
		expect(paths).not.toContain("spec.replicas");
		expect(paths).not.toContain("spec.template.spec.containers.legacy.ports");
	});

	it("compares maps key by key and lists whole", () => {
		expect(diffValues({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } })).toEqual([]);
		expect(diffValues({ b: { c: [1, 2] } }, { b: { c: [2, 1] } })).toEqual([{ path: "b.c", live: [1, 2], desired: [2, 1] }]);
		// The apiserver's default file mode is no difference.
		const a = live({ pod: { volumes: [{ name: "c", configMap: { name: "x", defaultMode: 420 } }] } });
		const b = live({ pod: { volumes: [{ name: "c", configMap: { name: "x" } }] } });
		expect(deploymentDiff(a, b)).toEqual([]);
	});

	it("tells which Services select which pods", () => {
		expect(selects({ app: "legacy" }, { app: "legacy", tier: "web" })).toBe(true);
		expect(selects({ app: "legacy" }, { "app.kubernetes.io/name": "legacy" })).toBe(false);
		expect(selects(undefined, { app: "legacy" })).toBe(false);
	});
});
