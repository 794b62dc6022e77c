import { EventEmitter } from "node:events";
import { PassThrough, type Writable } from "node:stream";
import { Errors, ServiceBroker } from "moleculer";
import {
	setKubeClient,
	type KubeClient,
	type KubernetesObject,
	type ObjectRef,
	type ResourceKind,
	type V1ConfigMap,
	type V1Deployment,
	type V1Ingress,
	type V1Secret,
	type V1Service,
	type V1ServiceAccount,
	type WatchEvent,
	type WatchHandler,
} from "../../lib/k8s";
import { ANNOTATION_ENV_CHECKSUM, ANNOTATION_RESTARTED_AT, type DeploymentEntity } from "../../lib/manifests/deployment";
import { MASK, type EnvEntity } from "../../lib/api/envs";
import { parseSince } from "../../lib/deployments/checks";
import DeploymentsService from "../../services/k8s.deployments.service";
import EnvsService from "../../services/k8s.envs.service";
import ImagesService from "../../services/k8s.images.service";
import NamespacesService from "../../services/k8s.namespaces.service";
import { setLeaderElector, type LeaderElector } from "../../lib/leader";
import { eventually } from "../helpers/eventually";

import { FakeKube, startDeploymentsNode, type Obj } from "../helpers/fake-kube";

// ---------------------------------------------------------------------------------------------

const alice = { meta: { userID: "alice" } };
const bob = { meta: { userID: "bob" } };

async function rejects(p: Promise<unknown>): Promise<Errors.MoleculerError & { data?: any }> {
	try {
		await p;
	} catch (err) {
		return err as Errors.MoleculerError;
	}
	throw new Error("expected a rejection");
}

describe("v1.k8s.deployments and v1.k8s.envs (Kubernetes stubbed)", () => {
	let kube: FakeKube;
	let broker: ServiceBroker;
	let ns: { id: string; name: string };
	let claim: string;

	beforeAll(async () => {
		process.env.BASE_DOMAIN = "apps.test";
		kube = new FakeKube();
		broker = await startDeploymentsNode(kube);
		ns = await broker.call("v1.k8s.namespaces.create", { name: "team-a", quota: { cpu: "2", memory: "2Gi", pods: 10 } }, alice);
		// The seed's host and the test's are outside team-a.apps.test: an admin grants them.
		await broker.call("v1.k8s.namespaces.grantDomain", { id: ns.id, domain: "example.com" }, { meta: { userID: "root", roles: ["admin"] } });
		claim = "shared-data";
		await kube.apply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: claim, namespace: "team-a" }, spec: {} } as Obj);
	});
	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	const svc = (name: string) => kube.peek<V1Service>("Service", `${name}-service`, "team-a");
	const dep = (name: string) => kube.peek<V1Deployment>("Deployment", name, "team-a");

	describe("the seed's php-fpm + nginx example", () => {
		let php: DeploymentEntity;
		let nginx: DeploymentEntity;

		beforeAll(async () => {
			const phpImage = await broker.call<{ id: string }, object>("v1.k8s.images.resolveName", { name: "php-8-1-0-fpm" }, alice);
			const nginxImage = await broker.call<{ id: string }, object>("v1.k8s.images.resolveName", { name: "nginx" }, alice);
			php = await broker.call("v1.k8s.deployments.create", { name: "my-app-php", namespace: ns.id, image: phpImage.id, volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: claim } }] }, alice);
			nginx = await broker.call(
				"v1.k8s.deployments.create",
				{
					name: "my-app-nginx",
					namespace: ns.id,
					image: nginxImage.id,
					vHosts: ["my-app.nginx.example.com"],
					volumes: [{ name: "nginx-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: claim } }],
					configMap: { name: "nginx-config", data: { "default.conf": "server { fastcgi_pass my-app-php-service.team-a.svc.cluster.local:9000; }" } },
				},
				alice,
			);
		});

		it("stores the entities with their owner, namespace and a Running status", async () => {
			expect(php).toMatchObject({ name: "my-app-php", namespace: ns.id, namespaceName: "team-a", owner: "alice", replicas: 1, status: { phase: "Running" } });
			expect(php).not.toHaveProperty("footprint");
			expect(nginx.configMap?.name).toBe("nginx-config");
		});

		it("generates the Deployments, Services, Ingresses and the nginx ConfigMap", () => {
			expect(svc("my-app-php")?.spec?.ports).toEqual([{ name: "php", port: 9000, targetPort: 9000, protocol: "TCP" }]);
			expect(svc("my-app-nginx")?.spec?.ports?.[0]).toMatchObject({ port: 80 });
			expect(kube.peek<V1Ingress>("Ingress", "my-app-nginx", "team-a")?.spec?.rules?.map(r => r.host)).toEqual(["my-app.nginx.example.com"]);
			// php-fpm speaks FastCGI, not HTTP: its catalog port is `expose: "cluster"`, so no Ingress.
			expect(kube.peek<V1Ingress>("Ingress", "my-app-php", "team-a")).toBeUndefined();
			const files = kube.peek<V1ConfigMap>("ConfigMap", "my-app-nginx-nginx-config", "team-a");
			expect(files?.data?.["default.conf"]).toContain("my-app-php-service.team-a.svc.cluster.local:9000");
			const nginxPod = dep("my-app-nginx")!.spec!.template.spec!;
			expect(nginxPod.containers[0].volumeMounts).toEqual(expect.arrayContaining([{ name: "nginx-data", mountPath: "/var/www/html" }, { name: "nginx-config", mountPath: "/etc/nginx/conf.d", readOnly: true }]));
			expect(nginxPod.volumes).toContainEqual({ name: "nginx-data", persistentVolumeClaim: { claimName: claim } });
			expect(dep("my-app-php")!.spec!.template.spec!.containers[0].resources).toEqual({ limits: { cpu: "500m", memory: "500Mi" }, requests: { cpu: "100m", memory: "20Mi" } });
		});

		it("creates the image's declared secret with a strong random value, kept in a Secret and never shown", async () => {
			const secret = kube.peek<V1Secret>("Secret", "my-app-php-env", "team-a");
			const value = Buffer.from(secret!.data!.PHP_ROOT_PASSWORD, "base64").toString();
			expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
			const list = await broker.call<EnvEntity[], object>("v1.k8s.envs.list", { namespace: "team-a", deployment: "my-app-php" }, alice);
			expect(list).toEqual([expect.objectContaining({ key: "PHP_ROOT_PASSWORD", type: "secret", value: MASK })]);
			expect(JSON.stringify(list)).not.toContain(value);
			expect(JSON.stringify(await broker.call("v1.k8s.envs.get", { id: list[0].id }, alice))).not.toContain(value);
			expect(await broker.call("v1.k8s.envs.pack", { namespace: "team-a", deployment: "my-app-php" }, alice)).toEqual({ PHP_ROOT_PASSWORD: MASK });
			expect(await broker.call("v1.k8s.envs.pack", { namespace: "team-a", deployment: "my-app-php", reveal: true }, alice)).toEqual({ PHP_ROOT_PASSWORD: value });
			// the pod template carries a checksum of the env objects
			expect(dep("my-app-php")!.spec!.template.metadata!.annotations![ANNOTATION_ENV_CHECKSUM]).toMatch(/^[0-9a-f]{32}$/);
		});

		it("answers status, state, pods, logs, a follow stream and events", async () => {
			const status = await broker.call<any, object>("v1.k8s.deployments.status", { id: php.id }, alice);
			expect(status).toMatchObject({ id: php.id, phase: "Running", replicas: 1, readyReplicas: 1, hosts: ["my-app-php.team-a.apps.test"] });
			const state = await broker.call<any, object>("v1.k8s.deployments.state", { id: php.id }, alice);
			expect(state.pods).toEqual([expect.objectContaining({ phase: "Running", ready: true, containers: [expect.objectContaining({ name: "my-app-php", state: "running" })] })]);
			const pods = await broker.call<any[], object>("v1.k8s.deployments.pods", { id: php.id }, alice);
			expect(pods).toHaveLength(1);
			const logs = await broker.call<any[], object>("v1.k8s.deployments.logs", { id: php.id, tail: 2 }, alice);
			expect(logs).toEqual([{ pod: pods[0].name, container: "my-app-php", log: `${pods[0].name} two\n${pods[0].name} three\n` }]);
			const stream = await broker.call<PassThrough, object>("v1.k8s.deployments.logs", { id: php.id, follow: true }, alice);
			let text = "";
			for await (const chunk of stream) text += chunk.toString();
			expect(text).toBe(`${pods[0].name} first\n${pods[0].name} second\n`);
			expect(await broker.call("v1.k8s.deployments.events", { id: php.id }, alice)).toEqual([]);
		});

		it("stops following, and aborts the apiserver streams, when the reader goes away", async () => {
			kube.followForever = true;
			try {
				const stream = await broker.call<PassThrough, object>("v1.k8s.deployments.logs", { id: nginx.id, follow: true }, alice);
				const first = await new Promise<string>(resolve => stream.once("data", (c: Buffer) => resolve(c.toString())));
				expect(first).toMatch(/tick\n$/);
				stream.destroy();
				// an unhandled AbortError would fail the test run here
				await new Promise(r => setTimeout(r, 50));
				expect(stream.destroyed).toBe(true);
			} finally {
				kube.followForever = false;
			}
		});

		it("answers top with 501 METRICS_UNAVAILABLE when the metrics API is missing", async () => {
			const err = await rejects(broker.call("v1.k8s.deployments.top", { id: php.id }, alice));
			expect(err).toMatchObject({ code: 501, type: "METRICS_UNAVAILABLE" });
		});

		it("hides a deployment from other tenants as 404", async () => {
			for (const action of ["get", "status", "pods", "logs", "scale", "restart", "remove"]) {
				const err = await rejects(broker.call(`v1.k8s.deployments.${action}`, { id: php.id, ...(action === "scale" ? { replicas: 2 } : {}) }, bob));
				expect(err).toMatchObject({ code: 404 });
			}
			expect(await broker.call("v1.k8s.deployments.list", {}, bob)).toEqual([]);
			const err = await rejects(broker.call("v1.k8s.envs.pack", { namespace: ns.id, deployment: php.id }, bob));
			expect(err.code).toBe(422);
		});
	});

	describe("changes converge", () => {
		let d: DeploymentEntity;
		beforeAll(async () => {
			d = await broker.call("v1.k8s.deployments.create", { name: "conv", namespace: "team-a", image: "nginx", configMap: { name: "cfg", data: { "a.conf": "a" } } }, alice);
		});

		it("scales", async () => {
			// Two pods of 500m fill the namespace's 2 cores with the other deployments' 1000m: a third would not fit.
			const scaled = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.scale", { id: d.id, replicas: 2 }, alice);
			expect(scaled.replicas).toBe(2);
			expect(dep("conv")?.spec?.replicas).toBe(2);
			expect(await broker.call<any[], object>("v1.k8s.deployments.pods", { id: d.id }, alice)).toHaveLength(2);
			await broker.call("v1.k8s.deployments.scale", { id: d.id, replicas: 1 }, alice);
		});

		it("restarts by annotating the pod template", async () => {
			const restarted = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.restart", { id: d.id }, alice);
			expect(dep("conv")?.spec?.template.metadata?.annotations?.[ANNOTATION_RESTARTED_AT]).toBe(restarted.restartedAt);
		});

		it("rolls the pods when an env changes, and writes plain values to the ConfigMap", async () => {
			const before = dep("conv")!.spec!.template.metadata!.annotations![ANNOTATION_ENV_CHECKSUM];
			const env = await broker.call<EnvEntity, object>("v1.k8s.envs.create", { namespace: "team-a", deployment: "conv", key: "GREETING", value: "hello" }, alice);
			expect(env).toMatchObject({ key: "GREETING", value: "hello", type: "as-is" });
			expect(kube.peek<V1ConfigMap>("ConfigMap", "conv-env", "team-a")?.data).toEqual({ GREETING: "hello" });
			await eventually(() => expect(dep("conv")!.spec!.template.metadata!.annotations![ANNOTATION_ENV_CHECKSUM]).not.toBe(before), { timeoutMs: 3000 });
			const mid = dep("conv")!.spec!.template.metadata!.annotations![ANNOTATION_ENV_CHECKSUM];
			await broker.call("v1.k8s.envs.update", { id: env.id, value: "bye", type: "secret" }, alice);
			expect(kube.peek<V1ConfigMap>("ConfigMap", "conv-env", "team-a")?.data ?? {}).toEqual({});
			expect(kube.peek<V1Secret>("Secret", "conv-env", "team-a")?.data).toEqual({ GREETING: Buffer.from("bye").toString("base64") });
			await eventually(() => expect(dep("conv")!.spec!.template.metadata!.annotations![ANNOTATION_ENV_CHECKSUM]).not.toBe(mid), { timeoutMs: 3000 });
			const duplicate = await rejects(broker.call("v1.k8s.envs.create", { namespace: "team-a", deployment: "conv", key: "GREETING", value: "x" }, alice));
			expect(duplicate.code).toBe(409);
		});

		it("rewrites changed config files and prunes a removed ConfigMap", async () => {
			await broker.call("v1.k8s.deployments.update", { id: d.id, configMap: { name: "cfg", data: { "a.conf": "b" } } }, alice);
			expect(kube.peek<V1ConfigMap>("ConfigMap", "conv-cfg", "team-a")?.data).toEqual({ "a.conf": "b" });
			await broker.call("v1.k8s.deployments.update", { id: d.id, configMap: null }, alice);
			expect(kube.peek("ConfigMap", "conv-cfg", "team-a")).toBeUndefined();
			expect(dep("conv")!.spec!.template.spec!.volumes).toBeUndefined();
		});

		it("restores a deleted Service, ConfigMap and env Secret (drift)", async () => {
			await broker.call("v1.k8s.deployments.update", { id: d.id, configMap: { name: "cfg", data: { "a.conf": "c" } } }, alice);
			await kube.drift("Service", "conv-service", "team-a");
			await kube.drift("ConfigMap", "conv-cfg", "team-a");
			await kube.drift("Secret", "conv-env", "team-a");
			await eventually(() => {
				expect(svc("conv")).toBeDefined();
				expect(kube.peek<V1ConfigMap>("ConfigMap", "conv-cfg", "team-a")?.data).toEqual({ "a.conf": "c" });
				expect(kube.peek<V1Secret>("Secret", "conv-env", "team-a")?.data?.GREETING).toBeDefined();
			}, { timeoutMs: 3000 });
		});

		it("heals a deletion the watches missed at the next periodic resync", async () => {
			kube.forget("Service", "conv-service", "team-a");
			expect(svc("conv")).toBeUndefined();
			await eventually(() => expect(svc("conv")).toBeDefined(), { timeoutMs: 5000 });
		});

		it("re-applies on demand and regenerates the same manifests", async () => {
			const applied = await broker.call<any, object>("v1.k8s.deployments.apply", { id: d.id }, alice);
			expect(applied.applied.map((a: { kind: string }) => a.kind)).toEqual(["ConfigMap", "Service", "Deployment", "Ingress"]);
			const { manifests } = await broker.call<any, object>("v1.k8s.deployments.manifests", { id: d.id }, alice);
			expect(manifests.find((m: Obj) => m.kind === "Deployment").spec).toEqual(dep("conv")!.spec);
		});

		it("removes every generated object, its envs and the entity", async () => {
			await broker.call("v1.k8s.deployments.remove", { id: d.id }, alice);
			for (const [kind, name] of [["Deployment", "conv"], ["Service", "conv-service"], ["Ingress", "conv"], ["ConfigMap", "conv-cfg"], ["ConfigMap", "conv-env"], ["Secret", "conv-env"]]) expect(kube.peek(kind, name, "team-a")).toBeUndefined();
			expect(kube.all("Pod", "team-a").filter(p => p.metadata?.name?.startsWith("conv-"))).toEqual([]);
			expect((await rejects(broker.call("v1.k8s.deployments.get", { id: d.id }, alice))).code).toBe(404);
			expect(await broker.call("v1.k8s.envs.list", { namespace: "team-a" }, alice)).toEqual(expect.not.arrayContaining([expect.objectContaining({ deployment: d.id })]));
		});
	});

	describe("bad input is refused with the field, and nothing is half-applied", () => {
		const count = () => kube.applies.length;

		it.each([
			[{ name: "Bad_Name", namespace: "team-a", image: "nginx" }, "name"],
			[{ name: "9starts-with-digit", namespace: "team-a", image: "nginx" }, "name"],
			[{ name: "ok", namespace: "team-a", image: "nginx", replicas: -1 }, "replicas"],
			[{ name: "ok", namespace: "team-a", image: "nginx", vHosts: ["not a host"] }, "vHosts[0]"],
			[{ name: "ok", namespace: "team-a", image: "nginx", volumes: [{ name: "v", type: "nfs", mountPath: "/x" }] }, "volumes[0].type"],
			[{ name: "ok", namespace: "team-a", image: "nginx", volumes: [{ name: "v", type: "persistentVolumeClaim", mountPath: "/x" }] }, "volumes[0].persistentVolumeClaim.claimName"],
			[{ name: "ok", namespace: "team-a", image: "nginx", volumes: [{ name: "v", type: "persistentVolumeClaim", mountPath: "/x", persistentVolumeClaim: { claimName: "nope" } }] }, "volumes[0].persistentVolumeClaim.claimName"],
			[{ name: "ok", namespace: "team-a", image: "nginx", configMap: { name: "c", data: { "bad/key": "x" } } }, "configMap.data"],
			[{ name: "ok", namespace: "team-a", image: "nginx", resources: { limits: { cpu: "lots" } } }, "resources.limits.cpu"],
			[{ name: "ok", namespace: "team-a", image: "nginx", ports: [{ port: 70000 }] }, "ports[0].port"],
			[{ name: "ok", namespace: "team-a", image: "no-such-image" }, "image"],
			[{ name: "ok", namespace: "no-such-namespace", image: "nginx" }, "namespace"],
			[{ name: "ok", namespace: "team-a", image: "nginx", vHosts: ["x.other-ns.apps.test"] }, "vHosts[0]"],
			[{ name: "ok", namespace: "team-a", image: "nginx", vHosts: ["ungranted.example.org"] }, "vHosts[0]"],
			[{ name: "ok", namespace: "team-a", image: "nginx", vHosts: ["*.example.com"] }, "vHosts[0]"],
			[{ name: "ok", namespace: "team-a", image: "nginx", env: [{ key: "1BAD", value: "x" }] }, "env[0].key"],
		])("%j → 422 on %s", async (params, field) => {
			const before = count();
			const err = await rejects(broker.call("v1.k8s.deployments.create", params, alice));
			expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
			expect((err.data as { field: string }[]).map(e => e.field.replace(/^configMap\.data\..*/, "configMap.data"))).toContain(field);
			expect(count()).toBe(before);
		});

		it("refuses another tenant's namespace as if it did not exist", async () => {
			const err = await rejects(broker.call("v1.k8s.deployments.create", { name: "ok", namespace: "team-a", image: "nginx" }, bob));
			expect(err).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "namespace" })] });
		});

		it("refuses a duplicate name and a host another deployment serves with 409", async () => {
			await broker.call("v1.k8s.deployments.create", { name: "dup", namespace: "team-a", image: "nginx", vHosts: ["dup.example.com"] }, alice);
			expect(await rejects(broker.call("v1.k8s.deployments.create", { name: "dup", namespace: "team-a", image: "nginx" }, alice))).toMatchObject({ code: 409 });
			expect(await rejects(broker.call("v1.k8s.deployments.create", { name: "dup2", namespace: "team-a", image: "nginx", vHosts: ["dup.example.com"] }, alice))).toMatchObject({ code: 409, type: "HOST_TAKEN", data: { field: "vHosts" } });
		});

		it("refuses a host that an Ingress Berth did not make serves, exactly or by a wildcard rule, with 409 HOST_TAKEN", async () => {
			const rule = (host: string) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "x", port: { number: 80 } } } }] } });
			await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "elsewhere" } } as Obj);
			await kube.apply({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "theirs", namespace: "elsewhere" }, spec: { rules: [rule("ext.example.com"), rule("*.wild.example.com")] } } as Obj);
			for (const host of ["ext.example.com", "a.wild.example.com"])
				expect(await rejects(broker.call("v1.k8s.deployments.create", { name: "taker", namespace: "team-a", image: "nginx", vHosts: [host] }, alice))).toMatchObject({ code: 409, type: "HOST_TAKEN", data: { field: "vHosts", host } });
			const free = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.create", { name: "taker", namespace: "team-a", image: "nginx", vHosts: ["b.a.wild.example.com"] }, alice);
			expect(free.vHosts).toEqual(["b.a.wild.example.com"]);
			await broker.call("v1.k8s.deployments.remove", { id: free.id }, alice);
		});

		it("refuses what the quota cannot hold, with the reason, and applies nothing", async () => {
			const before = count();
			// php asks 500m cpu limit a pod; the namespace allows 2 cores in all
			const err = await rejects(broker.call("v1.k8s.deployments.create", { name: "big", namespace: "team-a", image: "php-8-1-0-fpm", replicas: 5 }, alice));
			expect(err).toMatchObject({ code: 422, type: "QUOTA_EXCEEDED" });
			expect(err.message).toContain("limits.cpu");
			expect(err.data.shortfalls).toEqual(expect.arrayContaining([expect.objectContaining({ resource: "limits.cpu" })]));
			expect(count()).toBe(before);
			expect((await broker.call<DeploymentEntity[], object>("v1.k8s.deployments.list", {}, alice)).map(x => x.name)).not.toContain("big");
		});

		it("refuses a scale beyond the quota and keeps the replicas", async () => {
			const small = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.create", { name: "small", namespace: "team-a", image: "php-8-1-0-fpm" }, alice);
			const err = await rejects(broker.call("v1.k8s.deployments.scale", { id: small.id, replicas: 50 }, alice));
			expect(err).toMatchObject({ code: 422, type: "QUOTA_EXCEEDED" });
			expect(dep("small")?.spec?.replicas).toBe(1);
			expect((await broker.call<DeploymentEntity, object>("v1.k8s.deployments.get", { id: small.id }, alice)).replicas).toBe(1);
			await broker.call("v1.k8s.deployments.remove", { id: small.id }, alice);
		});

		it("validates logs and env params", async () => {
			const [any] = await broker.call<DeploymentEntity[], object>("v1.k8s.deployments.list", {}, alice);
			expect(await rejects(broker.call("v1.k8s.deployments.logs", { id: any.id, since: "yesterday" }, alice))).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "since" })] });
			expect(await rejects(broker.call("v1.k8s.deployments.logs", { id: any.id, container: "other" }, alice))).toMatchObject({ code: 422 });
			expect(await rejects(broker.call("v1.k8s.deployments.logs", { id: any.id, pod: "not-its-pod" }, alice))).toMatchObject({ code: 404 });
			expect(await rejects(broker.call("v1.k8s.envs.create", { namespace: "team-a", deployment: any.id, key: "A-B", value: "x" }, alice))).toMatchObject({ code: 422 });
			expect(await rejects(broker.call("v1.k8s.envs.create", { namespace: "team-a", deployment: "nope", key: "A", value: "x" }, alice))).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "deployment" })] });
		});
	});

	describe("joint management: ConfigMap and Secret mounts, node ports, service accounts", () => {
		// Small pods: the namespace's 2 cores are mostly taken by the deployments above.
		const small = { limits: { cpu: 100, memory: 64 }, requests: { cpu: 10, memory: 16 } };
		const account = (name: string) => kube.peek<V1ServiceAccount>("ServiceAccount", name, "team-a");
		const create = (params: Record<string, unknown>) => broker.call<DeploymentEntity, object>("v1.k8s.deployments.create", { namespace: "team-a", image: "nginx", resources: small, ...params }, alice);

		beforeAll(async () => {
			await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "site", namespace: "team-a" }, data: { "a.conf": "a", "b.conf": "b" } } as Obj);
			await kube.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "tls", namespace: "team-a" }, data: { "tls.key": Buffer.from("private").toString("base64") } } as Obj);
		});

		it("mounts, exposes a node port that status reports, and runs the pods as the deployment's own account", async () => {
			const d = await create({
				name: "jt",
				mounts: [
					{ type: "configMap", name: "site", mountPath: "/etc/site" },
					{ type: "configMap", name: "site", mountPath: "/etc/b.conf", subPath: "b.conf" },
					{ type: "secret", name: "tls", mountPath: "/tls", readOnly: true },
				],
				nodePorts: [{ port: "http" }],
				serviceAccount: { automountToken: false },
			});
			expect(d).toMatchObject({ mounts: [expect.objectContaining({ name: "site" }), expect.objectContaining({ subPath: "b.conf" }), expect.objectContaining({ type: "secret" })], nodePorts: [{ port: "http" }], serviceAccount: { automountToken: false } });
			const assigned = svc("jt")?.spec?.ports?.[0].nodePort;
			expect(svc("jt")?.spec?.type).toBe("NodePort");
			expect(d.status?.nodePorts).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort: assigned }]);
			expect((await broker.call<any, object>("v1.k8s.deployments.status", { id: d.id }, alice)).nodePorts).toEqual(d.status?.nodePorts);
			expect(account("jt")?.metadata?.labels).toMatchObject({ "berth.dev/id": d.id });
			const pod = dep("jt")!.spec!.template.spec!;
			expect(pod).toMatchObject({ serviceAccountName: "jt", automountServiceAccountToken: false });
			expect(pod.volumes).toEqual([
				{ name: "cm-site", configMap: { name: "site" } },
				{ name: "secret-tls", secret: { secretName: "tls" } },
			]);
			expect(pod.containers[0].volumeMounts).toEqual([
				{ name: "cm-site", mountPath: "/etc/site", readOnly: true },
				{ name: "cm-site", mountPath: "/etc/b.conf", subPath: "b.conf", readOnly: true },
				{ name: "secret-tls", mountPath: "/tls", readOnly: true },
			]);
			// The account is applied before the pods that need it.
			const kinds = kube.applies.filter(o => o.metadata?.name === "jt" || o.metadata?.name === "jt-service").map(o => o.kind);
			expect(kinds.indexOf("ServiceAccount")).toBeLessThan(kinds.indexOf("Deployment"));
			const { manifests } = await broker.call<{ manifests: Obj[] }, object>("v1.k8s.deployments.manifests", { id: d.id }, alice);
			expect(manifests.map(m => m.kind)).toEqual(["ServiceAccount", "Service", "Deployment", "Ingress"]);
			expect(JSON.stringify([d, manifests])).not.toContain(Buffer.from("private").toString("base64"));
		});

		it("keeps the assigned node port across updates, and drops all three when cleared", async () => {
			const [d] = (await broker.call<DeploymentEntity[], object>("v1.k8s.deployments.list", {}, alice)).filter(x => x.name === "jt");
			const assigned = d.status?.nodePorts?.[0].nodePort;
			const scaled = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.scale", { id: d.id, replicas: 2 }, alice);
			expect(scaled.status?.nodePorts?.[0].nodePort).toBe(assigned);
			const cleared = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.update", { id: d.id, mounts: [], nodePorts: [], serviceAccount: null }, alice);
			expect(cleared).toMatchObject({ mounts: [], nodePorts: [] });
			expect(cleared).not.toHaveProperty("serviceAccount");
			expect(cleared.status).not.toHaveProperty("nodePorts");
			expect(svc("jt")?.spec?.type).toBe("ClusterIP");
			expect(svc("jt")?.spec?.ports?.[0]).not.toHaveProperty("nodePort");
			expect(account("jt")).toBeUndefined();
			expect(dep("jt")!.spec!.template.spec).not.toHaveProperty("volumes");
			expect(dep("jt")!.spec!.template.spec).not.toHaveProperty("serviceAccountName");
			await broker.call("v1.k8s.deployments.remove", { id: d.id }, alice);
		});

		it("shares one account between deployments and never removes it with one", async () => {
			const a = await create({ name: "sh-a", nodePorts: [{ port: 80, nodePort: 30555 }], serviceAccount: { name: "team", shared: true } });
			const b = await create({ name: "sh-b", serviceAccount: { name: "team", shared: true } });
			expect(a.status?.nodePorts).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort: 30555 }]);
			expect(account("team")?.metadata?.labels).toMatchObject({ "app.kubernetes.io/component": "serviceaccount" });
			expect(account("team")?.metadata?.labels).not.toHaveProperty("berth.dev/id");
			for (const name of ["sh-a", "sh-b"]) expect(dep(name)!.spec!.template.spec!.serviceAccountName).toBe("team");
			// Another deployment's own account of that name is refused, and so is taking a shared one as one's own.
			expect(await rejects(create({ name: "sh-c", serviceAccount: { name: "team" } }))).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "serviceAccount.name" })] });
			await broker.call("v1.k8s.deployments.remove", { id: a.id }, alice);
			await broker.call("v1.k8s.deployments.remove", { id: b.id }, alice);
			expect(account("team")).toBeDefined();
		});

		it("accepts an optional mount of a missing object", async () => {
			const d = await create({ name: "opt", mounts: [{ type: "secret", name: "later", mountPath: "/later", optional: true }] });
			expect(dep("opt")!.spec!.template.spec!.volumes).toEqual([{ name: "secret-later", secret: { secretName: "later", optional: true } }]);
			await broker.call("v1.k8s.deployments.remove", { id: d.id }, alice);
		});

		it.each([
			[{ mounts: [{ type: "configMap", name: "missing", mountPath: "/m" }] }, "mounts[0].name"],
			[{ mounts: [{ type: "secret", name: "site", mountPath: "/m" }] }, "mounts[0].name"],
			[{ mounts: [{ type: "configMap", name: "site", mountPath: "/m", subPath: "../x" }] }, "mounts[0].subPath"],
			[{ mounts: [{ type: "configMap", name: "site", mountPath: "/data" }], volumes: [{ name: "d", type: "emptyDir", mountPath: "/data" }] }, "mounts[0].mountPath"],
			[{ mounts: [{ type: "configMap", name: "site", mountPath: "/etc/nginx/conf.d" }], configMap: { name: "c", data: { "x.conf": "x" } } }, "mounts[0].mountPath"],
			[{ mounts: [{ type: "configMap", name: "site", mountPath: "/m" }], volumes: [{ name: "cm-site", type: "emptyDir", mountPath: "/d" }] }, "mounts[0].name"],
			[{ nodePorts: [{ port: 8080 }] }, "nodePorts[0].port"],
			[{ nodePorts: [{ port: "http", nodePort: 70000 }] }, "nodePorts[0].nodePort"],
			[{ serviceAccount: { shared: true } }, "serviceAccount.name"],
			[{ serviceAccount: { name: "default" } }, "serviceAccount.name"],
		])("%j → 422 on %s", async (params, field) => {
			const before = kube.applies.length;
			const err = await rejects(create({ name: "bad-joint", ...params }));
			expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
			expect((err.data as { field: string }[]).map(e => e.field)).toContain(field);
			expect(kube.applies.length).toBe(before);
		});

		it("refuses a deployment's own account where one of that name exists already", async () => {
			await kube.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "ci-bot", namespace: "team-a" } } as Obj);
			expect(await rejects(create({ name: "ci", serviceAccount: { name: "ci-bot" } }))).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "serviceAccount.name" })] });
			const shared = await create({ name: "ci", serviceAccount: { name: "ci-bot", shared: true } });
			expect(dep("ci")!.spec!.template.spec!.serviceAccountName).toBe("ci-bot");
			await broker.call("v1.k8s.deployments.remove", { id: shared.id }, alice);
			expect(account("ci-bot")).toBeDefined();
		});
	});

	it("parses since", () => {
		expect(parseSince(90)).toBe(90);
		expect(parseSince("90")).toBe(90);
		expect(parseSince("10m")).toBe(600);
		expect(parseSince("2h")).toBe(7200);
		expect(parseSince(undefined)).toBeUndefined();
	});

	it("removes its entities when their namespace is removed", async () => {
		await broker.call("v1.k8s.namespaces.create", { name: "team-b" }, alice);
		const d = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.create", { name: "gone", namespace: "team-b", image: "nginx", env: [{ key: "A", value: "1" }] }, alice);
		await broker.call("v1.k8s.namespaces.remove", { id: d.namespace }, alice);
		await eventually(async () => {
			expect((await broker.call<DeploymentEntity[], object>("v1.k8s.deployments.find", { query: { namespace: d.namespace }, scope: false })).length).toBe(0);
			expect((await broker.call<EnvEntity[], object>("v1.k8s.envs.list", {}, alice)).filter(e => e.deployment === d.id)).toEqual([]);
		}, { timeoutMs: 3000 });
	});
	describe("on a node that does not lead", () => {
		/** An elector this test decides for. */
		class StubElector extends EventEmitter {
			isLeader = false;
			fence() {}
			start() {}
			async stop() {}
		}
		const elector = new StubElector();
		let follower: ServiceBroker;

		beforeAll(async () => {
			delete process.env.LEADER_ELECTION;
			setLeaderElector(elector as unknown as LeaderElector);
			follower = new ServiceBroker({ logger: false, nodeID: "follower" });
			for (const schema of [NamespacesService, ImagesService, DeploymentsService, EnvsService]) follower.createService(schema as never);
			await follower.start();
			await follower.call("v1.k8s.namespaces.create", { name: "team-c" }, alice);
		});
		afterAll(async () => {
			await follower.stop();
			setLeaderElector(undefined);
			process.env.LEADER_ELECTION = "false";
		});

		it("applies what its own actions change, and heals drift only once it leads", async () => {
			const d = await follower.call<DeploymentEntity, object>("v1.k8s.deployments.create", { name: "follower-app", namespace: "team-c", image: "nginx" }, alice);
			expect(d.status?.phase).toBe("Running");
			expect(kube.peek("Service", "follower-app-service", "team-c")).toBeDefined();
			await kube.drift("Service", "follower-app-service", "team-c");
			// longer than a resync period: nobody watches for this node's entities yet
			await new Promise(r => setTimeout(r, 1500));
			expect(kube.peek("Service", "follower-app-service", "team-c")).toBeUndefined();
			elector.isLeader = true;
			elector.emit("started-leading");
			await eventually(() => expect(kube.peek("Service", "follower-app-service", "team-c")).toBeDefined(), { timeoutMs: 3000 });
		});
	});
});
