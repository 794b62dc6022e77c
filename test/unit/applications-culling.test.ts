import { activityDue, activityResolutionMs, cullAt, cullDecision, cullPolicyFromEnv, DEFAULT_POLICY, deadlines, type CullPolicy } from "../../lib/applications/culling";

const policy: CullPolicy = { idleMs: 60_000, maxAgeMs: 600_000, startTimeoutMs: 120_000 };
const t0 = Date.parse("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(t0 + ms).toISOString();

describe("culling decisions (pure)", () => {
	it("keeps an active instance and says when to look again: its nearest deadline", () => {
		const subject = { status: "running" as const, createdAt: at(0), lastActivityAt: at(30_000) };
		expect(cullDecision(subject, policy, t0 + 40_000)).toEqual({ action: "keep", recheckInMs: 50_000 });
		// Activity pushes the idle deadline; the max age does not move.
		expect(cullDecision({ ...subject, lastActivityAt: at(590_000) }, policy, t0 + 595_000)).toEqual({ action: "keep", recheckInMs: 5_000 });
	});

	it("culls an instance idle for the timeout, to the millisecond", () => {
		const subject = { status: "running" as const, createdAt: at(0), lastActivityAt: at(10_000) };
		expect(cullDecision(subject, policy, t0 + 69_999).action).toBe("keep");
		expect(cullDecision(subject, policy, t0 + 70_000)).toEqual({ action: "cull", reason: "idle" });
	});

	it("culls at the max age whatever the activity, and says so even when it is idle too", () => {
		expect(cullDecision({ status: "running", createdAt: at(0), lastActivityAt: at(599_999) }, policy, t0 + 600_000)).toEqual({ action: "cull", reason: "max-age" });
		expect(cullDecision({ status: "running", createdAt: at(0), lastActivityAt: at(0) }, policy, t0 + 700_000)).toEqual({ action: "cull", reason: "max-age" });
		// 0 switches the max age off.
		expect(cullDecision({ status: "running", createdAt: at(0), lastActivityAt: at(10_000_000) }, { ...policy, maxAgeMs: 0 }, t0 + 10_000_001)).toMatchObject({ action: "keep" });
	});

	it("fails an instance that is not Ready within the start timeout, if nothing culls it first", () => {
		const deploying = { status: "deploying" as const, createdAt: at(0), lastActivityAt: at(110_000) };
		expect(cullDecision(deploying, policy, t0 + 119_000)).toEqual({ action: "keep", recheckInMs: 1_000 });
		expect(cullDecision(deploying, policy, t0 + 120_000)).toEqual({ action: "fail", reason: "start-timeout" });
		// A running instance has started: the start timeout no longer applies.
		expect(cullDecision({ ...deploying, status: "running" }, policy, t0 + 120_000).action).toBe("keep");
		// Idle before the start timeout: culled as idle.
		expect(cullDecision({ status: "deploying", createdAt: at(0), lastActivityAt: at(0) }, policy, t0 + 60_000)).toEqual({ action: "cull", reason: "idle" });
	});

	it("never takes activity from before the launch (a skewed clock between nodes)", () => {
		const d = deadlines({ status: "running", createdAt: at(100_000), lastActivityAt: at(0) }, policy);
		expect(d.idle).toBe(t0 + 160_000);
		expect(cullAt({ status: "running", createdAt: at(0), lastActivityAt: at(0) }, policy)).toBe(at(60_000));
		expect(cullAt({ status: "running", createdAt: at(0), lastActivityAt: at(599_000) }, policy)).toBe(at(600_000));
	});

	it("reads the policy from the environment, with safe defaults", () => {
		expect(cullPolicyFromEnv({})).toEqual(DEFAULT_POLICY);
		expect(DEFAULT_POLICY.idleMs).toBe(3600_000);
		expect(cullPolicyFromEnv({ APPS_IDLE_SECONDS: "4", APPS_MAX_AGE_SECONDS: "0", APPS_START_TIMEOUT_SECONDS: "1.5" })).toEqual({ idleMs: 4000, maxAgeMs: 0, startTimeoutMs: 1500 });
		// An idle timeout of 0 would cull everything at once; nonsense falls back to the default.
		expect(cullPolicyFromEnv({ APPS_IDLE_SECONDS: "0", APPS_MAX_AGE_SECONDS: "-5", APPS_START_TIMEOUT_SECONDS: "soon" })).toEqual(DEFAULT_POLICY);
	});

	it("writes polls' activity at most once per resolution: a tenth of the idle timeout, within bounds", () => {
		expect(activityResolutionMs(policy)).toBe(6_000);
		expect(activityResolutionMs({ ...policy, idleMs: 1000 })).toBe(250);
		expect(activityResolutionMs(DEFAULT_POLICY)).toBe(60_000);
		expect(activityDue(at(0), policy, t0 + 5_999)).toBe(false);
		expect(activityDue(at(0), policy, t0 + 6_000)).toBe(true);
	});
});
