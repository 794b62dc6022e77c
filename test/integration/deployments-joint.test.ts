import { randomBytes } from "node:crypto";
import { Kinds, type KubernetesObject, type V1Deployment, type V1Pod, type V1Service, type V1ServiceAccount } from "../../lib/k8s";
import { envBackends } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";

/**
 * What a managed deployment gains for joint management, through REST against the real control
 * plane: ConfigMap and Secret mounts, a NodePort with the assigned port reported back, and a
 * ServiceAccount of its own or shared in the namespace. Adoption carries mounts and the account over.
 */
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.inventory"];

describe.each(envBackends)("joint management of v1.k8s.deployments against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let nsName: string;
	let nsId: string;
	const secretValue = `s3cr3t-${randomBytes(12).toString("hex")}`;
	/** Every answer of the suite, checked at the end for the Secret's value. */
	const answers: string[] = [];
	const api = (path: string) => `${mesh.url}/api/v1/k8s/deployments${path}`;
	const call = async (url: string, init: Parameters<typeof request>[1] = {}): Promise<HttpResult<any>> => {
		const res = await request(url, { key: alice, ...init });
		answers.push(res.text);
		return res;
	};
	const create = (body: Record<string, unknown>) => call(api("/"), { method: "POST", body: { namespace: nsName, image: "nginx", ...body } });
	const get = <T extends KubernetesObject>(kind: string, apiVersion: string, name: string) => kube().get<T>({ apiVersion, kind, name, namespace: nsName });
	const deployment = (name: string) => get<V1Deployment>("Deployment", "apps/v1", name);
	const service = (name: string) => get<V1Service>("Service", "v1", `${name}-service`);
	const account = (name: string) => get<V1ServiceAccount>("ServiceAccount", "v1", name);
	const runningPod = async (name: string) => {
		const pods = (await kube().list<V1Pod>(Kinds.Pod, { namespace: nsName, labelSelector: `app.kubernetes.io/name=${name}` })).filter(p => !p.metadata?.deletionTimestamp);
		expect(pods.length).toBeGreaterThan(0);
		expect(pods[0].status?.phase).toBe("Running");
		return pods[0];
	};
	/** A node port nothing else in the cluster uses (the default range is 30000-32767). */
	const freeNodePort = async () => {
		const used = new Set((await kube().list<V1Service>(Kinds.Service)).flatMap(s => (s.spec?.ports ?? []).map(p => p.nodePort)));
		for (;;) {
			const port = 30000 + Math.floor(Math.random() * 2700);
			if (!used.has(port)) return port;
		}
	};

	beforeAll(async () => {
		useBackend();
		mesh = await startMesh(SERVICES);
		const userID = uniqueName("alice");
		alice = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } })).body.key as string;
		nsName = uniqueName("it-joint-dep");
		const ns = await call(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", body: { name: nsName, quota: { cpu: "4", memory: "4Gi", pods: 20 } } });
		expect(ns.status).toBe(201);
		nsId = ns.body.id;
		// Made outside Berth, as a team would: Berth mounts them, it does not own them.
		await kube().apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app-config", namespace: nsName }, data: { "a.conf": "a=1", "b.conf": "b=2" } });
		await kube().apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "app-secret", namespace: nsName }, stringData: { token: secretValue } } as KubernetesObject);
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	describe("a deployment with mounts, a NodePort and its own ServiceAccount", () => {
		let id: string;
		let nodePort: number;

		beforeAll(async () => {
			const res = await create({
				name: "api",
				mounts: [
					{ type: "configMap", name: "app-config", mountPath: "/etc/app" },
					{ type: "configMap", name: "app-config", mountPath: "/etc/only-b.conf", subPath: "b.conf" },
					{ type: "secret", name: "app-secret", mountPath: "/run/secrets/token", subPath: "token", readOnly: true },
				],
				nodePorts: [{ port: "http" }],
				serviceAccount: { automountToken: false },
			});
			expect(res.status).toBe(201);
			id = res.body.id;
			expect(res.body).toMatchObject({ name: "api", nodePorts: [{ port: "http" }], serviceAccount: { automountToken: false } });
			expect(res.body.mounts).toHaveLength(3);
			// Kubernetes assigned the port; the create's answer already reports it.
			expect(res.body.status.nodePorts).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort: expect.any(Number) }]);
			nodePort = res.body.status.nodePorts[0].nodePort;
			expect(nodePort).toBeGreaterThanOrEqual(30000);
		});

		it("lands in the cluster as specified", async () => {
			const pod = (await deployment("api"))?.spec?.template.spec;
			expect(pod?.serviceAccountName).toBe("api");
			expect(pod?.automountServiceAccountToken).toBe(false);
			expect(pod?.volumes).toEqual([
				expect.objectContaining({ name: "cm-app-config", configMap: expect.objectContaining({ name: "app-config" }) }),
				expect.objectContaining({ name: "secret-app-secret", secret: expect.objectContaining({ secretName: "app-secret" }) }),
			]);
			expect(pod?.containers[0].volumeMounts).toEqual([
				{ name: "cm-app-config", mountPath: "/etc/app", readOnly: true },
				{ name: "cm-app-config", mountPath: "/etc/only-b.conf", subPath: "b.conf", readOnly: true },
				{ name: "secret-app-secret", mountPath: "/run/secrets/token", subPath: "token", readOnly: true },
			]);
			expect((await account("api"))?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": id });
			const svc = await service("api");
			expect(svc?.spec?.type).toBe("NodePort");
			expect(svc?.spec?.ports).toEqual([expect.objectContaining({ name: "http", port: 80, nodePort })]);
			await eventually(async () => {
				const p = await runningPod("api");
				expect(p.spec?.serviceAccountName).toBe("api");
				expect(p.spec?.containers[0].volumeMounts?.map(m => m.mountPath)).toEqual(expect.arrayContaining(["/etc/app", "/etc/only-b.conf", "/run/secrets/token"]));
			});
		});

		it("reports the assigned node port in its status, and keeps it across applies and changes", async () => {
			const status = await call(api(`/${id}/status`));
			expect(status.body.nodePorts).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort }]);
			expect((await call(api(`/${id}/apply`), { method: "POST" })).status).toBe(200);
			const scaled = await call(api(`/${id}/scale`), { method: "POST", body: { replicas: 2 } });
			expect(scaled.body.status.nodePorts).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort }]);
			expect((await service("api"))?.spec?.ports?.[0].nodePort).toBe(nodePort);
			expect((await call(api(`/${id}`))).body.status.nodePorts).toEqual(status.body.nodePorts);
		});

		it("shows and generates the ServiceAccount first, the mounts by name", async () => {
			const own = await call(api(`/${id}/manifests`));
			expect(own.body.manifests.map((m: KubernetesObject) => m.kind)).toEqual(["ServiceAccount", "Service", "Deployment", "Ingress"]);
			const gen = await call(api("/generate"), {
				method: "POST",
				body: { name: "preview", namespace: nsName, image: "nginx", mounts: [{ type: "secret", name: "app-secret", mountPath: "/s" }], nodePorts: [{ port: 80 }], serviceAccount: { name: "team", shared: true } },
			});
			expect(gen.status).toBe(200);
			expect(gen.body.manifests.map((m: KubernetesObject) => m.kind)).toEqual(["ServiceAccount", "Service", "Deployment", "Ingress"]);
			expect(gen.body.manifests[0].metadata).toMatchObject({ name: "team", labels: { "app.kubernetes.io/component": "serviceaccount" } });
			expect(await deployment("preview")).toBeUndefined();
			expect(await account("team")).toBeUndefined();
		});

		it("keeps its account its own: another deployment may not take that name", async () => {
			const res = await create({ name: "intruder", serviceAccount: { name: "api" } });
			expect(res.status).toBe(422);
			expect(res.body.data).toContainEqual(expect.objectContaining({ field: "serviceAccount.name" }));
			expect(await deployment("intruder")).toBeUndefined();
		});

		it("goes back to a plain deployment when the fields are cleared, and removes its account with it", async () => {
			const cleared = await call(api(`/${id}`), { method: "PATCH", body: { mounts: [], nodePorts: [], serviceAccount: null } });
			expect(cleared.status).toBe(200);
			expect(cleared.body).toMatchObject({ mounts: [], nodePorts: [] });
			expect(cleared.body.serviceAccount).toBeUndefined();
			expect(cleared.body.status.nodePorts).toBeUndefined();
			const svc = await service("api");
			expect(svc?.spec?.type).toBe("ClusterIP");
			expect(svc?.spec?.ports?.[0].nodePort).toBeUndefined();
			const pod = (await deployment("api"))?.spec?.template.spec;
			expect(pod?.volumes).toBeUndefined();
			expect(pod?.serviceAccountName ?? "default").toBe("default");
			expect(await account("api")).toBeUndefined();

			// And back: the account is created again; removing the deployment removes it.
			expect((await call(api(`/${id}`), { method: "PATCH", body: { serviceAccount: {} } })).status).toBe(200);
			expect((await account("api"))?.metadata?.labels?.["berth.dev/id"]).toBe(id);
			expect((await call(api(`/${id}`), { method: "DELETE" })).status).toBe(200);
			expect(await account("api")).toBeUndefined();
			expect(await deployment("api")).toBeUndefined();
		});
	});

	describe("a ServiceAccount shared in the namespace", () => {
		let a: string;
		let b: string;
		let fixed: number;

		beforeAll(async () => {
			fixed = await freeNodePort();
			const first = await create({ name: "shared-a", nodePorts: [{ port: 80, nodePort: fixed }], serviceAccount: { name: "team", shared: true } });
			const second = await create({ name: "shared-b", serviceAccount: { name: "team", shared: true } });
			expect([first.status, second.status]).toEqual([201, 201]);
			a = first.body.id;
			b = second.body.id;
			expect(first.body.status.nodePorts).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort: fixed }]);
		});

		it("is one account, without any deployment's id, that both deployments' pods run as", async () => {
			const accounts = (await kube().list<V1ServiceAccount>(Kinds.ServiceAccount, { namespace: nsName })).filter(x => x.metadata?.name === "team");
			expect(accounts).toHaveLength(1);
			expect(accounts[0].metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "serviceaccount" });
			expect(accounts[0].metadata?.labels?.["berth.dev/id"]).toBeUndefined();
			expect((await service("shared-a"))?.spec?.ports?.[0].nodePort).toBe(fixed);
			await eventually(async () => {
				for (const name of ["shared-a", "shared-b"]) expect((await runningPod(name)).spec?.serviceAccountName).toBe("team");
			});
		});

		it("refuses the fixed node port to another deployment with 422 on the field", async () => {
			const res = await create({ name: "taken", nodePorts: [{ port: 80, nodePort: fixed }] });
			expect(res.status).toBe(422);
			expect(res.body.data).toContainEqual(expect.objectContaining({ field: "nodePorts[0].nodePort" }));
			expect(await deployment("taken")).toBeUndefined();
		});

		it("cannot be taken as a deployment's own account", async () => {
			const res = await create({ name: "solo", serviceAccount: { name: "team" } });
			expect(res.status).toBe(422);
			expect(res.body.data).toContainEqual(expect.objectContaining({ field: "serviceAccount.name" }));
		});

		it("stays when the deployments using it change or go", async () => {
			const changed = await call(api(`/${a}`), { method: "PATCH", body: { serviceAccount: null, nodePorts: [] } });
			expect(changed.status).toBe(200);
			expect((await deployment("shared-a"))?.spec?.template.spec?.serviceAccountName ?? "default").toBe("default");
			expect((await service("shared-a"))?.spec?.type).toBe("ClusterIP");
			expect(await account("team")).toBeDefined();
			for (const id of [a, b]) expect((await call(api(`/${id}`), { method: "DELETE" })).status).toBe(200);
			expect(await deployment("shared-b")).toBeUndefined();
			expect(await account("team")).toBeDefined();
		});
	});

	describe("bad input", () => {
		const cases: [string, Record<string, unknown>, string][] = [
			["a mount of a ConfigMap that does not exist", { mounts: [{ type: "configMap", name: "no-such-config", mountPath: "/etc/x" }] }, "mounts[0].name"],
			["a mount of a Secret that does not exist", { mounts: [{ type: "secret", name: "app-config", mountPath: "/etc/x" }] }, "mounts[0].name"],
			["a subPath out of the object", { mounts: [{ type: "configMap", name: "app-config", mountPath: "/etc/x", subPath: "../a.conf" }] }, "mounts[0].subPath"],
			["a mount path used twice", { mounts: [{ type: "configMap", name: "app-config", mountPath: "/etc/x" }, { type: "secret", name: "app-secret", mountPath: "/etc/x" }] }, "mounts[1].mountPath"],
			["a node port outside the apiserver's range", { nodePorts: [{ port: 80, nodePort: 80 }] }, "nodePorts[0].nodePort"],
			["a node port that is no port", { nodePorts: [{ port: 80, nodePort: 70000 }] }, "nodePorts[0].nodePort"],
			["a node port for a port the deployment does not have", { nodePorts: [{ port: "metrics" }] }, "nodePorts[0].port"],
			["a shared account without a name", { serviceAccount: { shared: true } }, "serviceAccount.name"],
			["the namespace's default account", { serviceAccount: { name: "default" } }, "serviceAccount.name"],
		];

		let n = 0;
		it.each(cases)("refuses %s with 422 naming the field, and creates nothing", async (_what, body, field) => {
			const name = `bad-${++n}`;
			const res = await create({ name, ...body });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
			expect(res.body.data.map((e: { field: string }) => e.field)).toContain(field);
			expect(await deployment(name)).toBeUndefined();
			expect(await service(name)).toBeUndefined();
			expect(await account(name)).toBeUndefined();
			expect((await call(api(`/?namespace=${nsName}`))).body.map((d: { name: string }) => d.name)).not.toContain(name);
		});

		it("accepts an optional mount of an object that does not exist yet", async () => {
			const res = await create({ name: "later", mounts: [{ type: "secret", name: "not-yet", mountPath: "/etc/later", optional: true }] });
			expect(res.status).toBe(201);
			expect((await deployment("later"))?.spec?.template.spec?.volumes).toEqual([expect.objectContaining({ secret: expect.objectContaining({ secretName: "not-yet", optional: true }) })]);
			expect((await call(api(`/${res.body.id}`), { method: "DELETE" })).status).toBe(200);
		});
	});

	describe("adoption", () => {
		it("carries an external Deployment's mounts and ServiceAccount over", async () => {
			await kube().apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "legacy-bot", namespace: nsName } });
			await kube().apply(
				legacyDeployment({
					metadata: { namespace: nsName },
					replicas: 1,
					pod: {
						serviceAccountName: "legacy-bot",
						containers: [
							legacyServer({
								volumeMounts: [
									{ name: "conf", mountPath: "/etc/legacy" },
									{ name: "token", mountPath: "/run/token", subPath: "token" },
								],
							}),
						],
						volumes: [
							{ name: "conf", configMap: { name: "app-config" } },
							{ name: "token", secret: { secretName: "app-secret" } },
						],
					},
				}),
			);
			const adopt = (confirm: boolean) => call(`${mesh.url}/api/v1/k8s/inventory/adopt`, { method: "POST", body: { namespace: nsName, name: "legacy", confirm } });
			const plan = await adopt(false);
			expect(plan.status).toBe(200);
			expect(plan.body.spec).toMatchObject({
				mounts: [
					{ type: "configMap", name: "app-config", mountPath: "/etc/legacy", readOnly: true },
					{ type: "secret", name: "app-secret", mountPath: "/run/token", subPath: "token", readOnly: true },
				],
				serviceAccount: { name: "legacy-bot", shared: true },
			});
			expect(plan.body.notes.map((n: { field: string }) => n.field)).not.toEqual(expect.arrayContaining(["mounts"]));
			expect(plan.body.notes.map((n: { field: string }) => n.field)).not.toEqual(expect.arrayContaining(["serviceAccount"]));

			const done = await adopt(true);
			expect(done.status).toBe(201);
			const id = done.body.deployment.id;
			expect(done.body.deployment).toMatchObject({ mounts: plan.body.spec.mounts, serviceAccount: { name: "legacy-bot", shared: true } });
			const managed = await deployment("legacy");
			expect(managed?.metadata?.labels).toMatchObject({ "berth.dev/id": id });
			expect(managed?.spec?.template.spec?.serviceAccountName).toBe("legacy-bot");
			expect(managed?.spec?.template.spec?.containers[0].volumeMounts).toEqual([
				{ name: "cm-app-config", mountPath: "/etc/legacy", readOnly: true },
				{ name: "secret-app-secret", mountPath: "/run/token", subPath: "token", readOnly: true },
			]);
			expect((await call(api(`/${id}`), { method: "DELETE" })).status).toBe(200);
			// The account was the namespace's before Berth came: it stays.
			expect(await account("legacy-bot")).toBeDefined();
		});
	});

	it("never answers with the Secret's value", () => {
		expect(answers.length).toBeGreaterThan(20);
		const all = answers.join("\n");
		expect(all).not.toContain(secretValue);
		expect(all).not.toContain(Buffer.from(secretValue).toString("base64"));
	});
});
