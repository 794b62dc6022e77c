import type { V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Service } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type Mesh } from "../helpers/mesh";
import { SEED_YAML } from "../helpers/seed-spec";

/** The same, with the GPU line removed as the seed allows: the kwok node offers no GPUs, so only this one runs. */
const SEED_YAML_NO_GPU = SEED_YAML.replace("    gpu: 'nvidia/gpu'  # Request a GPU resource (see below for valid options)\n", "");

/** Two containers sharing one volume, read-only in one of them; no GPU. */
const MULTI_YAML = `containers:
  - name: web
    image: nginx:1.27
    ports:
      - name: http
        port: 80
    volumeMounts:
      - name: site
        mountPath: /usr/share/nginx/html
        readOnly: true
  - name: writer
    image: busybox:1.36
    command: ["sh", "-c", "while true; do date > /out/index.html; sleep 5; done"]
    ports:
      - name: metrics
        port: 9100
    volumeMounts:
      - name: site
        mountPath: /out
      - name: cache
        mountPath: /cache
volumes:
  - name: site
    size: 1Gi
  - name: cache
    size: 200Mi
`;

const backends = dbBackends("berth_it_specs");

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.services"];

describe.each(backends)("service specs through the KITeGG routes against the real control plane, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let uri: string | undefined;
	let alice: string;
	let bob: string;
	/** Room for everything this suite runs, one GPU included. */
	let ns: { id: string; name: string };
	/** A tight quota, no GPUs: for the refusals. */
	let small: { id: string; name: string };

	const native = (path = "") => `${mesh.url}/api/v1/k8s/services${path}`;
	const compat = (path: string) => `${mesh.url}/kubernetes/services${path}`;
	const get = <T>(kind: string, apiVersion: string, name: string, namespace = ns.name) => kube().get<T & { kind?: string }>({ apiVersion, kind, name, namespace }) as Promise<T | undefined>;

	async function create(body: Record<string, unknown>, key = alice): Promise<{ id: string; resourceName: string }> {
		const res = await request(native("/"), { method: "POST", key, body: { namespace: ns.name, ...body } });
		expect(res.status).toBe(201);
		return res.body;
	}

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		process.env.BASE_DOMAIN = "apps.berth.test";
		// Drift is healed by the periodic resync: make it quick.
		process.env.RESYNC_SECONDS = "2";
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		const namespace = async (quota: Record<string, unknown>) => {
			const res = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: uniqueName("it-specs"), quota } });
			expect(res.status).toBe(201);
			return res.body as { id: string; name: string };
		};
		ns = await namespace({ cpu: "4", memory: "8Gi", storage: "20Gi", pods: 20, gpu: 1 });
		small = await namespace({ cpu: "1", memory: "1Gi", storage: "2Gi", pods: 5, gpu: 0 });
	});

	afterAll(async () => {
		for (const n of [ns, small]) if (n) await request(`${mesh.url}/api/v1/k8s/namespaces/${n.id}`, { method: "DELETE", key: alice });
		await mesh.stop();
		await dropStore(uri);
		delete process.env.BASE_DOMAIN;
		delete process.env.RESYNC_SECONDS;
	});

	describe("the seed's example, verbatim", () => {
		let id: string;

		it("is stored with the seed's payload", async () => {
			const res = await request(native("/"), { method: "POST", key: alice, body: { name: "My NGINX Service", namespace: ns.name, deployment: SEED_YAML, exposed_service: "nginx", exposed_port: 80 } });
			expect(res.status).toBe(201);
			expect(res.headers.get("location")).toBe(`/api/v1/k8s/services/${res.body.id}`);
			expect(res.body).toMatchObject({ name: "My NGINX Service", namespace: ns.id, namespaceName: ns.name, deployment: SEED_YAML, exposed_service: "nginx", exposed_port: 80, resourceName: "my-nginx-service", deployed: false, host: null });
			id = res.body.id;
		});

		it("deploys with PUT /kubernetes/services/:id/deploy and answers with the Deployment", async () => {
			const res = await request(compat(`/${id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(200);
			expect(res.body).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "my-nginx-service", namespace: ns.name, labels: { "berth.dev/id": id } } });
			expect(res.body.spec.template.spec.containers).toEqual([
				expect.objectContaining({
					name: "nginx",
					image: "nginx:latest",
					ports: [{ name: "default", containerPort: 80, protocol: "TCP" }],
					resources: { requests: { cpu: "100m", memory: "128Mi", "nvidia.com/gpu": "1" }, limits: { cpu: "500m", memory: "512Mi", "nvidia.com/gpu": "1" } },
					volumeMounts: [{ name: "mydata", mountPath: "/mydata", readOnly: true }],
				}),
			]);
			expect(res.body.spec.template.spec.volumes).toEqual([{ name: "mydata", persistentVolumeClaim: { claimName: "my-nginx-service-mydata" } }]);
		});

		it("has made the claim, the Service and the Ingress in the cluster", async () => {
			const dep = await get<V1Deployment>("Deployment", "apps/v1", "my-nginx-service");
			expect(dep?.metadata?.managedFields?.some(f => f.manager === "berth" && f.operation === "Apply")).toBe(true);
			const pvc = await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", "my-nginx-service-mydata");
			expect(pvc?.spec?.resources?.requests?.storage).toBe("1Gi");
			const svc = await get<V1Service>("Service", "v1", "my-nginx-service");
			expect(svc?.spec?.ports).toEqual([expect.objectContaining({ name: "default", port: 80, targetPort: 80, protocol: "TCP" })]);
			expect(svc?.spec?.selector).toEqual({ "app.kubernetes.io/instance": "my-nginx-service", "berth.dev/id": id });
			const ingress = await get<V1Ingress>("Ingress", "networking.k8s.io/v1", "my-nginx-service");
			expect(ingress?.spec?.rules).toEqual([
				{ host: `my-nginx-service.${ns.name}.apps.berth.test`, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "my-nginx-service", port: { number: 80 } } } }] } },
			]);
			const entity = await request(native(`/${id}`), { key: alice });
			expect(entity.body).toMatchObject({ deployed: true, deployedAt: expect.any(String), host: `my-nginx-service.${ns.name}.apps.berth.test`, pendingChanges: false });
		});

		it("answers GET /kubernetes/services/:id in exactly the seed's shape; the GPU pod waits for a GPU node", async () => {
			const status = await eventually(async () => {
				const res = await request(compat(`/${id}`), { key: alice });
				expect(res.status).toBe(200);
				expect(res.body.volumes).toEqual([{ name: "mydata", phase: "Bound", capacity: "1Gi" }]);
				expect(res.body.pods).toHaveLength(1);
				return res.body;
			});
			expect(Object.keys(status).sort()).toEqual(["currentReplicas", "pods", "replicas", "volumes"]);
			expect(status).toEqual({
				replicas: 1,
				currentReplicas: 1,
				pods: [{ phase: "Pending", containers: [{ name: "nginx", ready: false, started: false }] }],
				volumes: [{ name: "mydata", phase: "Bound", capacity: "1Gi" }],
			});
			// The native route answers the same.
			expect((await request(native(`/${id}/status`), { key: alice })).body).toEqual(status);
		});

		it("is invisible to another tenant", async () => {
			expect((await request(compat(`/${id}`), { key: bob })).status).toBe(404);
			expect((await request(compat(`/${id}/deploy`), { method: "PUT", key: bob })).status).toBe(404);
			expect((await request(compat(`/${id}`), { method: "DELETE", key: bob })).status).toBe(404);
			expect((await request(native(`/${id}`), { key: bob })).status).toBe(404);
			expect((await request(native(`/${id}`), { method: "PATCH", key: bob, body: { name: "mine" } })).status).toBe(404);
			expect((await request(native(`/${id}`), { method: "DELETE", key: bob })).status).toBe(404);
			expect((await request(native("/"), { key: bob })).body).toEqual([]);
			expect(await get<V1Deployment>("Deployment", "apps/v1", "my-nginx-service")).toBeDefined();
		});

		it("is removed with every object, the volume included, by DELETE /kubernetes/services/:id", async () => {
			const res = await request(compat(`/${id}`), { method: "DELETE", key: alice });
			expect(res.status).toBe(200);
			expect(res.body.kept).toEqual([]);
			expect(res.body.removed).toEqual(
				expect.arrayContaining([
					{ kind: "Deployment", name: "my-nginx-service" },
					{ kind: "Service", name: "my-nginx-service" },
					{ kind: "Ingress", name: "my-nginx-service" },
					{ kind: "PersistentVolumeClaim", name: "my-nginx-service-mydata" },
				]),
			);
			expect(await get("Deployment", "apps/v1", "my-nginx-service")).toBeUndefined();
			expect(await get("Service", "v1", "my-nginx-service")).toBeUndefined();
			expect(await get("Ingress", "networking.k8s.io/v1", "my-nginx-service")).toBeUndefined();
			await eventually(async () => expect(await get("PersistentVolumeClaim", "v1", "my-nginx-service-mydata")).toBeUndefined());
			// The seed's record stays: another PUT deploys it again.
			expect((await request(native(`/${id}`), { key: alice })).body).toMatchObject({ deployed: false, deployedAt: null });
			await eventually(async () => expect((await request(compat(`/${id}`), { key: alice })).body).toEqual({ replicas: 0, currentReplicas: 0, pods: [], volumes: [] }));
		});
	});

	describe("without the GPU", () => {
		let id: string;

		beforeAll(async () => {
			id = (await create({ name: "nginx no gpu", deployment: SEED_YAML_NO_GPU, exposed_service: "nginx", exposed_port: 80 })).id;
		});

		it("runs: the status shows the container ready and started", async () => {
			const res = await request(compat(`/${id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(200);
			expect(res.body.spec.template.spec.containers[0].resources.limits).toEqual({ cpu: "500m", memory: "512Mi" });
			await eventually(async () =>
				expect((await request(compat(`/${id}`), { key: alice })).body).toEqual({
					replicas: 1,
					currentReplicas: 1,
					pods: [{ phase: "Running", containers: [{ name: "nginx", ready: true, started: true }] }],
					volumes: [{ name: "mydata", phase: "Bound", capacity: "1Gi" }],
				}),
			);
		});

		it("keeps the volume with ?keepVolumes=true, and a new deploy uses it again", async () => {
			const pvcName = "nginx-no-gpu-mydata";
			const uid = (await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName))?.metadata?.uid;
			expect(uid).toBeDefined();
			const res = await request(compat(`/${id}?keepVolumes=true`), { method: "DELETE", key: alice });
			expect(res.status).toBe(200);
			expect(res.body.kept).toEqual([{ kind: "PersistentVolumeClaim", name: pvcName }]);
			expect(res.body.removed.map((o: { kind: string }) => o.kind).sort()).toEqual(["Deployment", "Ingress", "Service"]);
			expect(await get("Deployment", "apps/v1", "nginx-no-gpu")).toBeUndefined();
			expect(await get("Service", "v1", "nginx-no-gpu")).toBeUndefined();
			const kept = await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName);
			expect(kept?.metadata?.uid).toBe(uid);
			expect(kept?.metadata?.deletionTimestamp).toBeUndefined();
			await eventually(async () => expect((await request(compat(`/${id}`), { key: alice })).body).toEqual({ replicas: 0, currentReplicas: 0, pods: [], volumes: [{ name: "mydata", phase: "Bound", capacity: "1Gi" }] }));

			expect((await request(compat(`/${id}/deploy`), { method: "PUT", key: alice })).status).toBe(200);
			expect((await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName))?.metadata?.uid).toBe(uid);
			expect(await get("Deployment", "apps/v1", "nginx-no-gpu")).toBeDefined();
		});

		it("answers 409 while a volume of the spec is still being deleted, and deploys once it is gone", async () => {
			const pvcName = "nginx-no-gpu-mydata";
			// A finalizer of the test's own holds the claim in Terminating after the delete.
			const hold = async (finalizers: string[]) => {
				const pvc = (await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName)) as V1PersistentVolumeClaim;
				await kube().replace({ ...pvc, metadata: { ...pvc.metadata, finalizers } });
			};
			await hold(["berth.test/hold"]);
			expect((await request(compat(`/${id}`), { method: "DELETE", key: alice })).status).toBe(200);
			expect((await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName))?.metadata?.deletionTimestamp).toBeDefined();
			const res = await request(compat(`/${id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(409);
			expect(res.body).toMatchObject({ type: "CONFLICT", data: { kind: "PersistentVolumeClaim", name: pvcName } });
			await eventually(async () => {
				const pvc = await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName);
				if (pvc) await hold((pvc.metadata?.finalizers ?? []).filter(f => f !== "berth.test/hold"));
				expect(await get("PersistentVolumeClaim", "v1", pvcName)).toBeUndefined();
			});
			expect((await request(compat(`/${id}/deploy`), { method: "PUT", key: alice })).status).toBe(200);
			expect((await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", pvcName))?.metadata?.deletionTimestamp).toBeUndefined();
		});

		it("is gone, entity and objects, after the native DELETE", async () => {
			const res = await request(native(`/${id}`), { method: "DELETE", key: alice });
			expect(res.status).toBe(200);
			expect((await request(native(`/${id}`), { key: alice })).status).toBe(404);
			expect((await request(compat(`/${id}`), { key: alice })).status).toBe(404);
			expect(await get("Deployment", "apps/v1", "nginx-no-gpu")).toBeUndefined();
			await eventually(async () => expect(await get("PersistentVolumeClaim", "v1", "nginx-no-gpu-mydata")).toBeUndefined());
		});
	});

	describe("several containers, read-only mounts and updates", () => {
		let id: string;

		beforeAll(async () => {
			id = (await create({ name: "Site", deployment: MULTI_YAML, exposed_service: "web", exposed_port: 80 })).id;
			const res = await request(compat(`/${id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(200);
		});

		it("mounts the shared volume read-only where the spec says so, and writable elsewhere", async () => {
			const dep = await get<V1Deployment>("Deployment", "apps/v1", "site");
			const containers = dep?.spec?.template.spec?.containers ?? [];
			expect(containers.map(c => c.name)).toEqual(["web", "writer"]);
			expect(containers[0].volumeMounts).toEqual([{ name: "site", mountPath: "/usr/share/nginx/html", readOnly: true }]);
			expect(containers[1].volumeMounts).toEqual([
				{ name: "site", mountPath: "/out" },
				{ name: "cache", mountPath: "/cache" },
			]);
			expect(containers[1].command).toEqual(["sh", "-c", "while true; do date > /out/index.html; sleep 5; done"]);
			expect((await get<V1Service>("Service", "v1", "site"))?.spec?.ports?.map(p => [p.name, p.port])).toEqual([
				["http", 80],
				["metrics", 9100],
			]);
			await eventually(async () => {
				const status = (await request(compat(`/${id}`), { key: alice })).body;
				expect(status.pods).toEqual([{ phase: "Running", containers: [{ name: "web", ready: true, started: true }, { name: "writer", ready: true, started: true }] }]);
				expect(status.volumes).toEqual([
					{ name: "cache", phase: "Bound", capacity: "200Mi" },
					{ name: "site", phase: "Bound", capacity: "1Gi" },
				]);
			});
		});

		it("applies an update only with the next PUT", async () => {
			const updated = MULTI_YAML.replace("image: nginx:1.27", "image: nginx:1.28").replace("        readOnly: true\n", "        readOnly: false\n").replace("        mountPath: /cache\n", "        mountPath: /cache\n      - name: logs\n        mountPath: /logs\n").concat("  - name: logs\n    size: 100Mi\n");
			const patch = await request(native(`/${id}`), { method: "PATCH", key: alice, body: { deployment: updated, exposed_service: null, exposed_port: null } });
			expect(patch.status).toBe(200);
			expect(patch.body).toMatchObject({ deployed: true, pendingChanges: true, exposed_service: null, exposed_port: null });
			// Nothing changed in the cluster yet.
			expect((await get<V1Deployment>("Deployment", "apps/v1", "site"))?.spec?.template.spec?.containers[0].image).toBe("nginx:1.27");
			expect(await get("Ingress", "networking.k8s.io/v1", "site")).toBeDefined();

			const res = await request(compat(`/${id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(200);
			expect(res.body.spec.template.spec.containers[0]).toMatchObject({ image: "nginx:1.28", volumeMounts: [{ name: "site", mountPath: "/usr/share/nginx/html" }] });
			expect(res.body.spec.template.spec.containers[1].volumeMounts.map((m: { name: string }) => m.name)).toEqual(["site", "cache", "logs"]);
			expect((await get<V1Deployment>("Deployment", "apps/v1", "site"))?.spec?.template.spec?.containers[0].image).toBe("nginx:1.28");
			// No longer exposed: the Ingress goes.
			expect(await get("Ingress", "networking.k8s.io/v1", "site")).toBeUndefined();
			expect((await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", "site-logs"))?.spec?.resources?.requests?.storage).toBe("100Mi");
			expect((await request(native(`/${id}`), { key: alice })).body).toMatchObject({ pendingChanges: false, host: null });
		});

		it("refuses a deploy that would resize a volume the cluster cannot resize, naming the YAML path, and leaves the cluster alone", async () => {
			const current = (await request(native(`/${id}`), { key: alice })).body.deployment as string;
			// Shrinking: Berth refuses it. Growing: the local storage class does not allow expansion, and the apiserver's dry run says so.
			for (const [from, to, field] of [["size: 1Gi", "size: 500Mi", "volumes[0].size"], ["size: 200Mi", "size: 300Mi", "volumes[1].size"]]) {
				expect((await request(native(`/${id}`), { method: "PATCH", key: alice, body: { deployment: current.replace(from, to) } })).status).toBe(200);
				const res = await request(compat(`/${id}/deploy`), { method: "PUT", key: alice });
				expect(res.status).toBe(422);
				expect(res.body).toMatchObject({ code: 422, type: "VALIDATION_ERROR", data: [expect.objectContaining({ field })] });
			}
			expect((await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", "site-site"))?.spec?.resources?.requests?.storage).toBe("1Gi");
			expect((await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", "site-cache"))?.spec?.resources?.requests?.storage).toBe("200Mi");
			expect((await request(native(`/${id}`), { key: alice })).body.pendingChanges).toBe(true);
		});

		it("shows the manifests a deploy would apply", async () => {
			const res = await request(native(`/${id}/manifests`), { key: alice });
			expect(res.status).toBe(200);
			expect(res.body.manifests.map((m: { kind: string; metadata: { name: string } }) => `${m.kind}/${m.metadata.name}`)).toEqual([
				"PersistentVolumeClaim/site-site",
				"PersistentVolumeClaim/site-cache",
				"PersistentVolumeClaim/site-logs",
				"Service/site",
				"Deployment/site",
			]);
		});

		afterAll(async () => {
			await request(native(`/${id}`), { method: "DELETE", key: alice });
		});
	});

	describe("validation", () => {
		const post = (deployment: string, extra: Record<string, unknown> = {}) => request(native("/"), { method: "POST", key: alice, body: { name: "bad", namespace: ns.name, deployment, ...extra } });

		it("refuses invalid YAML, with the line", async () => {
			const res = await post("containers:\n  - name: nginx\n    ports: [80\n  image: x\n");
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ name: "ValidationError", code: 422, type: "VALIDATION_ERROR", data: expect.arrayContaining([expect.objectContaining({ field: "deployment", type: "yaml", line: 4, column: 3 })]) });
		});

		it("names the YAML path at fault", async () => {
			const res = await post(SEED_YAML.replace("port: 80", "port: 70000"));
			expect(res.status).toBe(422);
			expect(res.body.data).toEqual([expect.objectContaining({ field: "containers[0].ports[0].port", line: 7, actual: 70000 })]);
			const missing = await post("containers:\n  - name: nginx\n");
			expect(missing.body.data.map((e: { field: string }) => e.field)).toEqual(["containers[0].image", "containers[0].ports"]);
			const gpu = await post(SEED_YAML.replace("'nvidia/gpu'", "'tpu'"));
			expect(gpu.body.data).toEqual([expect.objectContaining({ field: "containers[0].gpu", actual: "tpu" })]);
			const mount = await post(SEED_YAML.replace("- name: mydata\n        mountPath", "- name: other\n        mountPath"));
			expect(mount.body.data).toEqual([expect.objectContaining({ field: "containers[0].volumeMounts[0].name", actual: "other" })]);
		});

		it.each(["0Gi", "1000Gi", "1000Mi", "1Ti", "512Ki", "2G"])("refuses the out-of-range size %s", async size => {
			const res = await post(SEED_YAML.replace("size: 1Gi", `size: ${size}`));
			expect(res.status).toBe(422);
			expect(res.body.data).toEqual([expect.objectContaining({ field: "volumes[0].size", actual: size, line: 20 })]);
		});

		it("refuses an exposure the spec does not have", async () => {
			const res = await post(SEED_YAML, { exposed_service: "nginx", exposed_port: 8080 });
			expect(res.status).toBe(422);
			expect(res.body.data).toEqual([expect.objectContaining({ field: "exposed_port" })]);
		});

		it("refuses an update to an invalid spec, keeping the stored one", async () => {
			const { id } = await create({ name: "keeper", deployment: SEED_YAML_NO_GPU });
			const res = await request(native(`/${id}`), { method: "PATCH", key: alice, body: { deployment: SEED_YAML_NO_GPU.replace("size: 1Gi", "size: 0Gi") } });
			expect(res.status).toBe(422);
			expect((await request(native(`/${id}`), { key: alice })).body.deployment).toBe(SEED_YAML_NO_GPU);
			await request(native(`/${id}`), { method: "DELETE", key: alice });
		});

		it("checks a spec without storing it", async () => {
			const ok = await request(native("/validate"), { method: "POST", key: alice, body: { deployment: SEED_YAML, exposed_service: "nginx", exposed_port: 80 } });
			expect(ok.status).toBe(200);
			expect(ok.body.spec.containers[0]).toMatchObject({ name: "nginx", gpu: "nvidia/gpu" });
			const bad = await request(native("/validate"), { method: "POST", key: alice, body: { deployment: "containers: {}" } });
			expect(bad.status).toBe(422);
			expect(bad.body.data[0].field).toBe("containers");
		});

		it("does not take over an object of the same name that is not its own", async () => {
			await kube().apply({ apiVersion: "v1", kind: "Service", metadata: { name: "taken", namespace: ns.name }, spec: { ports: [{ port: 80 }] } });
			const created = await create({ name: "Taken", deployment: SEED_YAML_NO_GPU });
			expect(created.resourceName).toMatch(/^taken-[a-z0-9]{5}$/);
			await request(native(`/${created.id}`), { method: "DELETE", key: alice });

			// Made after the name was given out: the deploy answers 409 and leaves the stranger's object as it was.
			const late = await create({ name: "Late", deployment: SEED_YAML_NO_GPU });
			await kube().apply({ apiVersion: "v1", kind: "Service", metadata: { name: late.resourceName, namespace: ns.name, labels: { owner: "someone-else" } }, spec: { ports: [{ port: 81 }] } });
			const res = await request(compat(`/${late.id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(409);
			expect(res.body).toMatchObject({ type: "CONFLICT", data: { kind: "Service", name: late.resourceName } });
			expect((await get<V1Service>("Service", "v1", late.resourceName))?.spec?.ports?.map(p => p.port)).toEqual([81]);
			expect(await get("PersistentVolumeClaim", "v1", `${late.resourceName}-mydata`)).toBeUndefined();
			await request(native(`/${late.id}`), { method: "DELETE", key: alice });
			await kube().delete({ apiVersion: "v1", kind: "Service", name: late.resourceName, namespace: ns.name });
		});
	});

	describe("quota", () => {
		const inSmall = async (name: string, deployment: string) => {
			const res = await request(native("/"), { method: "POST", key: alice, body: { name, namespace: small.id, deployment } });
			expect(res.status).toBe(201);
			return res.body as { id: string; resourceName: string };
		};

		async function expectNothingApplied(resourceName: string): Promise<void> {
			expect(await get("Deployment", "apps/v1", resourceName, small.name)).toBeUndefined();
			expect(await get("Service", "v1", resourceName, small.name)).toBeUndefined();
			expect(await get("PersistentVolumeClaim", "v1", `${resourceName}-mydata`, small.name)).toBeUndefined();
		}

		it("refuses a GPU the namespace has none of, before anything is applied", async () => {
			const svc = await inSmall("gpu", SEED_YAML);
			const res = await request(compat(`/${svc.id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ code: 422, type: "QUOTA_EXCEEDED", data: { namespace: small.name } });
			expect(res.body.data.shortfalls).toEqual([{ resource: "requests.nvidia.com/gpu", requested: "1", used: "0", hard: "0", exceededBy: "1" }]);
			expect(res.body.message).toContain("requests.nvidia.com/gpu");
			await expectNothingApplied(svc.resourceName);
			expect((await request(native(`/${svc.id}`), { key: alice })).body.deployed).toBe(false);
		});

		it("refuses storage, CPU and memory beyond the quota, saying by how much", async () => {
			const big = SEED_YAML_NO_GPU.replace("size: 1Gi", "size: 3Gi").replace('    image: "nginx:latest"\n', '    image: "nginx:latest"\n    resources:\n      limits:\n        cpu: "2"\n        memory: 1536Mi\n');
			const svc = await inSmall("big", big);
			const res = await request(compat(`/${svc.id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(422);
			expect(res.body.type).toBe("QUOTA_EXCEEDED");
			const by = Object.fromEntries((res.body.data.shortfalls as { resource: string; exceededBy: string }[]).map(s => [s.resource, s.exceededBy]));
			// Requests stay at the defaults (100m, 128Mi): only the limits and the claim overflow.
			expect(by).toEqual({ "limits.cpu": "1", "limits.memory": "512Mi", "requests.storage": "1Gi" });
			await expectNothingApplied(svc.resourceName);
		});

		it("deploys what fits, and counts a redeploy's pod once: it replaces the running one", async () => {
			// 600m of the 1 CPU: counting the running pod and its replacement both would not fit.
			const sized = (image: string) => SEED_YAML_NO_GPU.replace('    image: "nginx:latest"\n', `    image: "${image}"\n    resources:\n      limits:\n        cpu: 600m\n        memory: 600Mi\n`);
			const svc = await inSmall("fits", sized("nginx:latest"));
			expect((await request(compat(`/${svc.id}/deploy`), { method: "PUT", key: alice })).status).toBe(200);
			await eventually(async () => expect((await request(compat(`/${svc.id}`), { key: alice })).body.pods).toEqual([{ phase: "Running", containers: [{ name: "nginx", ready: true, started: true }] }]));

			expect((await request(native(`/${svc.id}`), { method: "PATCH", key: alice, body: { deployment: sized("nginx:1.27") } })).status).toBe(200);
			const res = await request(compat(`/${svc.id}/deploy`), { method: "PUT", key: alice });
			expect(res.status).toBe(200);
			// Recreate: the old pod goes first, so the new one fits the quota and the rollout completes.
			await eventually(async () => {
				const dep = await get<V1Deployment>("Deployment", "apps/v1", svc.resourceName, small.name);
				expect(dep?.spec?.template.spec?.containers[0].image).toBe("nginx:1.27");
				expect(dep?.status).toMatchObject({ updatedReplicas: 1, readyReplicas: 1, replicas: 1 });
			});
		});
	});

	it("heals drift: the leader's resync puts back what was changed or deleted behind Berth's back", async () => {
		const { id, resourceName } = await create({ name: "drifter", deployment: SEED_YAML_NO_GPU, exposed_service: "nginx", exposed_port: 80 });
		expect((await request(compat(`/${id}/deploy`), { method: "PUT", key: alice })).status).toBe(200);
		await kube().delete({ apiVersion: "v1", kind: "Service", name: resourceName, namespace: ns.name });
		await kube().delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: resourceName, namespace: ns.name });
		await eventually(
			async () => {
				expect((await get<V1Service>("Service", "v1", resourceName))?.metadata?.labels?.["berth.dev/id"]).toBe(id);
				expect(await get("Ingress", "networking.k8s.io/v1", resourceName)).toBeDefined();
			},
			{ timeoutMs: 45_000 },
		);
		await request(native(`/${id}`), { method: "DELETE", key: alice });
	});

	it("removes the services of a removed namespace", async () => {
		const res = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: uniqueName("it-specs-gone") } });
		expect(res.status).toBe(201);
		const created = await request(native("/"), { method: "POST", key: alice, body: { name: "doomed", namespace: res.body.id, deployment: SEED_YAML_NO_GPU } });
		expect(created.status).toBe(201);
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${res.body.id}`, { method: "DELETE", key: alice })).status).toBe(200);
		await eventually(async () => expect((await request(native(`/${created.body.id}`), { key: alice })).status).toBe(404));
		expect((await request(native(`/?namespace=${ns.id}`), { key: alice })).body.map((s: { id: string }) => s.id)).not.toContain(created.body.id);
	});
});
