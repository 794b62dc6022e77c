import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import type { ServiceSchema } from "moleculer";
import type { V1ConfigMap, V1Deployment, V1Pod, V1ReplicaSet, V1Secret, V1Service } from "../../lib/k8s";
import { Kinds } from "../../lib/k8s";
import InventoryService from "../../services/k8s.inventory.service";
import { kube, readClusterEnv, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const KUBECTL = process.env.KUBECTL || path.join(os.homedir(), ".cache", "berth", "kubernetes-v1.36.3", "bin", "kubectl");

/** kubectl as a person would run it, behind Berth's back; `input` is piped to stdin (`-f -`). */
function kubectl(args: string[], input?: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = execFile(KUBECTL, args, { env: { ...readClusterEnv(), ...process.env } }, (err, stdout, stderr) =>
			err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
		);
		if (input !== undefined) child.stdin?.end(input);
	});
}

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.inventory"];
/** How soon a change in the cluster must show in the inventory. */
const SECONDS = { timeoutMs: 10_000, intervalMs: 100 };

describe("v1.k8s.inventory against the real control plane", () => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let nsA: string;
	let nsAId: string;
	let nsB: string;
	let nsBId: string;
	const inv = (p: string) => `${mesh.url}/api/v1/k8s/inventory${p}`;
	const get = (p: string, key: string) => request(inv(p), { key });

	beforeAll(async () => {
		mesh = await startMesh(SERVICES);
		const keyFor = async (userID: string) => (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } })).body.key as string;
		alice = await keyFor(uniqueName("alice"));
		bob = await keyFor(uniqueName("bob"));
		nsA = uniqueName("it-inv-a");
		nsB = uniqueName("it-inv-b");
		const a = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: nsA, quota: { cpu: "4", memory: "4Gi", pods: 20 } } });
		const b = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: bob, body: { name: nsB } });
		expect([a.status, b.status]).toEqual([201, 201]);
		nsAId = a.body.id;
		nsBId = b.body.id;
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsAId}`, { method: "DELETE", key: alice });
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsBId}`, { method: "DELETE", key: bob });
		await mesh.stop();
	});

	describe("objects made with kubectl", () => {
		const password = `pw-${randomBytes(12).toString("hex")}`;

		it("appear within seconds with their details, and disappear when deleted", async () => {
			const started = Date.now();
			await kubectl(["create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=80", "-n", nsA]);
			await kubectl(["expose", "deployment", "web", "--type=NodePort", "--port=80", "-n", nsA]);
			await kubectl(["create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=3", "-n", nsA]);
			// `apply` keeps the whole object, values included, in an annotation: that must not leak either.
			await kubectl(["apply", "-n", nsA, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds" }, stringData: { password, user: "admin" } }));
			await kubectl(["create", "serviceaccount", "robot", "-n", nsA]);

			const dep = await eventually(async () => {
				const res = await get(`/deployments/${nsA}/web`, alice);
				expect(res.status).toBe(200);
				expect(res.body).toMatchObject({ kind: "Deployment", name: "web", namespace: nsA, provenance: "external", images: ["nginx:1.27"], replicas: { desired: 2, ready: 2, available: 2 } });
				return res.body;
			}, SECONDS);
			const seenAfter = Date.now() - started;
			expect(dep.entity).toBeUndefined();

			const pods = await eventually(async () => {
				const res = await get(`/pods?namespace=${nsA}&label=app=web`, alice);
				expect(res.body.total).toBe(2);
				for (const pod of res.body.items) expect(pod).toMatchObject({ phase: "Running", ready: true, podIP: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), node: expect.any(String), images: ["nginx:1.27"] });
				return res.body.items;
			}, SECONDS);
			const livePod = await kube().get<V1Pod>({ apiVersion: "v1", kind: "Pod", name: pods[0].name, namespace: nsA });
			expect(pods[0]).toMatchObject({ podIP: livePod?.status?.podIP, node: livePod?.spec?.nodeName, provenance: "external" });
			expect(pods[0].owners).toEqual([{ kind: "ReplicaSet", name: expect.stringMatching(/^web-/) }, { kind: "Deployment", name: "web" }]);
			const rs = await get(`/replicasets/${nsA}/${pods[0].owners[0].name}`, alice);
			expect(rs.body).toMatchObject({ kind: "ReplicaSet", owners: [{ kind: "Deployment", name: "web" }], replicas: { desired: 2 } });
			const controllers = await get(`/controllers?namespace=${nsA}&name=web`, alice);
			expect(controllers.body.items.map((c: { kind: string }) => c.kind).sort()).toEqual(["Deployment", "ReplicaSet"]);

			const liveSvc = await kube().get<V1Service>({ apiVersion: "v1", kind: "Service", name: "web", namespace: nsA });
			const svc = await eventually(async () => (await get(`/services/${nsA}/web`, alice)).body, SECONDS);
			expect(svc).toMatchObject({ type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 80, protocol: "TCP", nodePort: liveSvc?.spec?.ports?.[0].nodePort }] });
			expect(svc.ports[0].nodePort).toBeGreaterThanOrEqual(30000);

			expect((await eventually(async () => (await get(`/configmaps/${nsA}/settings`, alice)).body, SECONDS)).keys).toEqual(["level", "mode"]);
			expect((await eventually(async () => (await get(`/serviceaccounts/${nsA}/robot`, alice)).body, SECONDS)).provenance).toBe("external");

			const secret = await eventually(async () => {
				const res = await get(`/secrets/${nsA}/creds`, alice);
				expect(res.status).toBe(200);
				return res;
			}, SECONDS);
			expect(secret.body).toMatchObject({ kind: "Secret", type: "Opaque", keys: ["password", "user"] });
			const secretList = await get(`/secrets?namespace=${nsA}`, alice);
			const adminList = await get(`/secrets?limit=1000`, mesh.adminKey);
			for (const text of [secret.text, secretList.text, adminList.text]) {
				expect(text).not.toContain(password);
				expect(text).not.toContain(Buffer.from(password).toString("base64"));
			}

			const summary = await get(`/namespaces/${nsA}`, alice);
			expect(summary.body).toMatchObject({ name: nsA, provenance: "berth", phase: "Active", counts: { deployments: 1, pods: 2, configmaps: expect.any(Number), secrets: 1, serviceaccounts: 2 } });
			console.log(`[inventory] kubectl-made Deployment with 2 ready pods visible after ${seenAfter} ms`);

			await kubectl(["delete", "deployment", "web", "-n", nsA, "--wait=false"]);
			await kubectl(["delete", "service", "web", "-n", nsA]);
			await kubectl(["delete", "configmap", "settings", "-n", nsA]);
			await kubectl(["delete", "secret", "creds", "-n", nsA]);
			await kubectl(["delete", "serviceaccount", "robot", "-n", nsA]);
			await eventually(async () => {
				for (const p of [`/deployments/${nsA}/web`, `/services/${nsA}/web`, `/configmaps/${nsA}/settings`, `/secrets/${nsA}/creds`, `/serviceaccounts/${nsA}/robot`]) expect((await get(p, alice)).status).toBe(404);
			}, SECONDS);
			await eventually(async () => expect((await get(`/pods?namespace=${nsA}&label=app=web`, alice)).body.total).toBe(0), { timeoutMs: 30_000 });
		});

		it("pages through a kind and filters by name, label and provenance", async () => {
			for (let i = 0; i < 7; i++)
				await kube().apply<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `page-${i}`, namespace: nsA, labels: { batch: i % 2 ? "odd" : "even" } }, data: { n: String(i) } });
			await eventually(async () => expect((await get(`/configmaps?namespace=${nsA}&label=batch`, alice)).body.total).toBe(7), SECONDS);
			const first = await get(`/configmaps?namespace=${nsA}&label=batch&limit=3`, alice);
			expect(first.body).toMatchObject({ total: 7, offset: 0, limit: 3 });
			expect(first.body.items.map((c: { name: string }) => c.name)).toEqual(["page-0", "page-1", "page-2"]);
			const last = await get(`/configmaps?namespace=${nsA}&label=batch&limit=3&offset=6`, alice);
			expect(last.body.items.map((c: { name: string }) => c.name)).toEqual(["page-6"]);
			expect((await get(`/configmaps?namespace=${nsA}&label=batch=odd`, alice)).body.total).toBe(3);
			expect((await get(`/configmaps?namespace=${nsA}&label=batch in (odd),batch!=even`, alice)).body.total).toBe(3);
			expect((await get(`/configmaps?namespace=${nsA}&name=page-4`, alice)).body.items).toEqual([expect.objectContaining({ name: "page-4", keys: ["n"] })]);
			expect((await get(`/configmaps?namespace=${nsA}&label=batch&provenance=berth`, alice)).body.total).toBe(0);

			const bad = await get(`/configmaps?namespace=${nsA}&label=${encodeURIComponent("batch in odd")}`, alice);
			expect(bad.status).toBe(422);
			expect(bad.body).toMatchObject({ type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "label" })] });
			expect((await get(`/gizmos`, alice)).status).toBe(422);
			expect((await get(`/configmaps?limit=0`, alice)).status).toBe(422);
		});

		it("relists without duplicates when the service restarts", async () => {
			const before = (await get(`/configmaps?namespace=${nsA}&limit=1000`, alice)).body;
			const broker = mesh.broker;
			await broker.destroyService(broker.getLocalService("v1.k8s.inventory") as never);
			broker.createService(InventoryService as unknown as ServiceSchema);
			await broker.waitForServices(["v1.k8s.inventory"]);
			const after = await eventually(async () => {
				const res = await get(`/configmaps?namespace=${nsA}&limit=1000`, alice);
				expect(res.status).toBe(200);
				return res.body;
			}, SECONDS);
			const names = after.items.map((c: { name: string }) => c.name);
			expect(new Set(names).size).toBe(names.length);
			expect(names).toEqual(before.items.map((c: { name: string }) => c.name));
			expect(after.total).toBe(before.total);
		});
	});

	describe("provenance", () => {
		it("marks what Berth made as berth, with its entity, and everything else as external", async () => {
			const res = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: alice, body: { name: "site", namespace: nsA, image: "nginx" } });
			expect(res.status).toBe(201);
			const id = res.body.id;
			await kubectl(["create", "deployment", "handmade", "--image=nginx:1.27", "-n", nsA]);
			await eventually(async () => {
				const deps = (await get(`/deployments?namespace=${nsA}`, alice)).body.items;
				expect(deps).toEqual(
					expect.arrayContaining([
						expect.objectContaining({ name: "site", provenance: "berth", entity: { kind: "deployment", id } }),
						expect.objectContaining({ name: "handmade", provenance: "external" }),
					]),
				);
				const pods = (await get(`/pods?namespace=${nsA}&label=app.kubernetes.io/name=site`, alice)).body.items;
				expect(pods).toEqual([expect.objectContaining({ provenance: "berth", entity: { kind: "deployment", id }, owners: [expect.objectContaining({ kind: "ReplicaSet" }), { kind: "Deployment", name: "site" }] })]);
			}, SECONDS);
			const external = (await get(`/deployments?namespace=${nsA}&provenance=external`, alice)).body.items.map((d: { name: string }) => d.name);
			expect(external).toContain("handmade");
			expect(external).not.toContain("site");
			expect((await get(`/services/${nsA}/site-service`, alice)).body).toMatchObject({ provenance: "berth", type: "ClusterIP" });
			await request(`${mesh.url}/api/v1/k8s/deployments/${id}`, { method: "DELETE", key: alice });
			await kubectl(["delete", "deployment", "handmade", "-n", nsA]);
		});
	});

	describe("tenancy", () => {
		it("shows another tenant's namespace to no one but its members and administrators", async () => {
			await kube().apply<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b-only", namespace: nsB }, data: { k: "v" } });
			await eventually(async () => expect((await get(`/configmaps/${nsB}/b-only`, bob)).status).toBe(200), SECONDS);

			for (const p of [`/configmaps?namespace=${nsB}`, `/configmaps/${nsB}/b-only`, `/namespaces/${nsB}`, `/configmaps/${nsB}/no-such-map`]) {
				const res = await get(p, alice);
				expect(res.status).toBe(404);
				expect(res.body.type).toBe("NOT_FOUND");
			}
			// The answer for another tenant's namespace is the one for a namespace that does not exist.
			expect((await get(`/configmaps?namespace=${nsB}`, alice)).body.message).toBe((await get(`/configmaps?namespace=no-such-ns-${randomBytes(3).toString("hex")}`, alice)).body.message);
			const everything = (await get(`/configmaps?limit=1000`, alice)).body.items as { namespace: string }[];
			expect(everything.length).toBeGreaterThan(0);
			expect(new Set(everything.map(c => c.namespace))).toEqual(new Set([nsA]));
			expect((await get(`/namespaces`, alice)).body.items.map((n: { name: string }) => n.name)).toEqual([nsA]);
			const adopt = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsB, name: "anything" } });
			expect(adopt.status).toBe(404);

			const admin = (await get(`/namespaces?limit=1000`, mesh.adminKey)).body.items.map((n: { name: string }) => n.name);
			expect(admin).toEqual(expect.arrayContaining([nsA, nsB, "default"]));
			expect((await get(`/configmaps/${nsB}/b-only`, mesh.adminKey)).status).toBe(200);
			const summary = await get("/", alice);
			expect(summary.body).toMatchObject({ synced: true, counts: { namespaces: 1 } });
		});

		it("needs an API key, and is described in the OpenAPI document", async () => {
			expect((await request(inv("/pods"))).status).toBe(401);
			const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
			expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/v1/k8s/inventory/{kind}", "/api/v1/k8s/inventory/{kind}/{namespace}/{name}", "/api/v1/k8s/inventory/adopt"]));
			expect(JSON.stringify(doc.paths["/api/v1/k8s/inventory/{kind}"])).toContain("serviceaccounts");
		});
	});

	describe("adoption", () => {
		const secretValue = `s3cr3t-${randomBytes(10).toString("hex")}`;
		let live: V1Deployment;

		beforeAll(async () => {
			await kubectl(["create", "secret", "generic", "legacy-db", `--from-literal=password=${secretValue}`, "-n", nsA]);
			await kubectl(["create", "configmap", "legacy-conf", "--from-literal=app.ini=debug=false", "-n", nsA]);
			const manifest = legacyDeployment({
				metadata: { labels: { app: "legacy", team: "ops" } },
				replicas: 2,
				pod: {
					containers: [
						legacyServer({
							env: [
								{ name: "MODE", value: "fast" },
								{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "legacy-db", key: "password" } } },
								{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
							],
							resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
							volumeMounts: [
								{ name: "scratch", mountPath: "/scratch" },
								{ name: "conf", mountPath: "/etc/legacy", readOnly: true },
							],
						}),
					],
					volumes: [
						{ name: "scratch", emptyDir: {} },
						{ name: "conf", configMap: { name: "legacy-conf" } },
					],
				},
			});
			await kubectl(["create", "-n", nsA, "-f", "-"], JSON.stringify(manifest));
			await kubectl(["expose", "deployment", "legacy", "--port=80", "-n", nsA]);
			live = await eventually(async () => {
				const dep = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "legacy", namespace: nsA });
				expect(dep?.status?.availableReplicas).toBe(2);
				return dep as V1Deployment;
			});
			await eventually(async () => expect((await get(`/deployments/${nsA}/legacy`, alice)).body.replicas?.available).toBe(2), SECONDS);
		});

		it("shows what it would do without changing anything", async () => {
			const res = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsA, name: "legacy" } });
			expect(res.status).toBe(200);
			expect(res.text).not.toContain(secretValue);
			expect(res.text).not.toContain(Buffer.from(secretValue).toString("base64"));
			const plan = res.body;
			expect(plan).toMatchObject({ namespace: nsA, name: "legacy", confirmed: false, image: { name: "nginx" } });
			expect(plan.spec).toMatchObject({
				name: "legacy",
				image: "nginx",
				replicas: 2,
				ports: [{ name: "http", port: 80, protocol: "TCP" }],
				volumes: [{ name: "scratch", type: "emptyDir", mountPath: "/scratch" }],
				resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
			});
			expect(plan.spec.env).toEqual([
				{ key: "MODE", type: "as-is", value: "fast" },
				{ key: "DB_PASSWORD", type: "secret", from: { kind: "Secret", name: "legacy-db", key: "password" } },
			]);
			const paths = plan.diff.map((c: { path: string }) => c.path);
			expect(plan.diff).toContainEqual({ path: 'spec.selector.matchLabels["app.kubernetes.io/name"]', desired: "legacy" });
			expect(plan.diff).toContainEqual({ path: "spec.selector.matchLabels.app", live: "legacy" });
			expect(paths).toContain("spec.template.spec.containers.server");
			expect(paths).toContain("spec.template.spec.containers.legacy");
			expect(plan.objects).toContainEqual({ kind: "Service", name: "legacy-service", exists: false });
			const noteFields = plan.notes.map((n: { field: string }) => n.field);
			expect(noteFields).toEqual(expect.arrayContaining(["env[POD_IP]", "Service/legacy"]));

			// Nothing changed in the cluster.
			const now = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "legacy", namespace: nsA });
			expect(now?.metadata?.resourceVersion).toBe(live.metadata?.resourceVersion);
			expect(now?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
		});

		it("is for the namespace's owner and administrators only", async () => {
			const other = await request(inv("/adopt"), { method: "POST", key: bob, body: { namespace: nsA, name: "legacy" } });
			expect(other.status).toBe(404);
			const missing = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsA, name: "no-such-deployment" } });
			expect(missing.status).toBe(404);
			const admin = await request(inv("/adopt"), { method: "POST", key: mesh.adminKey, body: { namespace: nsA, name: "legacy" } });
			expect(admin.status).toBe(200);
		});

		it("refuses an image outside the catalog unless one is named", async () => {
			await kubectl(["create", "deployment", "oddball", "--image=registry.example/oddball:7", "-n", nsA]);
			const refused = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsA, name: "oddball" } });
			expect(refused.status).toBe(422);
			expect(refused.body.data).toEqual([expect.objectContaining({ field: "image", actual: "registry.example/oddball:7" })]);
			const named = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsA, name: "oddball", image: "nginx" } });
			expect(named.status).toBe(200);
			expect(named.body.diff).toContainEqual(expect.objectContaining({ path: "spec.template.spec.containers.oddball.image", live: "registry.example/oddball:7" }));
			await kubectl(["delete", "deployment", "oddball", "-n", nsA]);
		});

		it("on confirmation turns it into a managed, reconciled deployment without dropping its pods first", async () => {
			const oldPods = (await get(`/pods?namespace=${nsA}&label=app=legacy`, alice)).body.items.map((p: { name: string }) => p.name);
			expect(oldPods).toHaveLength(2);
			const res = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsA, name: "legacy", confirm: true } });
			expect(res.status).toBe(201);
			expect(res.text).not.toContain(secretValue);
			expect(res.body).toMatchObject({ confirmed: true, deployment: { name: "legacy", namespace: nsAId, replicas: 2, image: expect.any(String) } });
			const id = res.body.deployment.id;
			expect(res.headers.get("location")).toBe(`/api/v1/k8s/deployments/${id}`);

			// Managed from now on: Berth's labels, Berth's selector, the env in Berth's objects.
			const managed = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "legacy", namespace: nsA });
			expect(managed?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": id });
			expect(managed?.spec?.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "legacy", "app.kubernetes.io/instance": "legacy" });
			const container = managed?.spec?.template.spec?.containers[0];
			expect(container).toMatchObject({ image: "nginx:1.27", resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } } });
			expect(container?.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ name: "scratch", mountPath: "/scratch" })]));
			const envSecret = await kube().get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: "legacy-env", namespace: nsA });
			expect(Buffer.from(envSecret?.data?.DB_PASSWORD ?? "", "base64").toString()).toBe(secretValue);
			const envMap = await kube().get<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", name: "legacy-env", namespace: nsA });
			expect(envMap?.data).toEqual({ MODE: "fast" });

			// The old pods were still there when the new Deployment was created; they go once Berth's are up.
			await eventually(async () => {
				const pods = (await get(`/pods?namespace=${nsA}&label=app.kubernetes.io/name=legacy`, alice)).body.items;
				expect(pods).toHaveLength(2);
				for (const pod of pods) expect(pod).toMatchObject({ provenance: "berth", ready: true, entity: { kind: "deployment", id } });
				expect((await get(`/pods?namespace=${nsA}&label=app=legacy`, alice)).body.total).toBe(0);
				const replicaSets = await kube().list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace: nsA });
				expect(replicaSets.filter(rs => rs.metadata?.labels?.app === "legacy")).toEqual([]);
			}, { timeoutMs: 60_000, intervalMs: 250 });
			await eventually(async () => expect((await get(`/deployments/${nsA}/legacy`, alice)).body).toMatchObject({ provenance: "berth", entity: { id }, replicas: { desired: 2, available: 2 } }), SECONDS);

			// Reconciled: drift made with kubectl is undone.
			await kubectl(["scale", "deployment", "legacy", "--replicas=4", "-n", nsA]);
			await eventually(async () => {
				const dep = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "legacy", namespace: nsA });
				expect(dep?.spec?.replicas).toBe(2);
			}, { timeoutMs: 30_000 });

			const again = await request(inv("/adopt"), { method: "POST", key: alice, body: { namespace: nsA, name: "legacy" } });
			expect(again.status).toBe(409);
			await request(`${mesh.url}/api/v1/k8s/deployments/${id}`, { method: "DELETE", key: alice });
		});
	});
});
