import { parse } from "yaml";
import { SEED_YAML } from "../helpers/seed-spec";
import type { V1Deployment, V1PersistentVolumeClaim, V1Pod } from "../../lib/k8s";
import {
	DEFAULT_CONTAINER_RESOURCES,
	containerResources,
	podFootprint,
	servicePortNames,
	specDeployment,
	specIngress,
	specManifests,
	specPvcs,
	specService,
	specStatus,
	type SpecTarget,
} from "../../lib/manifests/spec";
import type { ServiceSpec } from "../../lib/api/services";
import { checkExposure } from "../../lib/specs/checks";
import { specShortfalls as quotaShortfalls } from "../../lib/specs/quota";
import { DEFAULT_GPU_OPTIONS, formatPath, gpuOptionsFromEnv, parseSpec, type SpecError } from "../../lib/specs/parse";

const opts = { gpuOptions: DEFAULT_GPU_OPTIONS };

function errorsOf(text: string): SpecError[] {
	const result = parseSpec(text, opts);
	if (result.ok) throw new Error("expected the spec to be refused");
	return result.errors;
}

function specOf(text: string): ServiceSpec {
	const result = parseSpec(text, opts);
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.spec;
}

/** A spec from a JS value (dumped through YAML, so the parser sees real YAML). */
function yamlOf(value: unknown): string {
	return JSON.stringify(value);
}

const target: SpecTarget = { id: "e1", resourceName: "my-nginx-service", namespaceName: "team-a", exposed_service: "nginx", exposed_port: 80 };
const build = { gpuOptions: DEFAULT_GPU_OPTIONS, baseDomain: "apps.example.test" };

describe("parseSpec", () => {
	it("reads the seed's example", () => {
		expect(specOf(SEED_YAML)).toEqual({
			containers: [{ name: "nginx", image: "nginx:latest", ports: [{ name: "default", port: 80, protocol: "TCP" }], gpu: "nvidia/gpu", volumeMounts: [{ name: "mydata", mountPath: "/mydata", readOnly: true }] }],
			volumes: [{ name: "mydata", size: "1Gi" }],
		});
	});

	it("reads the seed's example without the GPU and without volumes", () => {
		const spec = specOf("containers:\n  - name: nginx\n    image: nginx:latest\n    ports:\n      - name: default\n        port: 80\n");
		expect(spec.containers[0]).toEqual({ name: "nginx", image: "nginx:latest", ports: [{ name: "default", port: 80, protocol: "TCP" }], volumeMounts: [] });
		expect(spec.volumes).toEqual([]);
	});

	it("points at the YAML path and line of a bad port", () => {
		const errors = errorsOf(SEED_YAML.replace("port: 80", "port: 70000"));
		expect(errors).toEqual([expect.objectContaining({ field: "containers[0].ports[0].port", type: "number", actual: 70000, line: 7, column: 15 })]);
	});

	it("requires name, image and ports of every container", () => {
		const errors = errorsOf("containers:\n  - gpu: nvidia/gpu\n  - name: b\n    image: x\n    ports: []\n");
		expect(errors.map(e => e.field)).toEqual(["containers[0].name", "containers[0].image", "containers[0].ports", "containers[1].ports"]);
		expect(errorsOf("volumes: []\n").map(e => e.field)).toEqual(["containers"]);
		expect(errorsOf("containers: []\n")[0]).toMatchObject({ field: "containers", type: "arrayMin" });
	});

	it("refuses a port without a number, a bad port name and protocol", () => {
		const errors = errorsOf(yamlOf({ containers: [{ name: "a", image: "x", ports: [{ name: "Not_valid" }, { name: "ok", port: 8080, protocol: "HTTP" }, { port: "80" }] }] }));
		expect(errors.map(e => e.field)).toEqual(["containers[0].ports[0].name", "containers[0].ports[0].port", "containers[0].ports[1].protocol", "containers[0].ports[2].port"]);
	});

	it("takes gpu only from the configured options, and names them", () => {
		const [error] = errorsOf(SEED_YAML.replace("'nvidia/gpu'", "'amd/gpu'"));
		expect(error).toMatchObject({ field: "containers[0].gpu", type: "enum", actual: "amd/gpu", line: 9 });
		expect(error.message).toContain("nvidia/gpu, nvidia/gpu-2");
		const none = parseSpec(SEED_YAML, { gpuOptions: {} });
		expect(none.ok).toBe(false);
	});

	it("requires every volumeMount to name a declared volume", () => {
		const errors = errorsOf(SEED_YAML.replace("  - name: mydata\n    size", "  - name: other\n    size"));
		expect(errors).toEqual([expect.objectContaining({ field: "containers[0].volumeMounts[0].name", type: "reference", actual: "mydata" })]);
		const undeclared = errorsOf(SEED_YAML.replace(/\nvolumes:[\s\S]*$/, "\n"));
		expect(undeclared[0]).toMatchObject({ field: "containers[0].volumeMounts[0].name", message: expect.stringContaining("declare it under volumes") });
	});

	it.each(["0Gi", "1000Gi", "1Ti", "512Ki", "1 Gi", "1.5Gi", "01Gi", "1gi", "1G"])("refuses the volume size %s", size => {
		expect(errorsOf(SEED_YAML.replace("size: 1Gi", `size: ${size}`))).toEqual([expect.objectContaining({ field: "volumes[0].size", line: 20 })]);
	});

	it.each(["1Gi", "999Gi", "1Mi", "999Mi", "500Mi"])("accepts the volume size %s", size => {
		expect(specOf(SEED_YAML.replace("size: 1Gi", `size: ${size}`)).volumes[0].size).toBe(size);
	});

	it("requires a size, and refuses a number", () => {
		expect(errorsOf(SEED_YAML.replace("    size: 1Gi  # This can be anything between 1-999 Gi or Mi\n", "")).map(e => e.field)).toEqual(["volumes[0].size"]);
		expect(errorsOf(SEED_YAML.replace("size: 1Gi", "size: 1"))[0]).toMatchObject({ field: "volumes[0].size", type: "string" });
	});

	it("honours readOnly, defaulting to writable, and refuses anything but a boolean", () => {
		expect(specOf(SEED_YAML.replace("readOnly: true", "readOnly: false")).containers[0].volumeMounts[0].readOnly).toBe(false);
		expect(specOf(SEED_YAML.replace("        readOnly: true\n", "")).containers[0].volumeMounts[0].readOnly).toBe(false);
		// YAML 1.2: `yes` is a string, not true.
		expect(errorsOf(SEED_YAML.replace("readOnly: true", "readOnly: yes"))).toEqual([expect.objectContaining({ field: "containers[0].volumeMounts[0].readOnly", type: "boolean" })]);
	});

	it("refuses unknown fields, so a typo is not ignored", () => {
		expect(errorsOf(SEED_YAML.replace("readOnly: true", "readonly: true"))).toEqual([expect.objectContaining({ field: "containers[0].volumeMounts[0].readonly", type: "unknown" })]);
		expect(errorsOf(`${SEED_YAML}replicas: 3\n`)[0]).toMatchObject({ field: "replicas", line: 21 });
	});

	it("refuses duplicate container and volume names, mount paths and ports the pod would bind twice", () => {
		const errors = errorsOf(
			yamlOf({
				containers: [
					{ name: "a", image: "x", ports: [{ port: 80 }], volumeMounts: [{ name: "v", mountPath: "/d" }, { name: "v", mountPath: "/d" }] },
					{ name: "a", image: "y", ports: [{ port: 80 }, { port: 80, protocol: "UDP" }] },
				],
				volumes: [{ name: "v", size: "1Gi" }, { name: "v", size: "2Gi" }],
			}),
		);
		expect(errors.map(e => e.field)).toEqual(["containers[0].volumeMounts[1].mountPath", "containers[1].name", "volumes[1].name", "containers[1].ports[0].port"]);
	});

	it("reports YAML syntax errors with their line, and duplicate keys", () => {
		const [syntax] = errorsOf("containers:\n  - name: a\n    ports: [80\n  image: x\n");
		expect(syntax).toMatchObject({ field: "deployment", type: "yaml", line: expect.any(Number), column: expect.any(Number) });
		expect(syntax.message).toMatch(/^Invalid YAML: /);
		expect(syntax.message).not.toContain("\n");
		expect(errorsOf("containers: []\ncontainers: []\n")[0]).toMatchObject({ field: "deployment", message: expect.stringContaining("unique"), line: 2 });
		expect(errorsOf("a: 1\n---\nb: 2\n")[0]).toMatchObject({ field: "deployment", type: "yaml" });
	});

	it("refuses a document that is not a mapping, an empty one, and an oversized one", () => {
		expect(errorsOf("- a\n- b\n")[0]).toMatchObject({ field: "deployment", type: "object" });
		expect(errorsOf("   \n")[0]).toMatchObject({ field: "deployment", type: "required" });
		expect(errorsOf(`# ${"x".repeat(70_000)}\ncontainers: []\n`)[0]).toMatchObject({ field: "deployment", type: "stringMax" });
	});

	it("refuses an alias bomb instead of expanding it", () => {
		const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
		expect(errorsOf(bomb)[0]).toMatchObject({ field: "deployment", type: "yaml" });
	});

	it("checks resources, env, command and args", () => {
		const spec = specOf(
			yamlOf({ containers: [{ name: "a", image: "x", ports: [{ port: 1 }], resources: { requests: { cpu: "250m" }, limits: { memory: "1Gi" } }, env: [{ name: "MODE", value: 1 }], command: ["sh"], args: ["-c", "true"] }] }),
		);
		expect(spec.containers[0]).toMatchObject({ resources: { requests: { cpu: "250m" }, limits: { memory: "1Gi" } }, env: [{ name: "MODE", value: "1" }], command: ["sh"], args: ["-c", "true"] });
		const errors = errorsOf(
			yamlOf({ containers: [{ name: "a", image: "x", ports: [{ port: 1 }], resources: { requests: { cpu: "2", memory: "lots" }, limits: { cpu: "1" } }, env: [{ name: "1X" }, { name: "A", value: {} }], command: "sh" }] }),
		);
		expect(errors.map(e => e.field)).toEqual([
			"containers[0].resources.requests.memory",
			"containers[0].resources.requests.cpu",
			"containers[0].env[0].name",
			"containers[0].env[1].value",
			"containers[0].command",
		]);
	});

	it("formats paths", () => {
		expect(formatPath(["containers", 0, "ports", 1, "port"])).toBe("containers[0].ports[1].port");
		expect(formatPath([])).toBe("deployment");
	});
});

describe("gpuOptionsFromEnv", () => {
	it("defaults, reads JSON, and refuses malformed options", () => {
		expect(gpuOptionsFromEnv({})).toBe(DEFAULT_GPU_OPTIONS);
		expect(gpuOptionsFromEnv({ SPEC_GPU_OPTIONS: '{"a100": {"resource": "nvidia.com/gpu", "count": 4}}' })).toEqual({ a100: { resource: "nvidia.com/gpu", count: 4 } });
		expect(() => gpuOptionsFromEnv({ SPEC_GPU_OPTIONS: "{" })).toThrow(/not JSON/);
		expect(() => gpuOptionsFromEnv({ SPEC_GPU_OPTIONS: "[]" })).toThrow(/JSON object/);
		expect(() => gpuOptionsFromEnv({ SPEC_GPU_OPTIONS: '{"x": {"resource": "gpu", "count": 1}}' })).toThrow(/resource/);
		expect(() => gpuOptionsFromEnv({ SPEC_GPU_OPTIONS: '{"x": {"resource": "nvidia.com/gpu", "count": 0}}' })).toThrow(/count/);
	});
});

describe("checkExposure", () => {
	const spec = specOf(SEED_YAML);
	it("accepts a container's TCP port, or no exposure", () => {
		expect(checkExposure(spec, "nginx", 80)).toEqual([]);
		expect(checkExposure(spec, undefined, null)).toEqual([]);
	});
	it("names the field at fault", () => {
		expect(checkExposure(spec, "nginx", undefined)[0].field).toBe("exposed_port");
		expect(checkExposure(spec, null, 80)[0].field).toBe("exposed_service");
		expect(checkExposure(spec, "php", 80)[0]).toMatchObject({ field: "exposed_service", actual: "php" });
		expect(checkExposure(spec, "nginx", 443)[0]).toMatchObject({ field: "exposed_port", actual: 443 });
	});
});

describe("spec manifests", () => {
	const spec = specOf(SEED_YAML);

	it("builds the Deployment: the GPU as an extended resource, defaults for the rest, the mount read-only", () => {
		const dep = specDeployment(target, spec, build);
		expect(dep.metadata).toMatchObject({ name: "my-nginx-service", namespace: "team-a", labels: { "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "service-spec", "berth.dev/id": "e1" }, annotations: { "berth.dev/id": "e1" } });
		expect(dep.spec?.strategy).toEqual({ type: "Recreate" });
		expect(dep.spec?.selector.matchLabels).toEqual({ "app.kubernetes.io/instance": "my-nginx-service", "berth.dev/id": "e1" });
		expect(dep.spec?.template.metadata?.labels).toMatchObject(dep.spec?.selector.matchLabels as Record<string, string>);
		expect(dep.spec?.template.spec?.containers).toEqual([
			{
				name: "nginx",
				image: "nginx:latest",
				ports: [{ name: "default", containerPort: 80, protocol: "TCP" }],
				resources: { requests: { ...DEFAULT_CONTAINER_RESOURCES.requests, "nvidia.com/gpu": "1" }, limits: { ...DEFAULT_CONTAINER_RESOURCES.limits, "nvidia.com/gpu": "1" } },
				volumeMounts: [{ name: "mydata", mountPath: "/mydata", readOnly: true }],
				securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
			},
		]);
		expect(dep.spec?.template.spec?.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
		expect(dep.spec?.template.spec?.volumes).toEqual([{ name: "mydata", persistentVolumeClaim: { claimName: "my-nginx-service-mydata" } }]);
	});

	it("writes several containers, each with its own mounts, and leaves unmounted volumes out of the pod", () => {
		const multi = specOf(
			yamlOf({
				containers: [
					{ name: "web", image: "nginx", ports: [{ name: "http", port: 80 }], volumeMounts: [{ name: "site", mountPath: "/usr/share/nginx/html", readOnly: true }] },
					{ name: "writer", image: "busybox", ports: [{ name: "http", port: 8080 }], gpu: "nvidia/gpu-2", volumeMounts: [{ name: "site", mountPath: "/out" }] },
				],
				volumes: [{ name: "site", size: "500Mi" }, { name: "spare", size: "2Gi" }],
			}),
		);
		const pod = specDeployment(target, multi, build).spec?.template.spec;
		expect(pod?.containers.map(c => [c.name, c.volumeMounts])).toEqual([
			["web", [{ name: "site", mountPath: "/usr/share/nginx/html", readOnly: true }]],
			["writer", [{ name: "site", mountPath: "/out" }]],
		]);
		expect(pod?.containers[1].resources?.limits?.["nvidia.com/gpu"]).toBe("2");
		expect(pod?.volumes?.map(v => v.name)).toEqual(["site"]);
		expect(specPvcs(target, multi).map(p => [p.metadata?.name, p.spec?.resources?.requests?.storage, p.metadata?.labels?.["berth.dev/volume"]])).toEqual([
			["my-nginx-service-site", "500Mi", "site"],
			["my-nginx-service-spare", "2Gi", "spare"],
		]);
		// Both ports are called "http": the Service names them apart.
		expect(specService(target, multi).spec?.ports).toEqual([
			{ name: "port-80", port: 80, targetPort: 80, protocol: "TCP" },
			{ name: "port-8080", port: 8080, targetPort: 8080, protocol: "TCP" },
		]);
	});

	it("names Service ports uniquely", () => {
		const s = (ports: object[]) => servicePortNames({ containers: [{ name: "a", image: "x", ports: ports as never, volumeMounts: [] }], volumes: [] });
		expect(s([{ name: "default", port: 80, protocol: "TCP" }])).toEqual(["default"]);
		expect(s([{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }])).toEqual(["port-53-udp", "port-53"]);
		expect(s([{ name: "port-81", port: 80, protocol: "TCP" }, { port: 81, protocol: "TCP" }])).toEqual(["port-81", "p1"]);
	});

	it("adds an Ingress to the exposed port only when one is exposed", () => {
		expect(specIngress(target, build)?.spec?.rules).toEqual([
			{ host: "my-nginx-service.team-a.apps.example.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "my-nginx-service", port: { number: 80 } } } }] } },
		]);
		expect(specManifests(target, spec, build).map(m => m.kind)).toEqual(["PersistentVolumeClaim", "Service", "Deployment", "Ingress"]);
		expect(specManifests({ ...target, exposed_service: null, exposed_port: null }, spec, build).map(m => m.kind)).toEqual(["PersistentVolumeClaim", "Service", "Deployment"]);
	});

	it("fills requests and limits around what the spec gives", () => {
		expect(containerResources({ resources: { requests: { cpu: "2" } } }, {})).toEqual({ requests: { cpu: "2", memory: "128Mi" }, limits: { cpu: "2", memory: "512Mi" } });
		expect(containerResources({ resources: { limits: { cpu: "50m", memory: "64Mi" } } }, {})).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "50m", memory: "64Mi" } });
	});
});

describe("quota", () => {
	it("counts one pod's requests, limits and GPUs", () => {
		const dep = specDeployment(target, specOf(SEED_YAML), build);
		expect(podFootprint(dep)).toEqual({
			pods: 1,
			"requests.cpu": 100,
			cpu: 100,
			"limits.cpu": 500,
			"requests.memory": 128 * 2 ** 20,
			memory: 128 * 2 ** 20,
			"limits.memory": 512 * 2 ** 20,
			"requests.nvidia.com/gpu": 1,
		});
	});

	it("says which resource does not fit and by how much", () => {
		const quota = { hard: { "limits.cpu": "2", "requests.nvidia.com/gpu": "0", "requests.storage": "10Gi", "requests.memory": "4Gi" }, used: { "limits.cpu": "1500m", "requests.storage": "9Gi" } };
		expect(quotaShortfalls(quota, { "limits.cpu": 1000, "requests.nvidia.com/gpu": 1, "requests.storage": 2 * 2 ** 30, "requests.memory": 2 ** 30, pods: 1 })).toEqual([
			{ resource: "limits.cpu", requested: "1", used: "1500m", hard: "2", exceededBy: "500m" },
			{ resource: "requests.nvidia.com/gpu", requested: "1", used: "0", hard: "0", exceededBy: "1" },
			{ resource: "requests.storage", requested: "2Gi", used: "9Gi", hard: "10Gi", exceededBy: "1Gi" },
		]);
		expect(quotaShortfalls(quota, { "limits.cpu": 500, "requests.nvidia.com/gpu": 0, "requests.storage": -1 })).toEqual([]);
	});
});

describe("specStatus", () => {
	it("answers exactly the seed's shape", () => {
		const deployment = { spec: { replicas: 1 }, status: { replicas: 1 } } as V1Deployment;
		const pods = [
			{ metadata: { name: "b" }, spec: { containers: [{ name: "nginx" }, { name: "side" }] }, status: { phase: "Running", containerStatuses: [{ name: "nginx", ready: true, started: true }] } },
			{ metadata: { name: "a" }, spec: { containers: [{ name: "nginx" }] }, status: { phase: "Pending" } },
			{ metadata: { name: "c", deletionTimestamp: new Date() }, spec: { containers: [] }, status: { phase: "Running" } },
		] as unknown as V1Pod[];
		const pvcs = [
			{ metadata: { name: "x-mydata", labels: { "berth.dev/volume": "mydata" } }, status: { phase: "Bound", capacity: { storage: "1Gi" } } },
			{ metadata: { name: "x-cache", labels: { "berth.dev/volume": "cache" } }, status: { phase: "Pending" } },
		] as unknown as V1PersistentVolumeClaim[];
		expect(specStatus(deployment, pods, pvcs)).toEqual({
			replicas: 1,
			currentReplicas: 1,
			pods: [
				{ phase: "Pending", containers: [{ name: "nginx", ready: false, started: false }] },
				{ phase: "Running", containers: [{ name: "nginx", ready: true, started: true }, { name: "side", ready: false, started: false }] },
			],
			volumes: [
				{ name: "cache", phase: "Pending", capacity: null },
				{ name: "mydata", phase: "Bound", capacity: "1Gi" },
			],
		});
		expect(specStatus(undefined, [], [])).toEqual({ replicas: 0, currentReplicas: 0, pods: [], volumes: [] });
	});

	it("keeps the seed's example parseable as the YAML library reads it", () => {
		expect(parse(SEED_YAML).containers[0].gpu).toBe("nvidia/gpu");
	});
});
