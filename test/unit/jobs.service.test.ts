import type { AddressInfo } from "node:net";
import type * as http from "node:http";
import { Errors, ServiceBroker, type Context } from "moleculer";
import { setKubeClient, type KubeClient, type KubernetesObject, type ObjectRef, type ResourceKind, type V1Job, type V1Pod, type WatchHandler } from "../../lib/k8s";
import { JOB_NAME_LABEL } from "../../lib/manifests/job";
import ApiService from "../../services/api.service";
import { MAX_CMD_BYTES, type JobEntity } from "../../lib/api/jobs";
import JobsService from "../../services/k8s.jobs.service";
import KeysService from "../../services/keys.service";
import NamespacesService from "../../services/k8s.namespaces.service";
import { eventually } from "../helpers/eventually";
import { request } from "../helpers/mesh";

/**
 * The Kubernetes boundary, in memory: objects by kind/namespace/name, label-selector lists, watches
 * that see every write, and pod logs set by the test. Everything above it is the real service.
 */
class FakeKube {
	private readonly objects = new Map<string, KubernetesObject>();
	private readonly watchers: FakeInformer[] = [];
	private readonly podLogText = new Map<string, string>();
	private uid = 0;
	server = "https://fake";

	private key(kind: string, namespace: string | undefined, name: string): string {
		return `${kind}/${namespace ?? ""}/${name}`;
	}

	private notify(event: "add" | "update" | "delete", obj: KubernetesObject): void {
		for (const w of this.watchers) w.receive(event, obj);
	}

	async version(): Promise<string> {
		return "v1.36.0-fake";
	}

	async apply<T extends KubernetesObject>(obj: T): Promise<T> {
		const key = this.key(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!);
		const existing = this.objects.get(key);
		const stored = structuredClone(obj) as KubernetesObject & { status?: unknown };
		stored.metadata = { ...stored.metadata, uid: existing?.metadata?.uid ?? `uid-${++this.uid}`, creationTimestamp: existing?.metadata?.creationTimestamp ?? new Date(), resourceVersion: String(++this.uid) };
		stored.status = (existing as { status?: unknown } | undefined)?.status ?? (obj.kind === "Namespace" ? { phase: "Active" } : {});
		this.objects.set(key, stored);
		this.notify(existing ? "update" : "add", stored);
		return structuredClone(stored) as T;
	}

	async create<T extends KubernetesObject>(obj: T): Promise<T> {
		if (this.objects.has(this.key(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!))) throw Object.assign(new Error("already exists"), { code: 409, data: { reason: "AlreadyExists" } });
		return this.apply(obj);
	}

	async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
		const obj = this.objects.get(this.key(ref.kind, ref.namespace, ref.name));
		return obj ? (structuredClone(obj) as T) : undefined;
	}

	async list<T extends KubernetesObject>(resource: ResourceKind, opts: { namespace?: string; labelSelector?: string } = {}): Promise<T[]> {
		return [...this.objects.values()].filter(o => o.kind === resource.kind && (!opts.namespace || o.metadata?.namespace === opts.namespace) && matches(o, opts.labelSelector)).map(o => structuredClone(o) as T);
	}

	async delete(ref: ObjectRef, opts: { uid?: string } = {}): Promise<boolean> {
		const key = this.key(ref.kind, ref.namespace, ref.name);
		const obj = this.objects.get(key);
		if (!obj) return false;
		if (opts.uid && obj.metadata?.uid !== opts.uid) throw new Errors.MoleculerClientError("Precondition failed: UID in precondition", 409, "CONFLICT");
		this.objects.delete(key);
		this.notify("delete", obj);
		// Background propagation: a Job's pods go with it, a Namespace's content with it.
		if (ref.kind === "Job") for (const pod of await this.list<V1Pod>({ apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true }, { namespace: ref.namespace, labelSelector: `${JOB_NAME_LABEL}=${ref.name}` })) await this.delete({ apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, namespace: ref.namespace });
		if (ref.kind === "Namespace") for (const [k, o] of this.objects) if (o.metadata?.namespace === ref.name) this.objects.delete(k);
		return true;
	}

	async podLogs(namespace: string, pod: string): Promise<string> {
		if (!this.objects.has(this.key("Pod", namespace, pod))) throw new Errors.MoleculerClientError(`pods "${pod}" not found`, 404, "NOT_FOUND");
		return this.podLogText.get(`${namespace}/${pod}`) ?? "";
	}

	informer<T extends KubernetesObject>(resource: ResourceKind, handler: WatchHandler<T>, opts: { labelSelector?: string } = {}): FakeInformer {
		const informer = new FakeInformer(this, resource.kind, handler as WatchHandler<KubernetesObject>, opts.labelSelector);
		this.watchers.push(informer);
		return informer;
	}

	all(kind: string): KubernetesObject[] {
		return [...this.objects.values()].filter(o => o.kind === kind);
	}

	/** What the job controller and the kubelet would do: a pod that ran, its output, a final condition. */
	async finishJob(namespace: string, name: string, outcome: "Complete" | "Failed", logs: string): Promise<void> {
		const podName = `${name}-abcde`;
		await this.apply<V1Pod>({ apiVersion: "v1", kind: "Pod", metadata: { name: podName, namespace, labels: { [JOB_NAME_LABEL]: name } }, status: { phase: outcome === "Complete" ? "Succeeded" : "Failed" } });
		this.podLogText.set(`${namespace}/${podName}`, logs);
		const key = this.key("Job", namespace, name);
		const job = this.objects.get(key) as V1Job;
		const now = new Date();
		job.status = {
			startTime: now,
			...(outcome === "Complete" ? { succeeded: 1, completionTime: now } : { failed: 1 }),
			conditions: [{ type: outcome, status: "True", lastProbeTime: now, lastTransitionTime: now, reason: outcome === "Failed" ? "BackoffLimitExceeded" : undefined }],
		};
		this.notify("update", job);
	}

	/** Marks a Job running (an active pod). */
	async startJob(namespace: string, name: string): Promise<void> {
		const job = this.objects.get(this.key("Job", namespace, name)) as V1Job;
		job.status = { active: 1, ready: 1, startTime: new Date() };
		this.notify("update", job);
	}
}

function matches(obj: KubernetesObject, selector: string | undefined): boolean {
	if (!selector) return true;
	return selector.split(",").every(term => {
		const [k, v] = term.split("=");
		return obj.metadata?.labels?.[k] === v;
	});
}

class FakeInformer {
	hasSynced = false;
	constructor(private readonly kube: FakeKube, private readonly kind: string, private readonly handler: WatchHandler<KubernetesObject>, private readonly selector?: string) {}
	receive(event: "add" | "update" | "delete", obj: KubernetesObject): void {
		if (this.hasSynced && obj.kind === this.kind && matches(obj, this.selector)) this.handler(event, structuredClone(obj));
	}
	get(name: string, namespace?: string): KubernetesObject | undefined {
		return this.kube.all(this.kind).find(o => o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace) && matches(o, this.selector));
	}
	list(): KubernetesObject[] {
		return this.kube.all(this.kind).filter(o => matches(o, this.selector));
	}
	async start(): Promise<void> {
		this.hasSynced = true;
		for (const o of this.list()) this.handler("add", structuredClone(o));
	}
	async stop(): Promise<void> {
		this.hasSynced = false;
	}
}

const alice = { meta: { userID: "alice", roles: ["user"] } };
const bob = { meta: { userID: "bob", roles: ["user"] } };

describe("v1.k8s.jobs over a fake Kubernetes boundary", () => {
	const kube = new FakeKube();
	const events: { name: string; payload: JobEntity }[] = [];
	let broker: ServiceBroker;
	let nsA: { id: string; name: string };
	let nsB: { id: string; name: string };

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		delete process.env.MONGO_URI;
		process.env.JOBS_COMPAT_NAMESPACE = "orchestrator-unit";
		// One node: its controllers run without campaigning for a Lease the fake does not keep.
		process.env.LEADER_ELECTION = "false";
		setKubeClient(kube as unknown as KubeClient);
		broker = new ServiceBroker({ logger: false, validator: true });
		broker.createService(NamespacesService);
		broker.createService(JobsService);
		broker.createService({
			name: "listener",
			events: {
				"k8s.jobs.completed"(ctx: Context<JobEntity>) {
					events.push({ name: String(ctx.eventName), payload: ctx.params });
				},
				"k8s.jobs.failed"(ctx: Context<JobEntity>) {
					events.push({ name: String(ctx.eventName), payload: ctx.params });
				},
			},
		});
		await broker.start();
		nsA = await broker.call("v1.k8s.namespaces.create", { name: "team-a" }, alice);
		nsB = await broker.call("v1.k8s.namespaces.create", { name: "team-b" }, bob);
	});
	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	const create = (params: Record<string, unknown>, opts = alice) => broker.call<JobEntity, Record<string, unknown>>("v1.k8s.jobs.create", params, opts);

	it("creates a Job named by a UUID in the caller's namespace, with safe defaults", async () => {
		const job = await create({ cmd: 'python3 -c "import this"', namespace: "team-a" });
		expect(job).toMatchObject({ namespace: nsA.id, namespaceName: "team-a", owner: "alice", phase: "Pending", image: "python:3.12-slim", command: ["sh", "-c", 'python3 -c "import this"'] });
		expect(job.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(job).not.toHaveProperty("logs");
		const live = (await kube.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: "team-a" }))!;
		expect(live.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600 });
		expect(live.spec!.template.spec).toMatchObject({ automountServiceAccountToken: false, restartPolicy: "Never" });
		expect(live.spec!.template.spec!.containers[0].resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
	});

	it("takes an argv, an image, env, resources, a timeout and a TTL", async () => {
		const job = await create({
			command: ["python3", "-c", "print(1)"],
			image: "python:3.13-alpine",
			namespace: nsA.id,
			env: { GREETING: "hi" },
			resources: { requests: { cpu: "250m" }, limits: { memory: "1Gi" } },
			timeoutSeconds: 30,
			ttlSecondsAfterFinished: 120,
			backoffLimit: 2,
		});
		const live = (await kube.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: "team-a" }))!;
		const container = live.spec!.template.spec!.containers[0];
		expect(container).toMatchObject({ image: "python:3.13-alpine", command: ["python3", "-c", "print(1)"], env: [{ name: "GREETING", value: "hi" }] });
		expect(container.resources).toEqual({ requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "500m", memory: "1Gi" } });
		expect(live.spec).toMatchObject({ activeDeadlineSeconds: 30, ttlSecondsAfterFinished: 120, backoffLimit: 2 });
	});

	it("refuses bad input with 422 naming the field", async () => {
		const fieldsOf = async (params: Record<string, unknown>) => {
			const err = await create({ namespace: "team-a", ...params }).then(
				() => undefined,
				e => e,
			);
			expect(err).toMatchObject({ code: 422 });
			return (err.data as { field: string }[]).map(f => f.field);
		};
		expect(await fieldsOf({ cmd: "" })).toEqual(["cmd"]);
		expect(await fieldsOf({ cmd: "   " })).toEqual(["cmd"]);
		expect(await fieldsOf({})).toEqual(["cmd"]);
		expect(await fieldsOf({ cmd: "echo a", command: ["echo", "a"] })).toEqual(["cmd", "command"]);
		expect(await fieldsOf({ cmd: "x".repeat(MAX_CMD_BYTES + 1) })).toEqual(["cmd"]);
		// Under the limit in characters, over it in bytes.
		expect(await fieldsOf({ cmd: "é".repeat(MAX_CMD_BYTES / 2 + 1) })).toEqual(["cmd"]);
		expect(await fieldsOf({ command: [] })).toEqual(["command"]);
		expect(await fieldsOf({ command: [""] })).toEqual(["command"]);
		expect(await fieldsOf({ cmd: "true", env: { "1BAD": "x" } })).toEqual(["env[0].name"]);
		expect(await fieldsOf({ cmd: "true", resources: { requests: { cpu: "lots" } } })).toEqual(["resources.requests.cpu"]);
		expect(await fieldsOf({ cmd: "true", resources: { requests: { memory: "1Gi" }, limits: { memory: "256Mi" } } })).toEqual(["resources.requests.memory"]);
		expect(await fieldsOf({ cmd: "true", resources: { limits: { cpu: "64" } } })).toEqual(["resources.limits.cpu"]);
		expect(await fieldsOf({ cmd: "true", timeoutSeconds: 0 })).toEqual(["timeoutSeconds"]);
		expect(await fieldsOf({ cmd: "true", image: "bad image" })).toEqual(["image"]);
		expect(kube.all("Job").every(j => j.metadata?.namespace === "team-a")).toBe(true);
	});

	it("runs jobs only in the caller's namespaces: another tenant's is 404", async () => {
		await expect(create({ cmd: "true", namespace: "team-b" })).rejects.toMatchObject({ code: 404 });
		await expect(create({ cmd: "true", namespace: nsB.id })).rejects.toMatchObject({ code: 404 });
		await expect(create({ cmd: "true", namespace: "nowhere" })).rejects.toMatchObject({ code: 404 });
		await expect(create({ cmd: "true", namespace: "team-a" }, { meta: { userID: "alice", roles: ["user"], namespaces: ["other"] } } as typeof alice)).rejects.toMatchObject({ code: 404 });
	});

	it("records status from the watch, captures logs when the job finishes, and announces it", async () => {
		const job = await create({ cmd: "echo hello", namespace: "team-a" });
		await kube.startJob("team-a", job.name);
		await eventually(async () => expect(await broker.call("v1.k8s.jobs.status", { id: job.id }, alice)).toMatchObject({ phase: "Running", active: 1 }));
		// Before it finishes, logs are read live from the pods (none yet).
		expect(await broker.call("v1.k8s.jobs.logs", { id: job.id }, alice)).toBe("");

		await kube.finishJob("team-a", job.name, "Complete", "hello\n");
		const status = await eventually(async () => {
			const s = await broker.call<Record<string, unknown>, object>("v1.k8s.jobs.status", { id: job.id }, alice);
			expect(s).toMatchObject({ phase: "Complete", succeeded: 1, conditions: [{ type: "Complete", status: "True" }] });
			return s;
		});
		expect(typeof status.completionTime).toBe("string");
		expect(await broker.call("v1.k8s.jobs.logs", { id: job.id }, alice)).toBe("hello\n");
		await eventually(() => expect(events.filter(e => e.payload.id === job.id)).toEqual([{ name: "k8s.jobs.completed", payload: expect.objectContaining({ id: job.id, phase: "Complete" }) }]));

		// The Job and its pod are gone; the logs, status and entity are not.
		await kube.delete({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: "team-a" });
		expect(kube.all("Pod").filter(p => p.metadata?.labels?.[JOB_NAME_LABEL] === job.name)).toEqual([]);
		expect(await broker.call("v1.k8s.jobs.logs", { id: job.id }, alice)).toBe("hello\n");
		expect(await broker.call("v1.k8s.jobs.get", { id: job.id }, alice)).toMatchObject({ phase: "Complete", logsCapturedAt: expect.any(String) });
		// A later event for the finished job changes nothing and announces nothing again.
		await new Promise(r => setTimeout(r, 50));
		expect(events.filter(e => e.payload.id === job.id)).toHaveLength(1);
	});

	it("announces failed jobs", async () => {
		const job = await create({ cmd: "exit 3", namespace: "team-a" });
		await kube.finishJob("team-a", job.name, "Failed", "boom\n");
		await eventually(() => expect(events.find(e => e.payload.id === job.id)).toMatchObject({ name: "k8s.jobs.failed", payload: { phase: "Failed" } }));
		expect(await broker.call("v1.k8s.jobs.logs", { id: job.id }, alice)).toBe("boom\n");
	});

	it("hides another tenant's jobs as 404 and from lists", async () => {
		const job = await create({ cmd: "true", namespace: "team-a" });
		for (const action of ["get", "status", "logs", "remove"]) await expect(broker.call(`v1.k8s.jobs.${action}`, { id: job.id }, bob)).rejects.toMatchObject({ code: 404 });
		expect((await broker.call<JobEntity[], object>("v1.k8s.jobs.list", {}, bob)).map(j => j.id)).not.toContain(job.id);
		expect((await broker.call<JobEntity[], object>("v1.k8s.jobs.list", {}, alice)).map(j => j.id)).toContain(job.id);
		expect((await broker.call<JobEntity[], object>("v1.k8s.jobs.list", { namespace: "team-a" }, alice)).every(j => j.namespaceName === "team-a")).toBe(true);
		await expect(broker.call("v1.k8s.jobs.list", { namespace: "team-a" }, bob)).rejects.toMatchObject({ code: 404 });
		// A key confined to other namespaces does not see them either.
		await expect(broker.call("v1.k8s.jobs.get", { id: job.id }, { meta: { userID: "alice", roles: ["user"], namespaces: ["elsewhere"] } })).rejects.toMatchObject({ code: 404 });
	});

	it("removes a job: the Job leaves the cluster, the entity the DB", async () => {
		const job = await create({ cmd: "sleep 100", namespace: "team-a" });
		await broker.call("v1.k8s.jobs.remove", { id: job.id }, alice);
		expect(await kube.get({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: "team-a" })).toBeUndefined();
		await expect(broker.call("v1.k8s.jobs.get", { id: job.id }, alice)).rejects.toMatchObject({ code: 404 });
	});

	it("marks a job deleted outside Berth before it finished, once the watch has caught up", async () => {
		const job = await create({ cmd: "sleep 100", namespace: "team-a" });
		// Entities younger than 30s may not be applied yet, so age this one.
		const svc = broker.getLocalService("v1.k8s.jobs") as unknown as { adapter: { updateMany(q: object, u: object): Promise<number> }; syncJob(key: string): Promise<void> };
		await svc.adapter.updateMany({ name: job.name }, { $set: { createdAt: new Date(Date.now() - 60_000).toISOString() } });
		await kube.delete({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: "team-a" });
		await svc.syncJob(`team-a/${job.name}`);
		expect(await broker.call("v1.k8s.jobs.status", { id: job.id }, alice)).toMatchObject({ phase: "Deleted" });
		await eventually(() => expect(events.find(e => e.payload.id === job.id)).toMatchObject({ name: "k8s.jobs.failed", payload: { reason: "Deleted" } }));
	});

	it("forgets a namespace's jobs when the namespace is removed", async () => {
		const ns = await broker.call<{ id: string }, object>("v1.k8s.namespaces.create", { name: "team-short" }, alice);
		const job = await create({ cmd: "true", namespace: ns.id });
		await broker.call("v1.k8s.namespaces.remove", { id: ns.id }, alice);
		await eventually(async () => expect(await broker.call("v1.k8s.jobs.get", { id: job.id }, alice).catch(e => e.code)).toBe(404));
	});

	describe("the seed's /jobs actions", () => {
		it("create in a Berth-owned shared namespace and answer in snake_case", async () => {
			const created = await broker.call<Record<string, any>, object>("v1.k8s.jobs.compatCreate", { cmd: 'python3 -c "import this"' }, alice);
			expect(created).toMatchObject({ api_version: "batch/v1", kind: "Job", metadata: { namespace: "orchestrator-unit", annotations: expect.any(Object), cluster_name: null } });
			expect(created.spec.template.spec.containers[0].command).toEqual(["sh", "-c", 'python3 -c "import this"']);
			const ns = await broker.call<{ owner: string }, object>("v1.k8s.namespaces.resolveName", { name: "orchestrator-unit" });
			expect(ns.owner).toBe("system");
			const name = created.metadata.name as string;
			// The job is the caller's, though "system" owns the namespace it runs in.
			expect((await broker.call<JobEntity[], object>("v1.k8s.jobs.list", {}, alice)).find(j => j.name === name)).toMatchObject({ owner: "alice", members: [], compat: true });

			expect(await broker.call("v1.k8s.jobs.compatList", {}, alice)).toEqual([expect.objectContaining({ job: name, active: null, succeeded: null })]);
			expect(await broker.call("v1.k8s.jobs.compatList", {}, bob)).toEqual([]);
			await kube.finishJob("orchestrator-unit", name, "Complete", "Beautiful is better than ugly.\n");
			await eventually(async () => expect(await broker.call("v1.k8s.jobs.compatStatus", { job: name }, alice)).toMatchObject({ succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }));
			expect(await broker.call("v1.k8s.jobs.compatLogs", { job: name }, alice)).toBe("Beautiful is better than ugly.\n");
			expect(await broker.call("v1.k8s.jobs.compatGet", { job: name }, alice)).toMatchObject({ metadata: { name }, status: { succeeded: 1 } });

			for (const action of ["compatGet", "compatStatus", "compatLogs"]) await expect(broker.call(`v1.k8s.jobs.${action}`, { job: name }, bob)).rejects.toMatchObject({ code: 404 });
			// Bob's own job in the shared namespace is his alone.
			const bobs = await broker.call<Record<string, any>, object>("v1.k8s.jobs.compatCreate", { cmd: "true" }, bob);
			expect((await broker.call<{ job: string }[], object>("v1.k8s.jobs.compatList", {}, alice)).map(r => r.job)).toEqual([name]);
			expect((await broker.call<{ job: string }[], object>("v1.k8s.jobs.compatList", {}, bob)).map(r => r.job)).toEqual([bobs.metadata.name]);

			// Detail after the Job is gone: the last state the watch saw.
			await kube.delete({ apiVersion: "batch/v1", kind: "Job", name, namespace: "orchestrator-unit" });
			expect(await broker.call("v1.k8s.jobs.compatGet", { job: name }, alice)).toMatchObject({ kind: "Job", metadata: { name, namespace: "orchestrator-unit" }, status: { succeeded: 1 } });
			expect(await broker.call("v1.k8s.jobs.compatLogs", { job: name }, alice)).toBe("Beautiful is better than ugly.\n");
		});

		it("refuse bad input and jobs outside the shared namespace", async () => {
			await expect(broker.call("v1.k8s.jobs.compatCreate", { cmd: "" }, alice)).rejects.toMatchObject({ code: 422, data: [{ field: "cmd" }] });
			await expect(broker.call("v1.k8s.jobs.compatCreate", {}, alice)).rejects.toMatchObject({ code: 422, data: [{ field: "cmd" }] });
			await expect(broker.call("v1.k8s.jobs.compatCreate", { cmd: "a", command: ["a"] }, alice)).rejects.toMatchObject({ code: 422 });
			const job = await create({ cmd: "true", namespace: "team-a" });
			await expect(broker.call("v1.k8s.jobs.compatStatus", { job: job.name }, alice)).rejects.toMatchObject({ code: 404 });
		});

		it("never use a tenant's namespace of the configured name", async () => {
			const svc = broker.getLocalService("v1.k8s.jobs") as unknown as { settings: { compatNamespace: string } };
			svc.settings.compatNamespace = "taken-by-bob";
			try {
				await broker.call("v1.k8s.namespaces.create", { name: "taken-by-bob" }, bob);
				await expect(broker.call("v1.k8s.jobs.compatCreate", { cmd: "true" }, alice)).rejects.toMatchObject({ code: 409 });
				await expect(broker.call("v1.k8s.jobs.compatCreate", { cmd: "true" }, { meta: { userID: "alice", namespaces: ["team-a"] } })).rejects.toMatchObject({ code: 403 });
			} finally {
				svc.settings.compatNamespace = "orchestrator-unit";
			}
		});
	});
});

describe("the seed's routes through the gateway", () => {
	const kube = new FakeKube();
	let broker: ServiceBroker;
	let url: string;
	const adminKey = "berth_000000000000_unit-jobs-admin-key-00000000000000";

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		delete process.env.MONGO_URI;
		process.env.BERTH_ADMIN_KEY = adminKey;
		process.env.PORT = "0";
		process.env.JOBS_COMPAT_NAMESPACE = "orchestrator";
		process.env.LEADER_ELECTION = "false";
		setKubeClient(kube as unknown as KubeClient);
		broker = new ServiceBroker({ logger: false, validator: true });
		for (const schema of [ApiService, KeysService, NamespacesService, JobsService]) broker.createService(schema as never);
		await broker.start();
		const api = broker.getLocalService("api") as unknown as { server: http.Server };
		url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
	});
	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	it("serves POST /jobs and GET /jobs/:job/... at the root, authenticated, with JSON bodies parsed", async () => {
		expect((await request(`${url}/jobs`, { method: "POST", body: { cmd: "echo hi" } })).status).toBe(401);
		const created = await request(`${url}/jobs`, { method: "POST", key: adminKey, body: { cmd: "echo hi" } });
		expect(created.status).toBe(200);
		expect(created.body).toMatchObject({ api_version: "batch/v1", kind: "Job", metadata: { namespace: "orchestrator" } });
		const name = created.body.metadata.name as string;
		await kube.finishJob("orchestrator", name, "Complete", "hi\n");
		await eventually(async () => expect((await request(`${url}/jobs/${name}/status`, { key: adminKey })).body).toMatchObject({ succeeded: 1 }));
		const logs = await request(`${url}/jobs/${name}/logs`, { key: adminKey });
		expect(logs.headers.get("content-type")).toMatch(/^text\/plain/);
		expect(logs.text).toBe("hi\n");
		expect((await request(`${url}/jobs`, { key: adminKey })).body).toEqual([expect.objectContaining({ job: name, succeeded: 1 })]);
		expect((await request(`${url}/jobs/${name}`, { key: adminKey })).body).toMatchObject({ metadata: { name } });
		const bad = await request(`${url}/jobs`, { method: "POST", key: adminKey, body: { cmd: "" } });
		expect(bad.status).toBe(422);
		expect(bad.body).toMatchObject({ code: 422, data: [{ field: "cmd" }] });
	});
});
