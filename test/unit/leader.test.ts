import { LeaderElector, NotLeaderError, leaderTimings, leaseExpired, microTime, observeLease, type ElectorClock } from "../../lib/leader";
import type { V1Lease } from "../../lib/k8s";
import { FakeLeases, clockOf } from "../helpers/fake-leases";

const LEASE_S = 3;
const DEADLINE_MS = 2000;
const PERIOD_MS = 500;

describe("leader timings", () => {
	it("defaults the renew deadline to two thirds of the lease, from the environment", () => {
		expect(leaderTimings({}, { LEADER_LEASE_SECONDS: "15" })).toEqual({ leaseMs: 15000, renewDeadlineMs: 10000, retryPeriodMs: 5000 });
		expect(leaderTimings({}, { LEADER_LEASE_SECONDS: "15", LEADER_RENEW_DEADLINE_SECONDS: "4" })).toEqual({ leaseMs: 15000, renewDeadlineMs: 4000, retryPeriodMs: 2000 });
	});
	it("refuses a renew deadline not shorter than the lease, and a retry period not shorter than the deadline", () => {
		expect(() => leaderTimings({}, { LEADER_LEASE_SECONDS: "15", LEADER_RENEW_DEADLINE_SECONDS: "15" })).toThrow(/shorter than the lease/);
		expect(() => leaderTimings({ leaseDurationSeconds: 10, renewDeadlineSeconds: 0 }, {})).toThrow(/positive/);
		expect(() => leaderTimings({ leaseDurationSeconds: 10, renewDeadlineSeconds: 2, retryPeriodMs: 2000 }, {})).toThrow(/retry period/);
	});
});

describe("lease observation (pure)", () => {
	const held = (rv: string, renewTime: string): V1Lease => ({ metadata: { resourceVersion: rv }, spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime: renewTime as never } });
	it("treats an unheld lease as free", () => {
		expect(leaseExpired(observeLease(undefined, { metadata: { resourceVersion: "1" }, spec: {} }, 0), 0)).toBe(true);
	});
	it("measures expiry from when the change was observed, whatever renewTime says", () => {
		// renewTime a year ago (a skewed holder clock): still not expired until 15 s after it was seen.
		const seen = observeLease(undefined, held("7", "2025-01-01T00:00:00.000000Z"), 1000);
		expect(leaseExpired(seen, 15_999)).toBe(false);
		expect(leaseExpired(seen, 16_000)).toBe(true);
	});
	it("keeps the observation time while the lease is unchanged, and restarts it on any change", () => {
		const first = observeLease(undefined, held("7", "2026-01-01T00:00:00.000000Z"), 1000);
		expect(observeLease(first, held("7", "2026-01-01T00:00:00.000000Z"), 9000).at).toBe(1000);
		expect(observeLease(first, held("8", "2026-01-01T00:00:00.000000Z"), 9000).at).toBe(9000);
	});
	it("writes MicroTime with six fraction digits", () => {
		expect(microTime(new Date("2026-01-01T00:00:00.123Z"))).toBe("2026-01-01T00:00:00.123000Z");
	});
});

describe("the elector's state machine", () => {
	let leases: FakeLeases;
	const electors: LeaderElector[] = [];
	const node = (identity: string, clock: ElectorClock = clockOf()) => {
		const e = new LeaderElector({ name: "l", namespace: "default", identity, leaseDurationSeconds: LEASE_S, renewDeadlineSeconds: DEADLINE_MS / 1000, retryPeriodMs: PERIOD_MS, client: () => leases.client(identity), clock });
		const events: { event: string; at: number }[] = [];
		e.on("started-leading", () => events.push({ event: "started", at: Date.now() }));
		e.on("stopped-leading", () => events.push({ event: "stopped", at: Date.now() }));
		electors.push(e);
		return { e, events };
	};
	const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

	beforeEach(() => {
		jest.useFakeTimers();
		leases = new FakeLeases();
	});
	afterEach(async () => {
		for (const e of electors.splice(0)) await e.stop({ release: false });
		jest.useRealTimers();
	});

	it("takes a held lease only once it has seen no change for the lease duration", async () => {
		const a = node("a");
		const b = node("b");
		await a.e.start();
		expect(a.e.isLeader).toBe(true);
		await b.e.start();
		await advance(5000);
		expect([a.e.isLeader, b.e.isLeader]).toEqual([true, false]);

		// a dies without releasing: its last renew is the last change b sees.
		const lastRenew = leases.writes.at(-1)!.at;
		await a.e.stop({ release: false });
		await advance(LEASE_S * 1000 - PERIOD_MS - 1);
		expect(b.e.isLeader).toBe(false);
		await advance(2 * PERIOD_MS + 1);
		expect(b.e.isLeader).toBe(true);
		const takeover = b.events.find(x => x.event === "started")!.at;
		expect(takeover - lastRenew).toBeGreaterThanOrEqual(LEASE_S * 1000);
		expect(takeover - lastRenew).toBeLessThanOrEqual(LEASE_S * 1000 + 2 * PERIOD_MS);
	});

	it("a fresh candidate waits a whole lease from its first look, even when renewTime is long past", async () => {
		const a = node("a", clockOf({ wallSkewMs: -3_600_000 }));
		await a.e.start();
		await a.e.stop({ release: false });
		const b = node("b");
		await b.e.start();
		expect(b.e.isLeader).toBe(false);
		await advance(LEASE_S * 1000 - PERIOD_MS);
		expect(b.e.isLeader).toBe(false);
		await advance(2 * PERIOD_MS);
		expect(b.e.isLeader).toBe(true);
	});

	it("a holder whose clock runs an hour slow keeps the lease while it renews", async () => {
		const a = node("a", clockOf({ wallSkewMs: -3_600_000 }));
		await a.e.start();
		const b = node("b");
		await b.e.start();
		await advance(10_000);
		// a renews with a clock an hour slow: b still sees the lease change, so a keeps it.
		expect([a.e.isLeader, b.e.isLeader]).toEqual([true, false]);
		expect(leases.writes.every(w => w.holder === "a")).toBe(true);
	});

	it("a holder whose clock runs an hour ahead still loses the lease one lease duration after it stops", async () => {
		const a = node("a", clockOf({ wallSkewMs: 3_600_000 }));
		const b = node("b");
		await a.e.start();
		await b.e.start();
		await advance(2000);
		await a.e.stop({ release: false });
		await advance(LEASE_S * 1000 + 2 * PERIOD_MS);
		expect(b.e.isLeader).toBe(true);
	});

	it("stops leading at the renew deadline when renewing fails, before anyone may take over", async () => {
		const a = node("a");
		const b = node("b");
		await a.e.start();
		await b.e.start();
		await advance(1000);
		leases.mode.set("a", "fail");
		const lastRenew = leases.writes.filter(w => w.node === "a").at(-1)!.at;
		await advance(DEADLINE_MS + PERIOD_MS);
		expect(a.e.isLeader).toBe(false);
		const stopped = a.events.find(x => x.event === "stopped")!.at;
		expect(stopped - lastRenew).toBeLessThanOrEqual(DEADLINE_MS);
		expect(stopped - lastRenew).toBeGreaterThanOrEqual(DEADLINE_MS - PERIOD_MS);
		await advance(LEASE_S * 1000);
		expect(b.e.isLeader).toBe(true);
		const takeover = b.events.find(x => x.event === "started")!.at;
		expect(takeover).toBeGreaterThan(stopped);
		expect(takeover - lastRenew).toBeGreaterThanOrEqual(LEASE_S * 1000);
	});

	it("abandons a hanging renew at the renew deadline, and keeps campaigning after", async () => {
		const a = node("a");
		await a.e.start();
		await advance(1000);
		leases.mode.set("a", "hang");
		const lastRenew = leases.writes.at(-1)!.at;
		await advance(DEADLINE_MS);
		expect(a.e.isLeader).toBe(false);
		expect(a.events.find(x => x.event === "stopped")!.at - lastRenew).toBeLessThanOrEqual(DEADLINE_MS);
		// The apiserver answers again: nobody else took the lease, so a leads again.
		leases.mode.set("a", "ok");
		await advance(DEADLINE_MS + PERIOD_MS);
		expect(a.e.isLeader).toBe(true);
		expect(a.events.map(x => x.event)).toEqual(["started", "stopped", "started"]);
	});

	it("elects one of two candidates racing to create the lease, and counts the loser's 409 as a lost race", async () => {
		const a = node("a");
		const b = node("b");
		await Promise.all([a.e.start(), b.e.start()]);
		expect([a.e.isLeader, b.e.isLeader].filter(Boolean)).toHaveLength(1);
		await advance(5000);
		expect([a.e.isLeader, b.e.isLeader].filter(Boolean)).toHaveLength(1);
		expect(leases.writes.filter(w => w.holder !== leases.writes[0].holder)).toEqual([]);
	});

	it("a steady leader renews with one request per retry period, without reading the lease", async () => {
		const a = node("a");
		await a.e.start();
		const before = { ...leases.calls };
		await advance(10 * PERIOD_MS);
		expect(leases.calls.get - before.get).toBe(0);
		expect(leases.calls.replace - before.replace).toBe(10);
		expect(a.e.isLeader).toBe(true);
	});

	it("renews after someone else touched the lease but left it held by the leader", async () => {
		const a = node("a");
		await a.e.start();
		await advance(PERIOD_MS);
		// e.g. kubectl annotating it: the resourceVersion moves, the holder stays.
		leases.lease!.metadata!.resourceVersion = "42";
		await advance(PERIOD_MS);
		expect(a.e.isLeader).toBe(true);
		expect(a.events.map(x => x.event)).toEqual(["started"]);
	});

	it("stops at once when it finds another holder in the lease", async () => {
		const a = node("a");
		await a.e.start();
		leases.lease!.spec!.holderIdentity = "z";
		leases.lease!.metadata!.resourceVersion = "99";
		await advance(PERIOD_MS);
		expect(a.e.isLeader).toBe(false);
	});

	describe("the fence", () => {
		it("passes while the lease is renewed, and refuses off the leader", async () => {
			const a = node("a");
			const b = node("b");
			await a.e.start();
			await b.e.start();
			await advance(5000);
			expect(() => a.e.fence()).not.toThrow();
			expect(() => b.e.fence()).toThrow(NotLeaderError);
		});

		it("refuses once the renew deadline has passed, even before any timer ran (a paused process)", async () => {
			const clock = clockOf();
			const a = node("a", clock);
			await a.e.start();
			// SIGSTOP for two leases: monotonic time moved on, no timer has fired yet.
			clock.jump(2 * LEASE_S * 1000);
			expect(a.e.isLeader).toBe(true);
			expect(() => a.e.fence()).toThrow(NotLeaderError);
			expect(a.e.isLeader).toBe(false);
			expect(a.events.map(x => x.event)).toEqual(["started", "stopped"]);
			try {
				a.e.fence();
			} catch (err) {
				expect((err as NotLeaderError).retryable).toBe(true);
				expect((err as NotLeaderError).type).toBe("NOT_LEADER");
			}
		});

		it("a leader woken past its deadline sends no renew as the leader: it stops, then reads the lease like any candidate", async () => {
			const clock = clockOf();
			const a = node("a", clock);
			await a.e.start();
			await advance(PERIOD_MS);
			const before = { ...leases.calls };
			// SIGSTOP for two leases; on waking its retry timer is the first to fire.
			clock.jump(2 * LEASE_S * 1000);
			await advance(PERIOD_MS);
			expect(a.events.map(x => x.event).slice(0, 2)).toEqual(["started", "stopped"]);
			expect(leases.calls.get).toBeGreaterThan(before.get);
		});

		it("a leader woken after another took over never leads again on its stale view", async () => {
			const clockA = clockOf();
			const a = node("a", clockA);
			const b = node("b");
			await a.e.start();
			await b.e.start();
			await advance(1000);
			// a is paused: its requests stall, then b takes over after a full lease.
			leases.mode.set("a", "hang");
			await advance(LEASE_S * 1000 + 2 * PERIOD_MS);
			expect(b.e.isLeader).toBe(true);
			expect(a.e.isLeader).toBe(false);
			expect(() => a.e.fence()).toThrow(NotLeaderError);
			leases.mode.set("a", "ok");
			await advance(5 * PERIOD_MS);
			expect([a.e.isLeader, b.e.isLeader]).toEqual([false, true]);
			expect(leases.writes.filter(w => w.node === "a" && w.at > b.events[0].at)).toEqual([]);
		});
	});
});
