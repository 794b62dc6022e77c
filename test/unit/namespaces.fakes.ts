import { Errors, ServiceBroker, type ServiceSchema } from "moleculer";
import { setKubeClient, type KubeClient, type KubernetesObject, type ObjectRef, type ResourceKind, type WatchEvent, type WatchHandler } from "../../lib/k8s";
import { uidPrecondition } from "../helpers/fake-kube";

/**
 * An in-memory stand-in for the Kubernetes boundary (lib/k8s's KubeClient), for unit tests only:
 * apply/get/list/delete over a map, and informers that see every change. Failures are the mesh
 * errors the real client maps apiserver answers to.
 */
type Obj = KubernetesObject & { spec?: unknown; status?: Record<string, unknown> };

function matches(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
	if (!selector) return true;
	return selector.split(",").every(term => {
		const [k, v] = term.split("=");
		return labels?.[k.trim()] === v?.trim();
	});
}

const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

export class FakeInformer<T extends KubernetesObject> {
	hasSynced = false;
	constructor(
		private readonly kube: FakeKube,
		readonly resource: ResourceKind,
		private readonly handler: WatchHandler<T>,
		private readonly labelSelector?: string,
	) {}
	async start(): Promise<void> {
		this.hasSynced = true;
		for (const obj of this.list()) this.handler("add", obj);
	}
	async stop(): Promise<void> {
		this.hasSynced = false;
		this.kube.informers = this.kube.informers.filter(i => i !== (this as unknown));
	}
	list(namespace?: string): T[] {
		return this.kube.all(this.resource.kind, namespace).filter(o => matches(this.labelSelector, o.metadata?.labels)) as unknown as T[];
	}
	get(name: string, namespace?: string): T | undefined {
		const obj = this.kube.peek(this.resource.kind, name, namespace);
		return obj && matches(this.labelSelector, obj.metadata?.labels) ? (clone(obj) as unknown as T) : undefined;
	}
	notify(event: WatchEvent, obj: Obj): void {
		if (this.hasSynced && obj.kind === this.resource.kind && matches(this.labelSelector, obj.metadata?.labels)) this.handler(event, clone(obj) as unknown as T);
	}
}

export class FakeKube {
	readonly objects = new Map<string, Obj>();
	informers: FakeInformer<KubernetesObject>[] = [];
	/** Return an error to make apply of that object fail. */
	failApply?: (obj: Obj) => Error | undefined;
	private uid = 0;

	private key(kind: string, name: string, namespace?: string): string {
		return `${kind}/${namespace ?? ""}/${name}`;
	}

	peek(kind: string, name: string, namespace?: string): Obj | undefined {
		return this.objects.get(this.key(kind, name, namespace));
	}

	all(kind: string, namespace?: string): Obj[] {
		return [...this.objects.values()].filter(o => o.kind === kind && (namespace === undefined || o.metadata?.namespace === namespace)).map(clone);
	}

	/** Puts an object as if someone else (kubectl, a controller) had made it. */
	put(obj: Obj): Obj {
		const existing = this.peek(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace);
		const stored: Obj = clone({ ...obj, metadata: { ...obj.metadata, uid: existing?.metadata?.uid ?? `uid-${++this.uid}` } });
		if (!stored.status) stored.status = existing?.status ?? (obj.kind === "Namespace" ? { phase: "Active" } : obj.kind === "PersistentVolumeClaim" ? { phase: "Pending" } : undefined);
		this.objects.set(this.key(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace), stored);
		for (const i of this.informers) i.notify(existing ? "update" : "add", stored);
		return clone(stored);
	}

	/** Changes an object's status as a controller would. */
	setStatus(kind: string, name: string, namespace: string | undefined, status: Record<string, unknown>): void {
		const obj = this.peek(kind, name, namespace);
		if (!obj) throw new Error(`no ${kind} ${namespace}/${name}`);
		this.put({ ...obj, status: { ...(obj.status ?? {}), ...status } });
	}

	// The KubeClient surface the services use.

	async apply<T extends KubernetesObject>(obj: T): Promise<T> {
		const err = this.failApply?.(obj as Obj);
		if (err) throw err;
		if (obj.metadata?.namespace && !this.peek("Namespace", obj.metadata.namespace))
			throw new Errors.MoleculerClientError(`namespaces "${obj.metadata.namespace}" not found`, 404, "NOT_FOUND");
		const existing = this.peek(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace);
		uidPrecondition(obj as Obj, existing);
		return this.put({ ...(clone(obj) as Obj), status: existing?.status }) as unknown as T;
	}

	/** Like the apiserver's create: 409 when it exists already. */
	async create<T extends KubernetesObject>(obj: T): Promise<T> {
		const err = this.failApply?.(obj as Obj);
		if (err) throw err;
		if (this.peek(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace)) throw new Errors.MoleculerClientError(`${obj.kind} "${obj.metadata?.name}" already exists`, 409, "CONFLICT");
		return this.put(clone(obj) as Obj) as unknown as T;
	}

	async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
		const obj = this.peek(ref.kind, ref.name, ref.namespace);
		return obj ? (clone(obj) as unknown as T) : undefined;
	}

	async list<T extends KubernetesObject>(resource: ResourceKind, opts: { namespace?: string; labelSelector?: string } = {}): Promise<T[]> {
		return this.all(resource.kind, opts.namespace).filter(o => matches(opts.labelSelector, o.metadata?.labels)) as unknown as T[];
	}

	/** Deleting a Namespace takes everything in it, like the namespace controller. */
	async delete(ref: ObjectRef, opts: { uid?: string } = {}): Promise<boolean> {
		const obj = this.peek(ref.kind, ref.name, ref.namespace);
		if (!obj) return false;
		if (opts.uid && obj.metadata?.uid !== opts.uid) throw new Errors.MoleculerClientError("Precondition failed: UID in precondition", 409, "CONFLICT");
		if (ref.kind === "Namespace") for (const o of [...this.objects.values()]) if (o.metadata?.namespace === ref.name) this.remove(o);
		this.remove(obj);
		return true;
	}

	private remove(obj: Obj): void {
		this.objects.delete(this.key(obj.kind!, obj.metadata!.name!, obj.metadata?.namespace));
		for (const i of this.informers) i.notify("delete", obj);
	}

	informer<T extends KubernetesObject>(resource: ResourceKind, handler: WatchHandler<T>, opts: { labelSelector?: string } = {}): FakeInformer<T> {
		const informer = new FakeInformer<T>(this, resource, handler, opts.labelSelector);
		this.informers.push(informer as unknown as FakeInformer<KubernetesObject>);
		return informer;
	}

	asClient(): KubeClient {
		return this as unknown as KubeClient;
	}
}

/**
 * A started broker with these services (schemas or spies) on an in-memory NeDB store, with `kube`
 * as the cluster. The caller stops it and calls `setKubeClient(undefined)` after.
 */
export async function startFakeNode(kube: FakeKube, services: object[]): Promise<ServiceBroker> {
	setKubeClient(kube.asClient());
	process.env.DATA_DIR = ":memory:";
	delete process.env.MONGO_URI;
	const broker = new ServiceBroker({ logger: false });
	for (const schema of services) broker.createService(schema as ServiceSchema);
	await broker.start();
	return broker;
}
