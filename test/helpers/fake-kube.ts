import { PassThrough, type Writable } from "node:stream";
import { Errors, ServiceBroker } from "moleculer";
import { apiserverRequests, KubeClient, setKubeClient, type KubernetesObject, type ObjectRef, type ResourceKind, type WatchEvent, type WatchHandler } from "../../lib/k8s";
import DeploymentsService from "../../services/k8s.deployments.service";
import EnvsService from "../../services/k8s.envs.service";
import ImagesService from "../../services/k8s.images.service";
import NamespacesService from "../../services/k8s.namespaces.service";

/** Counted like the real client's requests (lib/k8s's apiserverRequests), so cost tests read one counter. */
function count(verb: string): void {
	apiserverRequests.byVerb.set(verb, (apiserverRequests.byVerb.get(verb) ?? 0) + 1);
}

// An in-memory stand-in for lib/k8s's KubeClient: the only thing these tests replace. Applying a
// Deployment runs its pods at once (as kwok does), so status, pods and logs have something to show.

export type Obj = KubernetesObject & { spec?: any; status?: any; data?: Record<string, string> };
export const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

/** What the apiserver does with `metadata.uid` in an apply: another object's uid is 422 (immutable), none of that name 409. */
export function uidPrecondition(obj: Obj, existing: Obj | undefined): void {
	const uid = obj.metadata?.uid;
	if (!uid) return;
	if (!existing) throw new Errors.MoleculerClientError(`uid mismatch: the provided object specified uid ${uid}, and no existing object was found`, 409, "CONFLICT");
	if (existing.metadata?.uid !== uid) throw new Errors.MoleculerClientError("metadata.uid: field is immutable", 422, "K8S_INVALID", [{ field: "metadata.uid", message: "field is immutable" }]);
}

/** `k=v`, `k!=v` and `k in (a,b)` terms, comma-separated (what Berth's selectors use). */
export function matches(selector: string | undefined, labels: Record<string, string> = {}): boolean {
	if (!selector) return true;
	const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
	return terms.every(raw => {
		const term = raw.trim();
		const inMatch = /^(\S+)\s+in\s+\(([^)]*)\)$/.exec(term);
		if (inMatch) return inMatch[2].split(",").map(s => s.trim()).includes(labels[inMatch[1]]);
		const [k, v] = term.split("=");
		return labels[k.trim()] === v?.trim();
	});
}

class FakeInformer {
	started = false;
	constructor(readonly kind: string, readonly handler: WatchHandler<KubernetesObject>, readonly selector?: string) {}
	async start() {
		this.started = true;
	}
	async stop() {
		this.started = false;
	}
	notify(event: WatchEvent, obj: Obj) {
		if (this.started && obj.kind === this.kind && matches(this.selector, obj.metadata?.labels)) this.handler(event, clone(obj));
	}
}

export class FakeKube {
	readonly objects = new Map<string, Obj>();
	readonly informers: FakeInformer[] = [];
	applies: Obj[] = [];
	private seq = 0;
	readonly custom = {
		listNamespacedCustomObject: async () => {
			throw new Errors.MoleculerClientError("the server could not find the requested resource", 404, "NOT_FOUND");
		},
	};

	private key(kind: string, name: string, ns?: string) {
		return `${kind}/${ns ?? ""}/${name}`;
	}
	peek<T = Obj>(kind: string, name: string, ns?: string): T | undefined {
		const o = this.objects.get(this.key(kind, name, ns));
		return o ? (clone(o) as T) : undefined;
	}
	all(kind: string, ns?: string): Obj[] {
		return [...this.objects.values()].filter(o => o.kind === kind && (ns === undefined || o.metadata?.namespace === ns)).map(clone);
	}
	private put(obj: Obj): Obj {
		const k = this.key(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace);
		const existing = this.objects.get(k);
		if (obj.kind === "Service") this.assignNodePorts(obj, existing);
		const changed = !existing || JSON.stringify({ ...existing, metadata: undefined, status: undefined }) !== JSON.stringify({ ...obj, metadata: undefined, status: undefined });
		const generation = (existing?.metadata?.generation ?? 0) + (changed ? 1 : 0);
		const stored = clone({ ...obj, metadata: { ...obj.metadata, uid: existing?.metadata?.uid ?? `uid-${++this.seq}`, generation, creationTimestamp: existing?.metadata?.creationTimestamp ?? new Date().toISOString() } }) as Obj;
		stored.status ??= existing?.status;
		if (stored.kind === "Namespace") stored.status = { phase: "Active" };
		if (stored.kind === "PersistentVolumeClaim") stored.status = { phase: "Bound" };
		this.objects.set(k, stored);
		if (stored.kind === "Deployment" && changed) this.runPods(stored);
		if (changed) for (const i of this.informers) i.notify(existing ? "update" : "add", stored);
		return clone(this.objects.get(k) as Obj);
	}
	/** What the apiserver does: a NodePort Service's ports get node ports, kept across applies that leave them out. */
	private assignNodePorts(svc: Obj, existing: Obj | undefined) {
		const ports: { port: number; nodePort?: number }[] = svc.spec?.ports ?? [];
		for (const p of ports) {
			if (svc.spec?.type !== "NodePort") delete p.nodePort;
			else p.nodePort ??= (existing?.spec?.ports as typeof ports | undefined)?.find(e => e.port === p.port)?.nodePort ?? 30000 + ++this.seq;
		}
	}
	/** What the Deployment and ReplicaSet controllers and kwok do, at once. */
	private runPods(dep: Obj) {
		const ns = dep.metadata!.namespace!;
		for (const pod of this.all("Pod", ns)) if (matches(Object.entries(dep.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(","), pod.metadata?.labels)) this.objects.delete(this.key("Pod", pod.metadata!.name!, ns));
		const hash = `h${dep.metadata!.generation}`;
		for (let i = 0; i < dep.spec.replicas; i++) {
			const name = `${dep.metadata!.name}-${hash}-${i}`;
			this.objects.set(this.key("Pod", name, ns), {
				apiVersion: "v1",
				kind: "Pod",
				metadata: { name, namespace: ns, labels: dep.spec.template.metadata.labels, annotations: dep.spec.template.metadata.annotations },
				spec: { ...dep.spec.template.spec, nodeName: "fake-node" },
				status: {
					phase: "Running",
					podIP: `10.0.0.${i + 1}`,
					startTime: new Date().toISOString(),
					conditions: [{ type: "Ready", status: "True" }],
					containerStatuses: dep.spec.template.spec.containers.map((c: { name: string }) => ({ name: c.name, ready: true, restartCount: 0, image: "x", imageID: "x", state: { running: { startedAt: new Date().toISOString() } } })),
				},
			} as Obj);
		}
		const n = dep.spec.replicas;
		dep.status = { observedGeneration: dep.metadata!.generation, replicas: n, readyReplicas: n, availableReplicas: n, updatedReplicas: n, conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }] };
		this.objects.set(this.key("Deployment", dep.metadata!.name!, ns), dep);
	}

	// The KubeClient surface. prune and podMetrics are the real client's, over this fake's list,
	// delete, call and custom.
	prune = KubeClient.prototype.prune;
	podMetrics = KubeClient.prototype.podMetrics;
	async call<R>(_context: string, fn: () => Promise<R>): Promise<R> {
		return fn();
	}
	async apply<T extends KubernetesObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
		count(opts.dryRun ? "dry-run" : "apply");
		const o = obj as Obj;
		if (o.metadata?.namespace && !this.peek("Namespace", o.metadata.namespace)) throw new Errors.MoleculerClientError(`namespaces "${o.metadata.namespace}" not found`, 404, "NOT_FOUND");
		if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.metadata?.name ?? "")) throw new Errors.MoleculerClientError("invalid name", 422, "K8S_INVALID", [{ field: "metadata.name", message: "invalid" }]);
		if (opts.dryRun) return clone(obj);
		uidPrecondition(o, this.peek(o.kind!, o.metadata!.name!, o.metadata?.namespace));
		this.applies.push(clone(o));
		return this.put(clone(o)) as unknown as T;
	}
	/** Like the apiserver: 409 AlreadyExists (as lib/k8s maps it) when the name is taken. */
	async create<T extends KubernetesObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
		count(opts.dryRun ? "dry-run" : "create");
		const o = obj as Obj;
		if (o.metadata?.namespace && !this.peek("Namespace", o.metadata.namespace)) throw new Errors.MoleculerClientError(`namespaces "${o.metadata.namespace}" not found`, 404, "NOT_FOUND");
		if (this.peek(o.kind!, o.metadata!.name!, o.metadata?.namespace))
			throw new Errors.MoleculerClientError(`${o.kind} "${o.metadata?.name}" already exists`, 409, "CONFLICT", { kind: o.kind, name: o.metadata?.name, reason: "AlreadyExists" });
		if (opts.dryRun) return clone(obj);
		this.applies.push(clone(o));
		return this.put(clone(o)) as unknown as T;
	}
	async mergeMetadata<T extends KubernetesObject>(obj: T): Promise<T> {
		count("patch");
		const live = this.peek(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace);
		if (!live) throw new Errors.MoleculerClientError("not found", 404, "NOT_FOUND");
		const { labels, annotations } = obj.metadata ?? {};
		return this.put({ ...live, metadata: { ...live.metadata, labels: { ...live.metadata?.labels, ...labels }, annotations: { ...live.metadata?.annotations, ...annotations } } }) as unknown as T;
	}
	async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
		count("get");
		return this.peek<T>(ref.kind, ref.name, ref.namespace);
	}
	async list<T extends KubernetesObject>(resource: ResourceKind, opts: { namespace?: string; labelSelector?: string } = {}): Promise<T[]> {
		count("list");
		return this.all(resource.kind, opts.namespace).filter(o => matches(opts.labelSelector, o.metadata?.labels)) as unknown as T[];
	}
	async delete(ref: ObjectRef, opts: { uid?: string } = {}): Promise<boolean> {
		count("delete");
		const k = this.key(ref.kind, ref.name, ref.namespace);
		const obj = this.objects.get(k);
		if (!obj) return false;
		if (opts.uid && obj.metadata?.uid !== opts.uid) throw new Errors.MoleculerClientError("Precondition failed: UID in precondition", 409, "CONFLICT");
		this.objects.delete(k);
		if (ref.kind === "Namespace") for (const [key, o] of [...this.objects]) if (o.metadata?.namespace === ref.name) this.objects.delete(key);
		if (ref.kind === "Deployment") for (const pod of this.all("Pod", ref.namespace)) if (pod.metadata?.name?.startsWith(`${ref.name}-`)) this.objects.delete(this.key("Pod", pod.metadata.name, ref.namespace));
		for (const i of this.informers) i.notify("delete", obj);
		return true;
	}
	async podLogs(namespace: string, pod: string, opts: { tailLines?: number } = {}): Promise<string> {
		if (!this.peek("Pod", pod, namespace)) throw new Errors.MoleculerClientError("pod not found", 404, "NOT_FOUND");
		const lines = ["one", "two", "three"].map(l => `${pod} ${l}`);
		return lines.slice(-(opts.tailLines ?? lines.length)).join("\n") + "\n";
	}
	/** Like the apiserver with follow=true: the stream stays open until aborted. */
	followForever = false;
	async followLogs(_namespace: string, pod: string, out: Writable): Promise<AbortController> {
		const controller = new AbortController();
		if (this.followForever) {
			// What client-node does: pipe the response body, with no error listener of its own.
			const source = new PassThrough();
			const timer = setInterval(() => source.write(`${pod} tick\n`), 5);
			controller.signal.addEventListener("abort", () => {
				clearInterval(timer);
				source.destroy(Object.assign(new Error("This operation was aborted"), { name: "AbortError" }));
			});
			source.pipe(out);
			return controller;
		}
		out.write(`${pod} first\n${pod} sec`);
		setTimeout(() => {
			out.write("ond\n");
			out.end();
		}, 5);
		return controller;
	}
	informer(resource: ResourceKind, handler: WatchHandler<KubernetesObject>, opts: { labelSelector?: string } = {}) {
		const i = new FakeInformer(resource.kind, handler, opts.labelSelector);
		this.informers.push(i);
		return i;
	}
	/** A deletion no watch reports (a dropped watch connection). */
	forget(kind: string, name: string, ns: string) {
		this.objects.delete(this.key(kind, name, ns));
	}
	/** kubectl delete, as a user would do it behind Berth's back. */
	async drift(kind: string, name: string, ns: string) {
		await this.delete({ apiVersion: "v1", kind, name, namespace: ns });
	}
}

/**
 * One node with namespaces, images, deployments and envs over `kube`, on in-memory NeDB, running
 * its watches without a Lease (the fake keeps none) and resyncing every second. The caller stops
 * it and calls setKubeClient(undefined).
 */
export async function startDeploymentsNode(kube: FakeKube): Promise<ServiceBroker> {
	process.env.DATA_DIR = ":memory:";
	delete process.env.MONGO_URI;
	// Short, so that a deletion no watch reports is healed within the test.
	process.env.RESYNC_SECONDS = "1";
	// One node: it runs the watches without campaigning for a Lease the fake does not keep.
	process.env.LEADER_ELECTION = "false";
	setKubeClient(kube as unknown as KubeClient);
	const broker = new ServiceBroker({ logger: false, validator: true });
	for (const schema of [NamespacesService, ImagesService, DeploymentsService, EnvsService]) broker.createService(schema as never);
	await broker.start();
	return broker;
}
