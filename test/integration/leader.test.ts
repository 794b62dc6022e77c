import type { KubernetesObject, ObjectRef } from "../../lib/k8s";
import { LeaderElector, type LeaseClient } from "../../lib/leader";
import { eventually } from "../helpers/eventually";
import { kube, uniqueName } from "../helpers/cluster";

describe("leader election over a Lease", () => {
	const name = uniqueName("it-lease");
	const electors: LeaderElector[] = [];
	const elector = (identity: string) => {
		const e = new LeaderElector({ name, namespace: "default", identity, leaseDurationSeconds: 2, retryPeriodMs: 300 });
		electors.push(e);
		return e;
	};

	afterAll(async () => {
		await Promise.all(electors.map(e => e.stop({ release: false })));
		await kube().delete({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name, namespace: "default" });
	});

	it("elects exactly one leader and fails over within the lease duration when it dies", async () => {
		const a = elector("node-a");
		const b = elector("node-b");
		a.start();
		await eventually(() => expect(a.isLeader).toBe(true), { timeoutMs: 5000 });
		b.start();
		await new Promise(r => setTimeout(r, 1000));
		expect([a.isLeader, b.isLeader]).toEqual([true, false]);

		const died = Date.now();
		await a.stop({ release: false });
		await eventually(() => expect(b.isLeader).toBe(true), { timeoutMs: 6000, intervalMs: 100 });
		const takeoverMs = Date.now() - died;
		console.log(`leader failover took ${takeoverMs} ms (lease 2 s)`);
		expect(takeoverMs).toBeLessThan(2000 + 1500);
	});

	it("hands over at once when the leader stops cleanly", async () => {
		const b = electors[1];
		const c = elector("node-c");
		c.start();
		await new Promise(r => setTimeout(r, 600));
		expect(c.isLeader).toBe(false);
		await b.stop();
		await eventually(() => expect(c.isLeader).toBe(true), { timeoutMs: 3000, intervalMs: 100 });
	});

	it("a leader whose renews hang stops before the other node takes over", async () => {
		const lease = uniqueName("it-lease-hang");
		const real = kube();
		let hang = false;
		const stall = <T>(call: () => Promise<T>): Promise<T> => (hang ? new Promise<T>(() => undefined) : call());
		const hanging: LeaseClient = {
			get: <T extends KubernetesObject>(ref: ObjectRef) => stall(() => real.get<T>(ref)),
			create: <T extends KubernetesObject>(obj: T) => stall(() => real.create(obj)),
			replace: <T extends KubernetesObject>(obj: T) => stall(() => real.replace(obj)),
		};
		const timings = { name: lease, namespace: "default", leaseDurationSeconds: 2, retryPeriodMs: 300 };
		const a = new LeaderElector({ ...timings, identity: "hang-a", client: () => hanging });
		const b = new LeaderElector({ ...timings, identity: "hang-b" });
		electors.push(a, b);
		try {
			await a.start();
			expect(a.isLeader).toBe(true);
			await b.start();
			await new Promise(r => setTimeout(r, 600));
			let stoppedAt = 0;
			let takenAt = 0;
			a.on("stopped-leading", () => (stoppedAt = Date.now()));
			b.on("started-leading", () => (takenAt = Date.now()));
			const hungAt = Date.now();
			hang = true;
			await eventually(() => expect(b.isLeader).toBe(true), { timeoutMs: 6000, intervalMs: 100 });
			console.log(`hung leader stopped after ${stoppedAt - hungAt} ms, taken over after ${takenAt - hungAt} ms (deadline ${a.timings.renewDeadlineMs} ms, lease 2 s)`);
			expect(stoppedAt).toBeGreaterThan(0);
			expect(stoppedAt).toBeLessThan(takenAt);
			expect(stoppedAt - hungAt).toBeLessThanOrEqual(a.timings.renewDeadlineMs + 100);
			expect(() => a.fence()).toThrow(/not the leader/);
		} finally {
			hang = false;
			await a.stop({ release: false });
			await b.stop({ release: false });
			await kube().delete({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: lease, namespace: "default" });
		}
	});
});
