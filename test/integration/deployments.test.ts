import { Kinds, type V1ConfigMap, type V1Deployment, type V1Ingress, type V1ReplicaSet, type V1Service } from "../../lib/k8s";
import { bodyOf, containsDesired } from "../../lib/manifests/drift";
import { kube, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const backends = envBackends;

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"];

describe.each(backends)("v1.k8s.deployments over REST against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let nsName: string;
	let nsId: string;
	const api = (path: string) => `${mesh.url}/api/v1/k8s/deployments${path}`;
	const live = <T>(kind: string, apiVersion: string, name: string) => kube().get<T & { kind?: string }>({ apiVersion, kind, name, namespace: nsName }) as Promise<T | undefined>;

	beforeAll(async () => {
		useBackend();
		process.env.BASE_DOMAIN = "apps.berth.test";
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		({ id: nsId, name: nsName } = await createNamespace(mesh, alice, uniqueName("it-deploy"), { cpu: "2", memory: "2Gi", pods: 10 }));
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
		delete process.env.BASE_DOMAIN;
	});

	describe("a deployment's life", () => {
		let id: string;
		const name = "web";

		beforeAll(async () => {
			const res = await request(api("/"), {
				method: "POST",
				key: alice,
				body: { name, namespace: nsName, image: "nginx", replicas: 1, configMap: { name: "site", data: { "site.conf": "server { listen 80; }" } }, env: [{ key: "MODE", value: "production" }] },
			});
			expect(res.status).toBe(201);
			expect(res.body).toMatchObject({ name, namespace: nsId, namespaceName: nsName, replicas: 1, vHosts: [], owner: expect.any(String), status: { conditions: expect.arrayContaining([expect.objectContaining({ type: "Applied", status: "True" })]) } });
			id = res.body.id;
		});

		it("creates the Deployment, Service, Ingress and ConfigMap in the cluster", async () => {
			const dep = await live<V1Deployment>("Deployment", "apps/v1", name);
			expect(dep?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": id });
			expect(dep?.metadata?.annotations).toMatchObject({ "berth.dev/id": id });
			expect(dep?.metadata?.managedFields?.some(f => f.manager === "berth" && f.operation === "Apply")).toBe(true);
			expect(dep?.spec?.template.spec?.containers[0]).toMatchObject({ image: "nginx:1.27", resources: { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "50m", memory: "32Mi" } } });
			expect((await live<V1Service>("Service", "v1", `${name}-service`))?.spec?.ports?.[0]).toMatchObject({ port: 80, targetPort: 80 });
			expect((await live<V1Ingress>("Ingress", "networking.k8s.io/v1", name))?.spec?.rules?.[0].host).toBe(`${name}.${nsName}.apps.berth.test`);
			expect((await live<V1ConfigMap>("ConfigMap", "v1", `${name}-site`))?.data).toEqual({ "site.conf": "server { listen 80; }" });
			expect((await live<V1ConfigMap>("ConfigMap", "v1", `${name}-env`))?.data).toEqual({ MODE: "production" });
		});

		it("reports status, state and pods once the pods run", async () => {
			const status = await eventually(async () => {
				const res = await request(api(`/${id}/status`), { key: alice });
				expect(res.status).toBe(200);
				expect(res.body).toMatchObject({ phase: "Running", replicas: 1, readyReplicas: 1, availableReplicas: 1 });
				return res.body;
			});
			expect(status.hosts).toEqual([`${name}.${nsName}.apps.berth.test`]);
			expect(status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: "Available", status: "True" })]));
			const state = await request(api(`/${id}/state`), { key: alice });
			expect(state.body.deployment.phase).toBe("Running");
			expect(state.body.pods).toEqual([expect.objectContaining({ phase: "Running", ready: true, containers: [expect.objectContaining({ name, state: "running" })] })]);
			const pods = await request(api(`/${id}/pods`), { key: alice });
			expect(pods.body.map((p: { name: string }) => p.name)).toEqual(state.body.pods.map((p: { name: string }) => p.name));
			// the entity's stored status caught up through the Deployment watch
			await eventually(async () => expect((await request(api(`/${id}`), { key: alice })).body.status).toMatchObject({ phase: "Running", readyReplicas: 1 }));
		});

		it("serves logs, with tail and since, and a follow stream", async () => {
			const logs = await eventually(async () => {
				const res = await request(api(`/${id}/logs`), { key: alice });
				expect(res.status).toBe(200);
				expect(res.body[0].log).toContain("berth simulated log line");
				return res.body;
			});
			expect(logs[0]).toMatchObject({ pod: expect.stringMatching(new RegExp(`^${name}-`)), container: name });
			const tail = await request(api(`/${id}/logs?tail=1`), { key: alice });
			expect(tail.body[0].log.trim().split("\n")).toHaveLength(1);
			expect((await request(api(`/${id}/logs?since=1h&pod=${logs[0].pod}`), { key: alice })).status).toBe(200);

			const controller = new AbortController();
			const res = await fetch(api(`/${id}/logs?follow=true&tail=2`), { headers: { authorization: `Bearer ${alice}` }, signal: controller.signal });
			expect(res.status).toBe(200);
			expect(res.headers.get("content-type")).toContain("text/plain");
			const reader = res.body!.getReader();
			let text = "";
			while (!text.includes("\n")) {
				const { value, done } = await reader.read();
				if (done) break;
				text += Buffer.from(value).toString();
			}
			controller.abort();
			expect(text).toContain("berth simulated log line");
		});

		it("lists the Kubernetes events of its objects", async () => {
			const events = await eventually(async () => {
				const res = await request(api(`/${id}/events`), { key: alice });
				expect(res.status).toBe(200);
				expect(res.body.length).toBeGreaterThan(0);
				return res.body;
			});
			expect(events).toContainEqual(expect.objectContaining({ reason: "ScalingReplicaSet", object: { kind: "Deployment", name } }));
		});

		it("scales", async () => {
			const res = await request(api(`/${id}/scale`), { method: "POST", key: alice, body: { replicas: 2 } });
			expect(res.status).toBe(200);
			expect(res.body.replicas).toBe(2);
			await eventually(async () => expect((await live<V1Deployment>("Deployment", "apps/v1", name))?.status?.readyReplicas).toBe(2));
			expect((await request(api(`/${id}/pods`), { key: alice })).body).toHaveLength(2);
			await request(api(`/${id}/scale`), { method: "POST", key: alice, body: { replicas: 1 } });
			await eventually(async () => expect((await request(api(`/${id}/pods`), { key: alice })).body).toHaveLength(1));
		});

		it("restarts with a rollout: a new ReplicaSet replaces the pods", async () => {
			const rsBefore = await kube().list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace: nsName, labelSelector: `berth.dev/id=${id}` });
			const res = await request(api(`/${id}/restart`), { method: "POST", key: alice });
			expect(res.status).toBe(200);
			const dep = await live<V1Deployment>("Deployment", "apps/v1", name);
			expect(dep?.spec?.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBe(res.body.restartedAt);
			await eventually(async () => {
				const rs = await kube().list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace: nsName, labelSelector: `berth.dev/id=${id}` });
				expect(rs.length).toBeGreaterThan(rsBefore.length);
				const d = await live<V1Deployment>("Deployment", "apps/v1", name);
				expect(d?.status).toMatchObject({ updatedReplicas: 1, readyReplicas: 1, replicas: 1 });
			});
		});

		it("answers top with 501 METRICS_UNAVAILABLE (the local cluster has no metrics API)", async () => {
			const res = await request(api(`/${id}/top`), { key: alice });
			expect(res.status).toBe(501);
			expect(res.body).toMatchObject({ code: 501, type: "METRICS_UNAVAILABLE" });
		});

		it("updates vHosts and files, and the cluster follows", async () => {
			const res = await request(api(`/${id}`), { method: "PATCH", key: alice, body: { vHosts: [`www.${nsName}.apps.berth.test`], configMap: { name: "site", data: { "site.conf": "server { listen 8080; }" } } } });
			expect(res.status).toBe(200);
			expect((await live<V1Ingress>("Ingress", "networking.k8s.io/v1", name))?.spec?.rules?.map(r => r.host)).toEqual([`www.${nsName}.apps.berth.test`]);
			expect((await live<V1ConfigMap>("ConfigMap", "v1", `${name}-site`))?.data).toEqual({ "site.conf": "server { listen 8080; }" });
		});

		it("generates manifests without applying them, shows and re-applies its own", async () => {
			const gen = await request(api("/generate"), { method: "POST", key: alice, body: { name: "preview", namespace: nsName, image: "php-8-1-0-fpm" } });
			expect(gen.status).toBe(200);
			// php-fpm's port is `expose: "cluster"` (FastCGI, not HTTP): no Ingress.
			expect(gen.body.manifests.map((m: { kind: string }) => m.kind)).toEqual(["Service", "Deployment"]);
			expect(await live("Deployment", "apps/v1", "preview")).toBeUndefined();
			const own = await request(api(`/${id}/manifests`), { key: alice });
			const dep = own.body.manifests.find((m: { kind: string }) => m.kind === "Deployment");
			expect(dep.spec.template.metadata.annotations["berth.dev/env-checksum"]).toBe((await live<V1Deployment>("Deployment", "apps/v1", name))?.spec?.template.metadata?.annotations?.["berth.dev/env-checksum"]);
			const applied = await request(api(`/${id}/apply`), { method: "POST", key: alice });
			expect(applied.status).toBe(200);
			expect(applied.body.applied).toEqual([
				{ kind: "ConfigMap", name: `${name}-site` },
				{ kind: "Service", name: `${name}-service` },
				{ kind: "Deployment", name },
				{ kind: "Ingress", name },
			]);
		});

		it("leaves the cluster as applied: every manifest is in the live objects, so a resync sends nothing", async () => {
			const { manifests } = (await request(api(`/${id}/manifests`), { key: alice })).body as { manifests: Array<{ kind: string; apiVersion: string; metadata: { name: string } }> };
			expect(manifests.length).toBeGreaterThanOrEqual(4);
			for (const m of manifests) {
				const obj = await kube().get({ apiVersion: m.apiVersion, kind: m.kind, name: m.metadata.name, namespace: nsName });
				expect([m.kind, containsDesired(bodyOf(m), obj)]).toEqual([m.kind, true]);
			}
		});

		it("is invisible to another tenant", async () => {
			for (const path of ["", "/status", "/state", "/pods", "/logs", "/events", "/top", "/manifests"]) expect((await request(api(`/${id}${path}`), { key: bob })).status).toBe(404);
			expect((await request(api(`/${id}/scale`), { method: "POST", key: bob, body: { replicas: 3 } })).status).toBe(404);
			expect((await request(api(`/${id}`), { method: "DELETE", key: bob })).status).toBe(404);
			expect((await request(api("/"), { key: bob })).body).toEqual([]);
			expect((await live<V1Deployment>("Deployment", "apps/v1", name))?.spec?.replicas).toBe(1);
		});

		it("removes every generated object", async () => {
			const res = await request(api(`/${id}`), { method: "DELETE", key: alice });
			expect(res.status).toBe(200);
			for (const [kind, apiVersion, n] of [
				["Deployment", "apps/v1", name],
				["Service", "v1", `${name}-service`],
				["Ingress", "networking.k8s.io/v1", name],
				["ConfigMap", "v1", `${name}-site`],
				["ConfigMap", "v1", `${name}-env`],
				["Secret", "v1", `${name}-env`],
			])
				expect(await live(kind, apiVersion, n)).toBeUndefined();
			expect((await request(api(`/${id}`), { key: alice })).status).toBe(404);
			expect((await request(`${mesh.url}/api/v1/k8s/envs?namespace=${nsName}`, { key: alice })).body).toEqual([]);
		});
	});

	it("lists in pages, oldest first, with the total in X-Total-Count", async () => {
		const names = ["page-a", "page-b", "page-c"];
		const ids: string[] = [];
		for (const name of names) {
			const res = await request(api("/"), { method: "POST", key: alice, body: { name, namespace: nsName, image: "nginx", replicas: 0 } });
			expect(res.status).toBe(201);
			ids.push(res.body.id);
		}
		const all = await request(api(`/?namespace=${nsName}`), { key: alice });
		expect(all.body.map((d: { name: string }) => d.name)).toEqual(names);
		const first = await request(api(`/?namespace=${nsName}&limit=2`), { key: alice });
		expect(first.status).toBe(200);
		expect(first.headers.get("x-total-count")).toBe("3");
		expect(first.body.map((d: { name: string }) => d.name)).toEqual(["page-a", "page-b"]);
		const second = await request(api(`/?namespace=${nsName}&limit=2&offset=2`), { key: alice });
		expect(second.body.map((d: { name: string }) => d.name)).toEqual(["page-c"]);
		expect((await request(api(`/?namespace=${nsName}&offset=5`), { key: alice })).body).toEqual([]);
		const bobs = await request(api("/?limit=10"), { key: bob });
		expect([bobs.body, bobs.headers.get("x-total-count")]).toEqual([[], "0"]);
		for (const query of ["limit=0", "limit=1001", "limit=two", "offset=-1"]) {
			const bad = await request(api(`/?namespace=${nsName}&${query}`), { key: alice });
			expect(bad.status).toBe(422);
			expect(bad.body.data.map((e: { field: string }) => e.field)).toContain(query.split("=")[0]);
		}
		for (const id of ids) expect((await request(api(`/${id}`), { method: "DELETE", key: alice })).status).toBe(200);
	});

	it("creates with createDeployment, the seed's action, on the mesh and on REST as create does", async () => {
		const me = (await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { key: alice })).body.owner as string;
		const viaMesh = await mesh.broker.call<{ id: string; name: string; namespace: string; owner: string }, object>("v1.k8s.deployments.createDeployment", { name: "seed-mesh", namespace: nsId, image: "nginx" }, { meta: { userID: me } });
		expect(viaMesh).toMatchObject({ name: "seed-mesh", namespace: nsId, owner: me });
		const viaRest = await request(api("/createDeployment"), { method: "POST", key: alice, body: { name: "seed-rest", namespace: nsName, image: "nginx" } });
		expect(viaRest.status).toBe(201);
		expect(viaRest.headers.get("location")).toBe(`/api/v1/k8s/deployments/${viaRest.body.id}`);
		expect(viaRest.body).toMatchObject({ name: "seed-rest", namespaceName: nsName, replicas: 1 });
		for (const dep of ["seed-mesh", "seed-rest"]) await eventually(async () => expect((await live<V1Deployment>("Deployment", "apps/v1", dep))?.metadata?.name).toBe(dep));
		// The same params and checks as create: a duplicate is a 409, a missing image a 422.
		expect((await request(api("/createDeployment"), { method: "POST", key: alice, body: { name: "seed-rest", namespace: nsName, image: "nginx" } })).status).toBe(409);
		expect((await request(api("/createDeployment"), { method: "POST", key: alice, body: { name: "seed-x", namespace: nsName } })).status).toBe(422);
		expect((await request(api("/createDeployment"), { method: "POST", key: bob, body: { name: "seed-y", namespace: nsName, image: "nginx" } })).status).toBe(422);
		for (const id of [viaMesh.id, viaRest.body.id]) expect((await request(api(`/${id}`), { method: "DELETE", key: alice })).status).toBe(200);
	});

	describe("bad input", () => {
		const cases: [string, Record<string, unknown>, string][] = [
			["an invalid name", { name: "Web_1", image: "nginx" }, "name"],
			["a name too long for its Service", { name: `a${"b".repeat(60)}`, image: "nginx" }, "name"],
			["negative replicas", { name: "x", image: "nginx", replicas: -2 }, "replicas"],
			["an unknown image", { name: "x", image: "no-such-image" }, "image"],
			["another tenant's or a missing namespace", { name: "x", image: "nginx", namespace: "no-such-ns" }, "namespace"],
			["a malformed host", { name: "x", image: "nginx", vHosts: ["bad host"] }, "vHosts[0]"],
			["a volume of an unknown type", { name: "x", image: "nginx", volumes: [{ name: "v", type: "hostPath", mountPath: "/data" }] }, "volumes[0].type"],
			["a relative mount path", { name: "x", image: "nginx", volumes: [{ name: "v", type: "emptyDir", mountPath: "data" }] }, "volumes[0].mountPath"],
			["a claim that does not exist", { name: "x", image: "nginx", volumes: [{ name: "v", type: "persistentVolumeClaim", mountPath: "/d", persistentVolumeClaim: { claimName: "missing" } }] }, "volumes[0].persistentVolumeClaim.claimName"],
			["a malformed quantity", { name: "x", image: "nginx", resources: { limits: { memory: "a lot" } } }, "resources.limits.memory"],
			["a configMap without data", { name: "x", image: "nginx", configMap: { name: "c" } }, "configMap.data"],
			["an invalid env key", { name: "x", image: "nginx", env: [{ key: "NOT-VALID", value: "1" }] }, "env[0].key"],
		];

		it.each(cases)("refuses %s with 422 naming the field, and creates nothing", async (_what, body, field) => {
			const res = await request(api("/"), { method: "POST", key: alice, body: { namespace: nsName, ...body } });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
			expect(res.body.data.map((e: { field: string }) => e.field)).toContain(field);
			expect(await kube().list(Kinds.Deployment, { namespace: nsName, labelSelector: "app.kubernetes.io/managed-by=berth" })).toEqual([]);
		});

		it("refuses malformed JSON and unknown ids with 4xx", async () => {
			expect((await request(api("/"), { method: "POST", key: alice, body: "{not json" })).status).toBe(400);
			expect((await request(api("/0123456789abcdef01234567/status"), { key: alice })).status).toBe(404);
			expect((await request(api("/nope/scale"), { method: "POST", key: alice, body: { replicas: "many" } })).status).toBe(422);
		});

		it("refuses a deployment the namespace's quota cannot hold, with the reason, and creates nothing", async () => {
			// php asks for 500m of cpu limit a pod; 5 of them do not fit into 2 cores.
			const res = await request(api("/"), { method: "POST", key: alice, body: { name: "too-big", namespace: nsName, image: "php-8-1-0-fpm", replicas: 5 } });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ type: "QUOTA_EXCEEDED", data: { namespace: nsName, shortfalls: expect.arrayContaining([expect.objectContaining({ resource: "limits.cpu" })]) } });
			expect(res.body.message).toMatch(/limits\.cpu/);
			expect(await live("Deployment", "apps/v1", "too-big")).toBeUndefined();
			expect(await live("Service", "v1", "too-big-service")).toBeUndefined();
			expect((await request(api("/"), { key: alice })).body.map((d: { name: string }) => d.name)).not.toContain("too-big");
		});

		it("refuses a duplicate name with 409", async () => {
			const first = await request(api("/"), { method: "POST", key: alice, body: { name: "dup", namespace: nsName, image: "redis" } });
			expect(first.status).toBe(201);
			const second = await request(api("/"), { method: "POST", key: alice, body: { name: "dup", namespace: nsName, image: "nginx" } });
			expect(second.status).toBe(409);
			expect(second.body.type).toBe("CONFLICT");
			expect((await live<V1Deployment>("Deployment", "apps/v1", "dup"))?.spec?.template.spec?.containers[0].image).toMatch(/^redis/);
			expect((await request(api(`/${first.body.id}`), { method: "DELETE", key: alice })).status).toBe(200);
		});
	});
});
