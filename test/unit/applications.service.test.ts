import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Errors, ServiceBroker } from "moleculer";
import { KubeClient, setKubeClient, type KubernetesObject, type ObjectRef, type ResourceKind, type WatchEvent, type WatchHandler } from "../../lib/k8s";
import type { ApplicationView } from "../../lib/api/applications";
import ApplicationsService from "../../services/k8s.applications.service";
import ImagesService from "../../services/k8s.images.service";
import { eventually } from "../helpers/eventually";

// ---------------------------------------------------------------------------------------------
// The Kubernetes boundary in memory, the only thing replaced. A Deployment gets one pod, whose
// state the test decides: Pending (until made Ready), Ready, or stuck pulling its image.

type Obj = KubernetesObject & { spec?: any; status?: any };
type PodMode = "pending" | "ready" | "pull-error";
const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

function matches(selector: string | undefined, labels: Record<string, string> = {}): boolean {
	if (!selector) return true;
	return selector.split(",").every(term => {
		const [k, v] = term.split("=");
		return labels[k.trim()] === v?.trim();
	});
}

class FakeKube {
	readonly objects = new Map<string, Obj>();
	readonly deleted: string[] = [];
	podMode: PodMode = "ready";
	private readonly watchers: { kind: string; selector?: string; namespace?: string; handler: WatchHandler<KubernetesObject>; on: boolean }[] = [];

	private key(kind: string, ns: string | undefined, name: string) {
		return `${kind}/${ns ?? ""}/${name}`;
	}
	private notify(event: WatchEvent, obj: Obj) {
		for (const w of this.watchers)
			if (w.on && w.kind === obj.kind && (!w.namespace || w.namespace === obj.metadata?.namespace) && matches(w.selector, obj.metadata?.labels)) w.handler(event, clone(obj));
	}
	all(kind: string, ns?: string): Obj[] {
		return [...this.objects.values()].filter(o => o.kind === kind && (!ns || o.metadata?.namespace === ns)).map(clone);
	}
	/** What kwok does to a pod when it becomes Ready. */
	makeReady(appId: string) {
		for (const pod of this.all("Pod").filter(p => p.metadata?.labels?.["berth.dev/id"] === appId)) {
			pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
			this.objects.set(this.key("Pod", pod.metadata?.namespace, pod.metadata!.name!), pod);
			this.notify("update", pod);
		}
	}

	async apply<T extends KubernetesObject>(obj: T): Promise<T> {
		const o = clone(obj) as Obj;
		const ns = o.metadata?.namespace;
		if (ns && !this.objects.has(this.key("Namespace", undefined, ns))) throw new Errors.MoleculerClientError(`namespaces "${ns}" not found`, 404, "NOT_FOUND");
		const k = this.key(o.kind!, ns, o.metadata!.name!);
		const existing = this.objects.get(k);
		o.metadata = { ...o.metadata, uid: existing?.metadata?.uid ?? `uid-${this.objects.size + 1}` };
		o.status = existing?.status ?? (o.kind === "Namespace" ? { phase: "Active" } : undefined);
		this.objects.set(k, o);
		// Like server-side apply: an unchanged object is no write, so no watch event.
		if (!existing || JSON.stringify(existing) !== JSON.stringify(o)) this.notify(existing ? "update" : "add", o);
		if (o.kind === "Deployment" && !existing) {
			const pod: Obj = {
				apiVersion: "v1",
				kind: "Pod",
				metadata: { name: `${o.metadata.name}-0`, namespace: ns, labels: o.spec.template.metadata.labels },
				status:
					this.podMode === "ready"
						? { phase: "Running", conditions: [{ type: "Ready", status: "True" }] }
						: this.podMode === "pending"
							? { phase: "Pending" }
							: { phase: "Pending", containerStatuses: [{ name: "app", ready: false, restartCount: 0, state: { waiting: { reason: "ErrImagePull", message: "manifest unknown" } } }] },
			};
			this.objects.set(this.key("Pod", ns, pod.metadata!.name!), pod);
			this.notify("add", pod);
		}
		return clone(o) as T;
	}
	async create<T extends KubernetesObject>(obj: T): Promise<T> {
		return this.apply(obj);
	}
	async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
		const o = this.objects.get(this.key(ref.kind, ref.namespace, ref.name));
		return o ? (clone(o) as T) : undefined;
	}
	async list<T extends KubernetesObject>(resource: ResourceKind, opts: { namespace?: string; labelSelector?: string } = {}): Promise<T[]> {
		return this.all(resource.kind, opts.namespace).filter(o => matches(opts.labelSelector, o.metadata?.labels)) as unknown as T[];
	}
	async delete(ref: ObjectRef): Promise<boolean> {
		const k = this.key(ref.kind, ref.namespace, ref.name);
		const o = this.objects.get(k);
		if (!o) return false;
		this.objects.delete(k);
		this.deleted.push(`${ref.kind}/${ref.name}`);
		this.notify("delete", o);
		// The namespace controller's part: everything in a deleted namespace goes with it.
		if (ref.kind === "Namespace") for (const [key, child] of [...this.objects]) if (child.metadata?.namespace === ref.name) this.objects.delete(key);
		if (ref.kind === "Deployment")
			for (const pod of this.all("Pod", ref.namespace))
				if (pod.metadata?.name?.startsWith(`${ref.name}-`)) {
					this.objects.delete(this.key("Pod", ref.namespace, pod.metadata.name));
					this.notify("delete", pod);
				}
		return true;
	}
	/** The real prune, over this fake's list and delete. */
	prune = KubeClient.prototype.prune;
	informer(resource: ResourceKind, handler: WatchHandler<KubernetesObject>, opts: { labelSelector?: string; namespace?: string } = {}) {
		const w = { kind: resource.kind, selector: opts.labelSelector, namespace: opts.namespace, handler, on: false };
		this.watchers.push(w);
		return {
			start: async () => void (w.on = true),
			stop: async () => void (w.on = false),
			hasSynced: true,
		};
	}
}

// ---------------------------------------------------------------------------------------------

const alice = { meta: { userID: "alice" } };
const admin = { meta: { userID: "admin", roles: ["admin"] } };
const anonymous = { meta: {} };
const NS = "apps-unit";

interface Seen {
	event: string;
	id: string;
	reason?: string;
}

/** A catalog where python is a (key-only) template too. */
function catalog(): string {
	const shipped = path.resolve(__dirname, "..", "..", "images");
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-unit-apps-"));
	for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
	const python = JSON.parse(fs.readFileSync(path.join(dir, "python.json"), "utf8"));
	fs.writeFileSync(path.join(dir, "python.json"), JSON.stringify({ ...python, launchable: true }));
	return dir;
}

/** One mesh node with the services applications need, on `kube`, with `env` set while it is created. */
async function startNode(kube: FakeKube, env: Record<string, string>, events: Seen[]): Promise<ServiceBroker> {
	Object.assign(process.env, env);
	setKubeClient(kube as unknown as KubeClient);
	const broker = new ServiceBroker({ logger: false, validator: true });
	for (const schema of [ImagesService, ApplicationsService]) broker.createService(schema as never);
	broker.createService({
		name: "listener",
		events: Object.fromEntries(
			["launched", "running", "culled", "deleted", "failed"].map(e => [`k8s.applications.${e}`, (ctx: { params: ApplicationView }) => void events.push({ event: e, id: ctx.params.id, reason: ctx.params.reason })]),
		),
	});
	await broker.start();
	return broker;
}

/** Starts a node before the enclosing describe's tests (handing it to `use`) and stops it after them. */
function nodeForDescribe(kube: FakeKube, env: Record<string, string>, events: Seen[], use: (broker: ServiceBroker) => void): void {
	let broker: ServiceBroker | undefined;
	beforeAll(async () => {
		broker = await startNode(kube, env, events);
		use(broker);
	});
	afterAll(() => broker?.stop());
}

const view = (broker: ServiceBroker, id: string) => broker.call<ApplicationView[], object>("v1.k8s.applications.list", {}, admin).then(all => all.find(a => a.id === id));

describe("v1.k8s.applications (Kubernetes stubbed)", () => {
	let images: string;
	const base = { APPS_NAMESPACE: NS, PUBLIC_HOST: "apps.example.org", DATA_DIR: ":memory:", RESYNC_SECONDS: "1", APPS_MAX_AGE_SECONDS: "0" };
	const saved = { ...process.env };

	beforeAll(() => {
		images = catalog();
		process.env.IMAGES_DIR = images;
		delete process.env.MONGO_URI;
	});
	afterAll(() => {
		process.env = saved;
		setKubeClient(undefined);
		fs.rmSync(images, { recursive: true, force: true });
	});

	describe("bringing an instance up", () => {
		const kube = new FakeKube();
		const events: Seen[] = [];
		let broker: ServiceBroker;
		nodeForDescribe(kube, { ...base, APPS_IDLE_SECONDS: "60", APPS_START_TIMEOUT_SECONDS: "60" }, events, started => (broker = started));

		it("answers with an id at once; the location comes only once the pod is Ready", async () => {
			kube.podMode = "pending";
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "jupyter-notebook" }, anonymous);
			expect(id).toMatch(/^[0-9a-f]{32}$/);
			await eventually(() => expect(kube.all("Pod", NS).filter(p => p.metadata?.labels?.["berth.dev/id"] === id)).toHaveLength(1));
			// Several reconciles later (the timer runs every 2 s while deploying), still no location.
			await new Promise(r => setTimeout(r, 2500));
			expect(await broker.call("v1.k8s.applications.binderStatus", { template: "jupyter-notebook", id }, anonymous)).toEqual({ id, "template-name": "jupyter-notebook", location: null, status: "deploying" });
			kube.makeReady(id);
			// The generated token lives in the instance's Secret, made once and kept across reconciles.
			const secret = kube.all("Secret", NS).find(s => s.metadata?.name === `app-${id}-env`) as { data: Record<string, string> };
			const token = Buffer.from(secret.data.JUPYTER_TOKEN, "base64").toString();
			expect(token).toMatch(/^[0-9a-f]{48}$/);
			// The launcher (an anonymous one: whoever holds the id) gets it in the location, as BinderHub does.
			await eventually(async () =>
				expect(await broker.call("v1.k8s.applications.binderStatus", { template: "jupyter-notebook", id }, anonymous)).toEqual({ id, "template-name": "jupyter-notebook", location: `apps.example.org/user/${id}/?token=${token}`, status: "running" }),
			);
			expect(events.filter(e => e.id === id).map(e => e.event)).toEqual(["launched", "running"]);
			expect(JSON.stringify(events)).not.toContain(token);
			await new Promise(r => setTimeout(r, 1500));
			expect((kube.all("Secret", NS).find(s => s.metadata?.name === `app-${id}-env`) as typeof secret).data).toEqual(secret.data);
		});

		it("fails an instance whose image cannot be pulled, with the reason, and removes its objects", async () => {
			kube.podMode = "pull-error";
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			await eventually(async () => expect(await view(broker, id)).toMatchObject({ status: "failed", reason: "cannot-start", message: "ErrImagePull: manifest unknown" }));
			await eventually(() => expect(events).toContainEqual({ event: "failed", id, reason: "cannot-start" }));
			expect(kube.all("Deployment", NS).filter(d => d.metadata?.name === `app-${id}`)).toEqual([]);
			expect((await broker.call<{ status: string }, object>("v1.k8s.applications.binderStatus", { template: "python", id }, alice)).status).toBe("failed");
		});

		it("makes the applications namespace with its quota, again when it has gone; instances it took with it fail", async () => {
			kube.podMode = "ready";
			expect(kube.all("ResourceQuota", NS).map(q => q.spec.hard["limits.cpu"])).toEqual(["2"]);
			expect(kube.all("Namespace").find(n => n.metadata?.name === NS)?.metadata?.labels).toMatchObject({ "app.kubernetes.io/component": "applications-namespace" });
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			await eventually(async () => expect((await view(broker, id))?.status).toBe("running"));
			// Deleted behind Berth's back: the next look at the instance cannot apply it anywhere.
			await kube.delete({ apiVersion: "v1", kind: "Namespace", name: NS });
			await eventually(async () => expect(await view(broker, id)).toMatchObject({ status: "failed", reason: "rejected", message: expect.stringContaining("not found") }));
			// The next launch makes the namespace again, quota and all.
			const next = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			await eventually(async () => expect((await view(broker, next.id))?.status).toBe("running"));
			expect(kube.all("ResourceQuota", NS)).toHaveLength(1);
			expect((await broker.call<ApplicationView[], object>("v1.k8s.applications.binderList", { template: "python" }, alice)).map(a => a.id)).toEqual(expect.arrayContaining([id, next.id]));
		});

		it("never runs instances in a namespace that is not its own", async () => {
			await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-x", annotations: { "berth.dev/id": "some-tenant" } } });
			const other = await startNode(kube, { ...base, APPS_NAMESPACE: "team-x", APPS_IDLE_SECONDS: "60", APPS_START_TIMEOUT_SECONDS: "60" }, []);
			try {
				await expect(other.call("v1.k8s.applications.binderLaunch", { template: "python" }, alice)).rejects.toMatchObject({ code: 409, type: "CONFLICT" });
			} finally {
				await other.stop();
				process.env.APPS_NAMESPACE = NS;
			}
		});
	});

	describe("culling", () => {
		const kube = new FakeKube();
		const events: Seen[] = [];
		let broker: ServiceBroker;
		nodeForDescribe(kube, { ...base, APPS_IDLE_SECONDS: "1.5", APPS_START_TIMEOUT_SECONDS: "1" }, events, started => (broker = started));

		it("counts traffic reported over the mesh as activity, like a poll", async () => {
			kube.podMode = "ready";
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			for (let i = 0; i < 8; i++) {
				expect(await broker.call("v1.k8s.applications.recordActivity", { ids: [id, "not-an-id"] }, { meta: { userID: "system", roles: ["admin"] } })).toEqual({ recorded: 1 });
				await new Promise(r => setTimeout(r, 400));
			}
			expect((await view(broker, id))?.status).toBe("running");
			await eventually(async () => expect(await view(broker, id)).toMatchObject({ status: "deleted", reason: "idle" }));
			await eventually(() => expect(events.filter(e => e.id === id && e.event === "culled")).toHaveLength(1));
			expect(kube.all("Deployment", NS).filter(d => d.metadata?.name === `app-${id}`)).toEqual([]);
		});

		it("fails an instance not Ready within APPS_START_TIMEOUT_SECONDS, even while it is polled", async () => {
			kube.podMode = "pending";
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			const status = await eventually(async () => {
				const res = await broker.call<{ status: string }, object>("v1.k8s.applications.binderStatus", { template: "python", id }, alice);
				expect(res.status).toBe("failed");
				return res;
			});
			expect(status).toEqual({ id, "template-name": "python", location: null, status: "failed" });
			expect(await view(broker, id)).toMatchObject({ reason: "start-timeout", message: "Not Ready within 1 s of the launch" });
			await eventually(() => expect(kube.all("Deployment", NS).filter(d => d.metadata?.name === `app-${id}`)).toEqual([]));
		});
	});

	it("counts limits per namespace: instances left in a former APPS_NAMESPACE hold no share", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-unit-apps-data-"));
		const kube = new FakeKube();
		kube.podMode = "ready";
		const env = { ...base, DATA_DIR: dataDir, APPS_IDLE_SECONDS: "3600", APPS_START_TIMEOUT_SECONDS: "60", APPS_MAX_PER_OWNER: "1" };
		let broker = await startNode(kube, { ...env, APPS_NAMESPACE: "apps-before" }, []);
		try {
			await broker.call("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			await expect(broker.call("v1.k8s.applications.binderLaunch", { template: "python" }, alice)).rejects.toMatchObject({ code: 422, type: "QUOTA_EXCEEDED" });
			await broker.stop();
			broker = await startNode(kube, { ...env, APPS_NAMESPACE: "apps-after" }, []);
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			expect((await view(broker, id))?.namespace).toBe("apps-after");
		} finally {
			await broker.stop();
			process.env.APPS_NAMESPACE = NS;
			delete process.env.APPS_MAX_PER_OWNER;
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});

	it("finishes a cull that a crash left half done, exactly once, after a restart on the same store", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-unit-apps-data-"));
		const kube = new FakeKube();
		const events: Seen[] = [];
		const env = { ...base, DATA_DIR: dataDir, APPS_IDLE_SECONDS: "3600", APPS_START_TIMEOUT_SECONDS: "60" };
		let broker = await startNode(kube, env, events);
		try {
			const { id } = await broker.call<{ id: string }, object>("v1.k8s.applications.binderLaunch", { template: "python" }, alice);
			await eventually(async () => expect((await view(broker, id))?.status).toBe("running"));
			// The decision is recorded, and then the node dies before it deletes anything.
			const svc = broker.getLocalService("v1.k8s.applications") as unknown as { adapter: { updateMany(q: object, u: object): Promise<number> } };
			await svc.adapter.updateMany({ appId: id }, { $set: { status: "deleted", reason: "idle", cleanup: "pending", endedAt: new Date().toISOString() } });
			await broker.stop();
			expect(kube.all("Deployment", NS).filter(d => d.metadata?.name === `app-${id}`)).toHaveLength(1);

			broker = await startNode(kube, env, events);
			await eventually(() => expect(events.filter(e => e.event === "culled")).toEqual([{ event: "culled", id, reason: "idle" }]));
			expect(kube.all("Deployment", NS).filter(d => d.metadata?.name === `app-${id}`)).toEqual([]);
			const deletions = kube.deleted.length;
			// Resyncs (every second here) find nothing more to do: no second delete, no second event.
			await new Promise(r => setTimeout(r, 2500));
			expect(kube.deleted.length).toBe(deletions);
			expect(events.filter(e => e.event === "culled")).toHaveLength(1);
			expect(await view(broker, id)).toMatchObject({ status: "deleted", reason: "idle", location: `apps.example.org/user/${id}` });
			expect((await view(broker, id))?.terminating).toBeUndefined();
		} finally {
			await broker.stop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});
});
