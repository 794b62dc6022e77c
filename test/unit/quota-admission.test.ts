import type { QuotaReport } from "../../lib/api/namespaces";
import { AdmissionDesk, admissionTiming, isExpired, MemoryAdmissionStore, pollDelay, quotaReportOf, withAdmission, type AdmissionCalls } from "../../lib/namespaces/admission";

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
	let t = start;
	return { now: () => t, advance: ms => (t += ms) };
}

const timing = { ttlMs: 10_000, waitMs: 20_000 };

describe("lib/namespaces/admission: the pure parts", () => {
	it("expires a hold at its `until`", () => {
		const row = { _id: "h", namespace: "ns", until: 5_000 };
		expect(isExpired(row, 4_999)).toBe(false);
		expect(isExpired(row, 5_000)).toBe(true);
	});

	it("waits 5 ms at first, doubling to at most 50 ms, jittered within half of that", () => {
		expect([0, 1, 2, 3, 4, 10].map(a => pollDelay(a, () => 1))).toEqual([5, 10, 20, 40, 50, 50]);
		expect([0, 3, 10].map(a => pollDelay(a, () => 0))).toEqual([3, 20, 25]);
	});

	it("lasts QUOTA_LOCK_SECONDS and lets a caller wait twice that, at most 20 s", () => {
		expect(admissionTiming(10)).toEqual({ ttlMs: 10_000, waitMs: 20_000 });
		expect(admissionTiming(3)).toEqual({ ttlMs: 3_000, waitMs: 6_000 });
		expect(admissionTiming(60)).toEqual({ ttlMs: 60_000, waitMs: 20_000 });
	});

	it("reads a ResourceQuota's limits and usage; none, or one that limits nothing, is null", () => {
		expect(quotaReportOf({ spec: { hard: { pods: "2" } }, status: { hard: { pods: "2" }, used: { pods: "1" } } })).toEqual({ hard: { pods: "2" }, used: { pods: "1" } });
		// Before the quota controller has written a status: the spec's limits, nothing used.
		expect(quotaReportOf({ spec: { hard: { pods: "2" } } })).toEqual({ hard: { pods: "2" }, used: {} });
		expect(quotaReportOf(undefined)).toBeNull();
		expect(quotaReportOf({ spec: { hard: {} } })).toBeNull();
	});
});

describe("lib/namespaces/admission: AdmissionDesk over one process's store", () => {
	it("gives a namespace to one holder at a time, and to the next once it is released", async () => {
		const desk = new AdmissionDesk(new MemoryAdmissionStore(), timing, clock().now);
		expect(await desk.tryHold("ns", "a")).toMatchObject({ _id: "a", namespace: "ns" });
		expect(await desk.tryHold("ns", "b")).toBeUndefined();
		// Other namespaces are not held by it.
		expect(await desk.tryHold("other", "b")).toMatchObject({ _id: "b" });
		await desk.release("ns", "a");
		expect(await desk.tryHold("ns", "b")).toMatchObject({ _id: "b", namespace: "ns" });
	});

	it("answers a holder that asks again (a retried call) with the hold it has", async () => {
		const time = clock();
		const desk = new AdmissionDesk(new MemoryAdmissionStore(), timing, time.now);
		const first = await desk.tryHold("ns", "a");
		time.advance(1_000);
		expect(await desk.tryHold("ns", "a")).toEqual(first);
	});

	it("lets another take a hold whose time is up, and a late release of the old one leaves the new hold alone", async () => {
		const time = clock();
		const store = new MemoryAdmissionStore();
		const desk = new AdmissionDesk(store, timing, time.now);
		await desk.tryHold("ns", "crashed");
		time.advance(timing.ttlMs - 1);
		expect(await desk.tryHold("ns", "b")).toBeUndefined();
		time.advance(1);
		expect(await desk.tryHold("ns", "b")).toMatchObject({ _id: "b", until: time.now() + timing.ttlMs });
		await desk.release("ns", "crashed");
		expect(await store.get("ns")).toMatchObject({ _id: "b" });
		expect(await desk.tryHold("ns", "c")).toBeUndefined();
	});

	it("makes a waiter wait for the release, then hold", async () => {
		const desk = new AdmissionDesk(new MemoryAdmissionStore(), timing);
		await desk.hold("ns", "a");
		let held = false;
		const waiting = desk.hold("ns", "b").then(row => ((held = true), row));
		await new Promise(r => setTimeout(r, 30));
		expect(held).toBe(false);
		await desk.release("ns", "a");
		expect(await waiting).toMatchObject({ _id: "b" });
	});

	it("hands a crashed holder's namespace to a waiter once the hold expires", async () => {
		const time = clock();
		const desk = new AdmissionDesk(new MemoryAdmissionStore(), timing, time.now);
		await desk.hold("ns", "crashed");
		const waiting = desk.hold("ns", "b");
		await new Promise(r => setTimeout(r, 20));
		time.advance(timing.ttlMs);
		expect(await waiting).toMatchObject({ _id: "b" });
	});

	it("refuses a waiter with 409 (not a 5xx) once it has waited waitMs for a namespace still held", async () => {
		const time = clock();
		const desk = new AdmissionDesk(new MemoryAdmissionStore(), { ttlMs: 60_000, waitMs: 1_000 }, time.now);
		await desk.hold("ns", "a");
		const waiting = desk.hold("ns", "b").catch((err: unknown) => err);
		await new Promise(r => setTimeout(r, 20));
		time.advance(1_000);
		expect(await waiting).toMatchObject({ code: 409, type: "CONFLICT", data: { namespace: "ns", retryable: true } });
	});

	it("lets one of twenty racing holders in at a time, and every one in the end", async () => {
		const desk = new AdmissionDesk(new MemoryAdmissionStore(), timing);
		let inside = 0;
		let most = 0;
		const order: number[] = [];
		await Promise.all(
			Array.from({ length: 20 }, async (_, i) => {
				await desk.hold("ns", `h${i}`);
				inside++;
				most = Math.max(most, inside);
				// The check and the store take a while, as they do against a database.
				await new Promise(r => setTimeout(r, 1));
				order.push(i);
				inside--;
				await desk.release("ns", `h${i}`);
			}),
		);
		expect(most).toBe(1);
		expect(order.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
	});
});

describe("lib/namespaces/admission: withAdmission", () => {
	const quota: QuotaReport = { hard: { pods: "2" }, used: { pods: "0" } };

	function calls(answer: QuotaReport | null, releaseFails = false): AdmissionCalls & { log: string[] } {
		const log: string[] = [];
		return {
			log,
			hold: async p => (log.push(`hold ${p.id}`), { holder: p.holder, until: 0, quota: answer }),
			release: async p => {
				log.push(`release ${p.id}`);
				if (releaseFails) throw new Error("namespaces is gone");
			},
			warn: m => log.push(`warn ${m}`),
		};
	}

	it("holds, runs the work with the quota read under the hold, and releases", async () => {
		const c = calls(quota);
		expect(await withAdmission(c, "ns", async q => (c.log.push(`work ${q?.hard?.pods}`), "stored"))).toBe("stored");
		expect(c.log).toEqual(["hold ns", "work 2", "release ns"]);
	});

	it("passes no quota as undefined", async () => {
		expect(await withAdmission(calls(null), "ns", async q => q)).toBeUndefined();
	});

	it("releases when the work refuses (a quota refusal), and the refusal is what the caller gets", async () => {
		const c = calls(quota);
		const refusal = Object.assign(new Error("over quota"), { code: 422, type: "QUOTA_EXCEEDED" });
		await expect(withAdmission(c, "ns", async () => Promise.reject(refusal))).rejects.toBe(refusal);
		expect(c.log).toEqual(["hold ns", "release ns"]);
	});

	it("keeps a stored change when the release fails: the hold expires, a warning says so", async () => {
		const c = calls(quota, true);
		expect(await withAdmission(c, "ns", async () => "stored")).toBe("stored");
		expect(c.log[1]).toBe("release ns");
		expect(c.log[2]).toMatch(/^warn Could not release the admission of namespace ns; it expires at/);
	});
});
