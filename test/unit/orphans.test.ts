import { Kinds, type KubeClient, type KubernetesObject } from "../../lib/k8s";
import { NotLeaderError } from "../../lib/leader";
import { entityAnnotations, managedLabels, MANAGED_BY, MANAGED_SELECTOR } from "../../lib/manifests/labels";
import { namespaceManifest } from "../../lib/manifests/namespace";
import { OrphanSweeper, type SweepDeps, type SweepTarget } from "../../lib/orphans";
import { FakeKube, type Obj } from "../helpers/fake-kube";

const GRACE = 1000;

/** A Deployment as Berth makes one for entity `id` (labels and annotations), or as `meta` says. */
function deployment(name: string, namespace: string, meta: Partial<NonNullable<KubernetesObject["metadata"]>>): Obj {
	return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace, ...meta }, spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [] } } } };
}
const berths = (name: string, id: string) => ({ labels: managedLabels("deployment", id, name), annotations: entityAnnotations("deployment", id) });

describe("the orphan sweep", () => {
	let kube: FakeKube;
	let now: number;
	let entities: Set<string>;
	let leading: boolean;
	const namespaces = [
		{ id: "ns-1", name: "mine", uid: "", quota: {} as never },
		{ id: "ns-2", name: "made-again", uid: "", quota: {} as never },
	];
	const target: SweepTarget = { kinds: [Kinds.Deployment], selector: MANAGED_SELECTOR, exists: async id => entities.has(id) };
	const deps = (): SweepDeps => ({
		kube: kube as unknown as KubeClient,
		namespaces: async () => namespaces,
		fence: () => {
			if (!leading) throw new NotLeaderError("test");
		},
		graceMs: GRACE,
		now: () => now,
	});
	const names = () => kube.all("Deployment", "mine").map(d => d.metadata?.name).sort();

	beforeEach(async () => {
		kube = new FakeKube();
		now = 0;
		leading = true;
		entities = new Set(["alive"]);
		for (const ns of namespaces) ns.uid = (await kube.apply(namespaceManifest({ id: ns.id, name: ns.name, owner: "o", quota: {} as never }, "baseline"))).metadata!.uid!;
		// "made-again" was deleted and made again outside Berth: same name, no annotation, another uid.
		await kube.delete({ apiVersion: "v1", kind: "Namespace", name: "made-again" });
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "made-again" } });
		await kube.apply(deployment("orphan", "mine", berths("orphan", "gone")));
		await kube.apply(deployment("kept", "mine", berths("kept", "alive")));
		// Labelled as Berth's by hand, or Berth's shared account: no entity id, never swept.
		await kube.apply(deployment("external", "mine", { labels: { ...MANAGED_BY } }));
		// A controller's object (pods, ReplicaSets) carries its template's annotations and an owner.
		await kube.apply(deployment("owned", "mine", { ...berths("owned", "gone"), ownerReferences: [{ apiVersion: "v1", kind: "X", name: "x", uid: "x" }] }));
		await kube.apply(deployment("theirs", "made-again", berths("theirs", "gone")));
	});

	it("deletes an object whose entity is gone only when a sweep a grace period after the first still finds it so", async () => {
		const sweeper = new OrphanSweeper();
		expect(await sweeper.sweep(target, deps())).toEqual({ deleted: [], pending: 1 });
		now = GRACE - 1;
		expect(await sweeper.sweep(target, deps())).toEqual({ deleted: [], pending: 1 });
		now = GRACE;
		expect(await sweeper.sweep(target, deps())).toEqual({ deleted: ["Deployment mine/orphan"], pending: 0 });
		expect(names()).toEqual(["external", "kept", "owned"]);
		// Never in a namespace made again outside Berth.
		expect(kube.peek("Deployment", "theirs", "made-again")).toBeDefined();
	});

	it("keeps an object whose entity appeared meanwhile (its store write was in flight)", async () => {
		const sweeper = new OrphanSweeper();
		await sweeper.sweep(target, deps());
		entities.add("gone");
		now = 2 * GRACE;
		expect(await sweeper.sweep(target, deps())).toEqual({ deleted: [], pending: 0 });
		expect(names()).toContain("orphan");
	});

	it("counts the grace period afresh for an object made again under the same name", async () => {
		const sweeper = new OrphanSweeper();
		await sweeper.sweep(target, deps());
		await kube.delete({ apiVersion: "apps/v1", kind: "Deployment", name: "orphan", namespace: "mine" });
		await kube.apply(deployment("orphan", "mine", berths("orphan", "gone")));
		now = GRACE;
		expect(await sweeper.sweep(target, deps())).toEqual({ deleted: [], pending: 1 });
	});

	it("deletes nothing once this node no longer leads", async () => {
		const sweeper = new OrphanSweeper();
		await sweeper.sweep(target, deps());
		now = GRACE;
		leading = false;
		await expect(sweeper.sweep(target, deps())).rejects.toBeInstanceOf(NotLeaderError);
		expect(names()).toContain("orphan");
	});

	it("never sweeps the held default or a namespace whose entity has no quota", async () => {
		const sweeper = new OrphanSweeper();
		const held = { ...deps(), namespaces: async () => namespaces.map(ns => ({ ...ns, quota: null })) };
		await sweeper.sweep(target, held);
		now = GRACE;
		expect(await sweeper.sweep(target, held)).toEqual({ deleted: [], pending: 0 });
	});
});
