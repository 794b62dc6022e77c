import * as fs from "node:fs";
import type * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Errors, ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { setKubeClient, type KubeClient, type KubernetesObject, type ResourceKind, type V1Deployment, type V1Pod, type WatchHandler } from "../../lib/k8s";
import ApiService from "../../services/api.service";
import KeysService from "../../services/keys.service";
import StatusService from "../../services/k8s.status.service";
import { eventually } from "../helpers/eventually";
import { request } from "../helpers/mesh";

/** Informers over objects the test puts and removes: what the apiserver's watch would report. */
class FakeKube {
	readonly informers = new Map<string, FakeInformer>();
	informer<T extends KubernetesObject>(resource: ResourceKind, handler: WatchHandler<T>): FakeInformer {
		const informer = new FakeInformer(resource.kind, handler as WatchHandler<KubernetesObject>);
		this.informers.set(resource.kind, informer);
		return informer;
	}
	put(obj: KubernetesObject): void {
		this.informers.get(obj.kind as string)?.put(structuredClone(obj));
	}
	remove(obj: KubernetesObject): void {
		this.informers.get(obj.kind as string)?.remove(obj);
	}
}

class FakeInformer {
	hasSynced = false;
	private readonly objects = new Map<string, KubernetesObject>();
	constructor(
		readonly kind: string,
		private readonly handler: WatchHandler<KubernetesObject>,
	) {}
	private key(o: KubernetesObject) {
		return `${o.metadata?.namespace}/${o.metadata?.name}`;
	}
	put(o: KubernetesObject) {
		const existed = this.objects.has(this.key(o));
		this.objects.set(this.key(o), o);
		if (this.hasSynced) this.handler(existed ? "update" : "add", o);
	}
	remove(o: KubernetesObject) {
		const had = this.objects.get(this.key(o));
		this.objects.delete(this.key(o));
		if (had && this.hasSynced) this.handler("delete", had);
	}
	list(namespace?: string): KubernetesObject[] {
		return [...this.objects.values()].filter(o => !namespace || o.metadata?.namespace === namespace);
	}
	async start() {
		this.hasSynced = true;
		for (const o of this.objects.values()) this.handler("add", o);
	}
	async stop() {
		this.hasSynced = false;
	}
}

const NS = "team-a";
const labels = (id: string, component = "deployment") => ({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": component, "berth.dev/id": id });

function deployment(id: string, name: string, o: { replicas?: number; ready?: number } = {}): V1Deployment {
	const replicas = o.replicas ?? 1;
	return {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name, namespace: NS, generation: 1, labels: labels(id) },
		spec: { replicas, selector: {}, template: { spec: { containers: [{ name, image: "nginx:1.27", ports: [{ containerPort: 80 }] }] } } },
		status: { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: o.ready ?? 0, availableReplicas: o.ready ?? 0 },
	};
}

function pod(id: string, name: string, state: "creating" | "ready" | "pull"): V1Pod {
	const ready = state === "ready";
	const waiting = state === "creating" ? { reason: "ContainerCreating" } : state === "pull" ? { reason: "ImagePullBackOff", message: "Back-off pulling image" } : undefined;
	return {
		apiVersion: "v1",
		kind: "Pod",
		metadata: { name, namespace: NS, labels: labels(id) },
		spec: { containers: [{ name: "web" }], nodeName: "node-0" },
		status: {
			phase: ready ? "Running" : "Pending",
			conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
			containerStatuses: [{ name: "web", image: "nginx:1.27", imageID: "", restartCount: 0, ready, state: waiting ? { waiting } : { running: {} } }],
		},
	};
}

const svc = (id: string, name: string): KubernetesObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: `${name}-service`, namespace: NS, labels: labels(id) } });
const ing = (id: string, name: string): KubernetesObject => ({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name, namespace: NS, labels: labels(id) }, spec: { rules: [{ host: `${name}.team-a.example` }] } } as KubernetesObject);

interface SseEvent {
	event: string;
	data: any;
}

/** A Server-Sent Events reader over fetch: events in order, comment lines counted. */
async function openStream(url: string, key?: string) {
	const controller = new AbortController();
	const res = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: controller.signal });
	const events: SseEvent[] = [];
	const comments: string[] = [];
	let ended = false;
	let buffer = "";
	const pump = (async () => {
		if (!res.ok || !res.body) return;
		const decoder = new TextDecoder();
		try {
			for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let cut: number;
				while ((cut = buffer.indexOf("\n\n")) >= 0) {
					const block = buffer.slice(0, cut);
					buffer = buffer.slice(cut + 2);
					let event = "message";
					let data = "";
					for (const line of block.split("\n")) {
						if (line.startsWith(":")) comments.push(line);
						else if (line.startsWith("event: ")) event = line.slice(7);
						else if (line.startsWith("data: ")) data += line.slice(6);
					}
					if (data) events.push({ event, data: JSON.parse(data) });
				}
			}
		} catch {
			/* aborted */
		}
		ended = true;
	})();
	let read = 0;
	return {
		res,
		events,
		comments,
		get ended() {
			return ended;
		},
		/** The next event not read yet (optionally of one type), waiting for it. */
		async next(type?: string, timeoutMs = 5000): Promise<SseEvent> {
			return eventually(
				() => {
					while (read < events.length) {
						const e = events[read++];
						if (!type || e.event === type) return e;
					}
					throw new Error(`no ${type ?? ""} event yet (got ${JSON.stringify(events.map(e => e.event))})`);
				},
				{ timeoutMs, intervalMs: 20 },
			);
		},
		close() {
			controller.abort();
			return pump;
		},
	};
}

/** The deployments and namespaces services as far as the streams use them: `get` answers the owner, 404 to others. */
const entities: ServiceSchema[] = [
	{
		name: "k8s.deployments",
		version: 1,
		actions: {
			get(ctx: Context<{ id: string }, { userID?: string }>) {
				const names: Record<string, string> = { d1: "web", d2: "api" };
				if (!names[ctx.params.id] || ctx.meta.userID !== "alice") throw new Errors.MoleculerClientError("Deployment not found", 404, "NOT_FOUND");
				return { id: ctx.params.id, name: names[ctx.params.id], namespaceName: NS };
			},
		},
	},
	{
		name: "k8s.namespaces",
		version: 1,
		actions: {
			get(ctx: Context<{ id: string }, { userID?: string }>) {
				if (ctx.params.id !== "n1" || ctx.meta.userID !== "alice") throw new Errors.MoleculerClientError("Namespace not found", 404, "NOT_FOUND");
				return { id: "n1", name: NS };
			},
		},
	},
];

describe("v1.k8s.status: live status over Server-Sent Events, through the gateway", () => {
	const kube = new FakeKube();
	const adminKey = "berth_000000000000_unit-status-admin-key-0000000000";
	let broker: ServiceBroker;
	let url: string;
	let alice: string;
	let bob: string;
	let stopped = false;
	const opened: { close(): Promise<void> }[] = [];
	const stream = async (path: string, key?: string) => {
		const s = await openStream(`${url}${path}`, key);
		opened.push(s);
		return s;
	};

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		delete process.env.MONGO_URI;
		process.env.BERTH_ADMIN_KEY = adminKey;
		setKubeClient(kube as unknown as KubeClient);
		broker = new ServiceBroker({ logger: false, validator: true });
		broker.createService({ ...(ApiService as ServiceSchema), settings: { ...(ApiService.settings as object), port: 0 } } as ServiceSchema);
		broker.createService(KeysService as unknown as ServiceSchema);
		for (const s of entities) broker.createService(s);
		broker.createService({ ...(StatusService as unknown as ServiceSchema), settings: { ...StatusService.settings, heartbeatSeconds: 0.3, debounceMs: 10 } } as ServiceSchema);
		await broker.start();
		const api = broker.getLocalService("api") as unknown as { server: http.Server };
		url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
		const keyFor = async (userID: string) => (await request(`${url}/api/v1/keys`, { method: "POST", key: adminKey, body: { name: userID, userID } })).body.key as string;
		alice = await keyFor("alice");
		bob = await keyFor("bob");
	});

	afterAll(async () => {
		await Promise.all(opened.map(s => s.close()));
		if (!stopped) await broker?.stop();
		setKubeClient(undefined);
		delete process.env.UI_DIR;
	});

	it("refuses a stream without a key (401) and another tenant's deployment or namespace (404), as JSON errors", async () => {
		const anonymous = await request(`${url}/api/v1/k8s/deployments/d1/stream`);
		expect(anonymous.status).toBe(401);
		expect(anonymous.body).toMatchObject({ code: 401, type: "UNAUTHORIZED" });
		for (const path of ["/api/v1/k8s/deployments/d1/stream", "/api/v1/k8s/namespaces/n1/stream", "/api/v1/k8s/deployments/nope/stream"]) {
			const other = await request(`${url}${path}`, { key: bob });
			expect(other.status).toBe(404);
			expect(other.headers.get("content-type")).toMatch(/json/);
			expect(other.body).toMatchObject({ code: 404, type: "NOT_FOUND" });
		}
	});

	it("pushes a deployment's status at once and on every change, without reconnecting", async () => {
		kube.put(deployment("d1", "web"));
		kube.put(pod("d1", "web-1", "creating"));
		kube.put(svc("d1", "web"));
		kube.put(ing("d1", "web"));
		const s = await stream("/api/v1/k8s/deployments/d1/stream", alice);
		expect(s.res.status).toBe(200);
		expect(s.res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
		expect(s.res.headers.get("cache-control")).toBe("no-cache, no-transform");
		const first = await s.next("status");
		expect(first.data).toMatchObject({ id: "d1", name: "web", namespace: NS, phase: "Progressing", hosts: ["web.team-a.example"] });
		expect(first.data.reasons.map((r: { code: string }) => r.code)).toEqual(["Progressing", "ContainerCreating"]);

		kube.put(pod("d1", "web-1", "pull"));
		const failing = await s.next("status");
		expect(failing.data).toMatchObject({ phase: "Failed", reason: "ImagePullBackOff" });

		kube.put(pod("d1", "web-1", "ready"));
		kube.put(deployment("d1", "web", { ready: 1 }));
		const ready = await eventually(async () => {
			const e = await s.next("status");
			expect(e.data.phase).toBe("Ready");
			return e;
		});
		expect(ready.data).toMatchObject({ reason: "Ready", replicas: { desired: 1, ready: 1 }, pods: [{ name: "web-1", ready: true }] });
	});

	it("pushes nothing when a change leaves the status as it was", async () => {
		const s = await stream("/api/v1/k8s/deployments/d1/stream", alice);
		expect((await s.next("status")).data.phase).toBe("Ready");
		const noop = pod("d1", "web-1", "ready");
		noop.metadata!.resourceVersion = "999";
		kube.put(noop);
		kube.put({ ...deployment("d1", "web", { replicas: 2, ready: 1 }) });
		const next = await s.next("status");
		expect(next.data).toMatchObject({ phase: "Progressing", replicas: { desired: 2, ready: 1 } });
		kube.put(deployment("d1", "web", { ready: 1 }));
		expect((await s.next("status")).data.phase).toBe("Ready");
	});

	it("keeps a quiet stream open with heartbeat comments", async () => {
		const s = await stream("/api/v1/k8s/deployments/d1/stream", alice);
		await s.next("status");
		await eventually(() => expect(s.comments.filter(c => c.startsWith(": heartbeat")).length).toBeGreaterThanOrEqual(2), { timeoutMs: 3000 });
		expect(s.ended).toBe(false);
	});

	it("streams a namespace: a snapshot of its apps, then each app's changes and removals", async () => {
		const s = await stream("/api/v1/k8s/namespaces/n1/stream", alice);
		const snapshot = await s.next("snapshot");
		expect(snapshot.data).toMatchObject({ id: "n1", namespace: NS, phase: "Ready", counts: { Ready: 1 } });
		expect(snapshot.data.apps.map((a: { id: string; phase: string }) => [a.id, a.phase])).toEqual([["d1", "Ready"]]);

		kube.put(deployment("d2", "api"));
		const added = await s.next("status");
		expect(added.data).toMatchObject({ id: "d2", name: "api", phase: "Progressing" });

		// Claims belong to volumes, not apps: a claim's change re-examines every app of the namespace.
		kube.put({ ...deployment("d2", "api"), spec: { ...deployment("d2", "api").spec!, template: { spec: { containers: [{ name: "api", image: "nginx:1.27" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] } } } } as KubernetesObject);
		await eventually(async () => expect((await s.next("status")).data.objects.claims).toEqual([{ name: "data", phase: "Missing" }]));
		kube.put({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: NS, labels: labels("v1", "volume") }, status: { phase: "Pending" } } as KubernetesObject);
		const pending = await s.next("status");
		expect(pending.data).toMatchObject({ id: "d2", reason: "PVCPending", objects: { claims: [{ name: "data", phase: "Pending" }] } });

		kube.remove(deployment("d2", "api"));
		expect((await s.next("removed")).data).toEqual({ id: "d2" });
	});

	it("reports Missing when the Deployment goes behind Berth's back, and ends the stream once nothing is left", async () => {
		const s = await stream("/api/v1/k8s/deployments/d1/stream", alice);
		expect((await s.next("status")).data.phase).toBe("Ready");
		kube.remove(deployment("d1", "web"));
		expect((await s.next("status")).data).toMatchObject({ phase: "Missing", reason: "DeploymentMissing", name: "web" });
		for (const o of [pod("d1", "web-1", "ready"), svc("d1", "web"), ing("d1", "web")]) kube.remove(o);
		expect((await s.next("removed")).data).toEqual({ id: "d1" });
		await eventually(() => expect(s.ended).toBe(true));
		// A deployment the cluster knows nothing of streams Missing from the start.
		const again = await stream("/api/v1/k8s/deployments/d1/stream", alice);
		expect((await again.next("status")).data).toMatchObject({ id: "d1", name: "web", phase: "Missing" });
	});

	it("answers the mesh: get and namespace from the caches", async () => {
		kube.put(deployment("d3", "db", { ready: 1 }));
		kube.put(pod("d3", "db-1", "ready"));
		kube.put(svc("d3", "db"));
		kube.put(ing("d3", "db"));
		await eventually(async () => expect(await broker.call("v1.k8s.status.get", { id: "d3" })).toMatchObject({ name: "db", phase: "Ready" }));
		expect(await broker.call("v1.k8s.status.get", { id: "none" })).toBeNull();
		expect(await broker.call("v1.k8s.status.namespace", { name: NS })).toMatchObject({ namespace: NS, phase: "Ready", apps: [expect.objectContaining({ id: "d3" })] });
		expect(await broker.call("v1.k8s.status.namespace", { name: "empty" })).toEqual({ namespace: "empty", phase: "Empty", counts: {}, apps: [] });
	});

	it("keeps the streams out of the OpenAPI document: they never end", async () => {
		const doc = (await request(`${url}/api/openapi.json`)).body as { paths: Record<string, unknown> };
		expect(Object.keys(doc.paths).filter(p => p.endsWith("/stream"))).toEqual([]);
	});

	it("serves the dashboard's files under /ui, and says so when it is not built", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-ui-"));
		process.env.UI_DIR = dir;
		const missing = await request(`${url}/ui/`);
		expect(missing.status).toBe(503);
		expect(missing.text).toContain("npm run build");
		fs.mkdirSync(path.join(dir, "assets"));
		fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>Berth</title>");
		fs.writeFileSync(path.join(dir, "assets", "app-1234.js"), "console.log(1)");
		for (const p of ["/ui", "/ui/", "/ui/index.html"]) {
			const page = await request(`${url}${p}`);
			expect(page.status).toBe(200);
			expect(page.text).toContain("<title>Berth</title>");
			expect(page.headers.get("cache-control")).toBe("no-cache");
			expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
		}
		const asset = await request(`${url}/ui/assets/app-1234.js`);
		expect(asset.status).toBe(200);
		expect(asset.headers.get("content-type")).toMatch(/javascript/);
		expect(asset.headers.get("cache-control")).toContain("immutable");
		expect((await request(`${url}/ui/assets/nope.js`)).status).toBe(404);
		expect((await request(`${url}/ui/../package.json`)).status).toBe(404);
		expect((await request(`${url}/uix`)).status).toBe(404);
	});

	it("ends open streams when the service stops, so the gateway can close", async () => {
		const s = await stream("/api/v1/k8s/namespaces/n1/stream", alice);
		await s.next("snapshot");
		await broker.stop();
		stopped = true;
		await eventually(() => expect(s.ended).toBe(true), { timeoutMs: 5000 });
	});
});
