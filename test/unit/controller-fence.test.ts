import { ServiceBroker, type Service } from "moleculer";
import { Kinds, setKubeClient, type KubeClient } from "../../lib/k8s";
import { LeaderElector, setLeaderElector } from "../../lib/leader";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../../mixins/controller.mixin";
import { eventually } from "../helpers/eventually";
import { FakeKube } from "../helpers/fake-kube";
import { FakeLeases, clockOf } from "../helpers/fake-leases";

/** The controller mixin over a real elector (fake Lease, jumpable clock): leader-only runs are fenced. */
describe("the controller mixin's fence", () => {
	const clock = clockOf();
	const leases = new FakeLeases();
	const elector = new LeaderElector({ name: "l", identity: "a", leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodMs: 200, client: () => leases.client("a"), clock });
	const runs: { service: string; key: string }[] = [];
	let broker: ServiceBroker;
	type Self = Service & ControllerMethods & ControllerLocals;
	const service = (name: string, everyNode: boolean) => ({
		name,
		mixins: [createControllerMixin<Self>({ name, everyNode, reconcile: async (_self, key) => void runs.push({ service: name, key }), listKeys: async () => [] })],
	});

	beforeAll(async () => {
		delete process.env.LEADER_ELECTION;
		setKubeClient(new FakeKube() as unknown as KubeClient);
		setLeaderElector(elector);
		broker = new ServiceBroker({ logger: false });
		broker.createService(service("leader-only", false));
		broker.createService(service("every-node", true));
		await broker.start();
	});
	afterAll(async () => {
		await broker.stop();
		setLeaderElector(undefined);
		setKubeClient(undefined);
		process.env.LEADER_ELECTION = "false";
	});
	const reconciler = (name: string) => (broker.getLocalService(name) as unknown as Self).reconciler;

	it("runs leader-only reconciles while the lease is fresh", async () => {
		expect(elector.isLeader).toBe(true);
		await reconciler("leader-only")!.sync("k1");
		expect(runs).toContainEqual({ service: "leader-only", key: "k1" });
	});

	it("refuses them once the renew deadline has passed, stops the controllers, and leaves every-node reconciles alone", async () => {
		const before = reconciler("leader-only")!;
		// As after a SIGSTOP: monotonic time jumps past the renew deadline before any timer ran.
		clock.jump(5000);
		await expect(before.sync("k2")).rejects.toMatchObject({ type: "NOT_LEADER", retryable: true });
		expect(runs).not.toContainEqual({ service: "leader-only", key: "k2" });
		expect(elector.isLeader).toBe(false);
		await eventually(() => expect(reconciler("leader-only")).toBeUndefined());
		await reconciler("every-node")!.sync("k3");
		expect(runs).toContainEqual({ service: "every-node", key: "k3" });
		expect(() => (broker.getLocalService("every-node") as unknown as Self).fence()).toThrow(/not the leader/);
	});

	it("starts them again once the lease is renewed", async () => {
		await eventually(() => expect(elector.isLeader).toBe(true), { timeoutMs: 3000 });
		await eventually(() => expect(reconciler("leader-only")?.isStarted).toBe(true));
		await reconciler("leader-only")!.sync("k4");
		expect(runs).toContainEqual({ service: "leader-only", key: "k4" });
	});
});

/** What a leader's watches and resync trigger on every-node reconcilers is leader work: fenced at the trigger. */
describe("the controller mixin's watches on a stale leader", () => {
	const clock = clockOf();
	const leases = new FakeLeases();
	const elector = new LeaderElector({ name: "w", identity: "w", leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodMs: 200, client: () => leases.client("w"), clock });
	const kube = new FakeKube();
	const runs: string[] = [];
	let broker: ServiceBroker;
	type Self = Service & ControllerMethods & ControllerLocals;

	beforeAll(async () => {
		delete process.env.LEADER_ELECTION;
		setKubeClient(kube as unknown as KubeClient);
		setLeaderElector(elector);
		broker = new ServiceBroker({ logger: false });
		broker.createService({
			name: "watcher",
			mixins: [createControllerMixin<Self>({ name: "watcher", everyNode: true, watch: [{ kind: Kinds.ConfigMap, keyOf: o => o.metadata?.name }], reconcile: async (_self, key) => void runs.push(key), listKeys: async () => [] })],
		});
		await broker.start();
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } });
	});
	afterAll(async () => {
		await broker.stop();
		setLeaderElector(undefined);
		setKubeClient(undefined);
		process.env.LEADER_ELECTION = "false";
	});
	const configMap = (name: string) => kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "ns" } });

	it("enqueues what a watch reports while the lease is fresh, and nothing once the renew deadline has passed", async () => {
		await configMap("seen-fresh");
		await eventually(() => expect(runs).toContain("seen-fresh"));
		// A SIGSTOP: the watch delivers what it buffered before any of the elector's timers ran.
		const leaderKube = (broker.getLocalService("watcher") as unknown as Self).leaderKube();
		await leaderKube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "written-fresh", namespace: "ns" } });
		clock.jump(5000);
		await configMap("seen-stale");
		await new Promise(r => setTimeout(r, 100));
		expect(runs).not.toContain("seen-stale");
		expect(elector.isLeader).toBe(false);
		// Leader-only work caught halfway by the pause: its next write is refused, reads and dry runs are not.
		const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "written-stale", namespace: "ns" } };
		await expect(leaderKube.apply(cm)).rejects.toMatchObject({ type: "NOT_LEADER" });
		await expect(leaderKube.delete({ apiVersion: "v1", kind: "ConfigMap", name: "written-fresh", namespace: "ns" })).rejects.toMatchObject({ type: "NOT_LEADER" });
		await expect(leaderKube.prune([Kinds.ConfigMap], "ns", "")).rejects.toMatchObject({ type: "NOT_LEADER" });
		await expect(leaderKube.apply(cm, { dryRun: true })).resolves.toBeDefined();
		expect(await leaderKube.get({ apiVersion: "v1", kind: "ConfigMap", name: "written-fresh", namespace: "ns" })).toBeDefined();
		expect(kube.peek("ConfigMap", "written-stale", "ns")).toBeUndefined();
	});
});
