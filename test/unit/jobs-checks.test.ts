import { MAX_CMD_BYTES } from "../../lib/api/jobs";
import { checkCommand, jobRunOf, jobsSettings, normalizeEnv, normalizeResources } from "../../lib/jobs/checks";
import { tailBytes } from "../../lib/jobs/logs";
import { reconcileJob, type JobSyncDeps } from "../../lib/jobs/reconcile";
import type { StoredJob } from "../../lib/jobs/store";
import type { V1Job } from "../../lib/k8s";
import { NotLeaderError } from "../../lib/leader";

const settings = { rest: "/v1/k8s/jobs", ...jobsSettings({}) };

describe("job field rules", () => {
	it("takes exactly one of cmd and command, neither blank nor huge", () => {
		expect(() => checkCommand({ cmd: "echo hi" })).not.toThrow();
		expect(() => checkCommand({ command: ["echo", "hi"] })).not.toThrow();
		expect(() => checkCommand({ cmd: "x", command: ["x"] })).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "cmd", type: "exclusive" }), expect.objectContaining({ field: "command" })] }));
		expect(() => checkCommand({})).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "cmd" })] }));
		expect(() => checkCommand({ cmd: "   " })).toThrow(expect.objectContaining({ data: [expect.objectContaining({ field: "cmd" })] }));
		expect(() => checkCommand({ command: [" "] })).toThrow(expect.objectContaining({ data: [expect.objectContaining({ field: "command" })] }));
		expect(() => checkCommand({ cmd: "x".repeat(MAX_CMD_BYTES + 1) })).toThrow(/longer than/);
	});

	it("turns env maps and lists into Kubernetes env, refusing bad names", () => {
		expect(normalizeEnv({ A: "1", "b.c": "2" })).toEqual([{ name: "A", value: "1" }, { name: "b.c", value: "2" }]);
		expect(normalizeEnv([{ name: "X" }])).toEqual([{ name: "X", value: "" }]);
		expect(() => normalizeEnv({ "1A": "x" })).toThrow(expect.objectContaining({ data: [expect.objectContaining({ field: "env[0].name" })] }));
	});

	it("fills resources from the defaults, raises a default limit under a bigger request, and caps", () => {
		expect(normalizeResources(undefined, settings)).toEqual(settings.defaultResources);
		expect(normalizeResources({ requests: { cpu: "1" } }, settings)).toMatchObject({ requests: { cpu: "1" }, limits: { cpu: "1" } });
		expect(() => normalizeResources({ limits: { memory: "100Gi" } }, settings)).toThrow(expect.objectContaining({ data: [expect.objectContaining({ field: "resources.limits.memory" })] }));
		expect(() => normalizeResources({ requests: { cpu: "1" }, limits: { cpu: "500m" } }, settings)).toThrow(expect.objectContaining({ data: [expect.objectContaining({ field: "resources.requests.cpu" })] }));
		expect(() => normalizeResources({ requests: { cpu: "lots" } }, settings)).toThrow(/Invalid resources/);
	});

	it("builds the run with defaults and the timeout capped", () => {
		const run = jobRunOf({ cmd: "echo hi", timeoutSeconds: 10 ** 9 }, settings, "n1");
		expect(run).toMatchObject({ name: "n1", command: ["sh", "-c", "echo hi"], image: "python:3.12-slim", timeoutSeconds: 24 * 3600, backoffLimit: 0, ttlSecondsAfterFinished: 3600, env: [] });
	});

	it("keeps the last bytes of long logs, from a line start", () => {
		expect(tailBytes("short", 100)).toBe("short");
		const cut = tailBytes(`${"a".repeat(50)}\nlast line\n`, 15);
		expect(cut).toBe("[berth: earlier output truncated, 61 bytes in all]\nlast line\n");
	});
});

describe("reconcileJob", () => {
	const doc = { id: "j1", name: "n1", namespaceName: "ns", phase: "Pending", status: {}, createdAt: new Date().toISOString() } as unknown as StoredJob;
	function deps(job: V1Job | undefined, claimed = 1) {
		const calls = { claims: [] as Record<string, unknown>[], events: [] as string[] };
		const d: JobSyncDeps = {
			findByName: async () => doc,
			readJob: async () => job,
			readLogs: async () => "logs",
			claim: async (_q, u) => (calls.claims.push(u), claimed),
			publicView: d => d,
			emit: e => void calls.events.push(e),
		};
		return { d, calls };
	}

	it("captures logs and announces a finished job once, only when the claim wins", async () => {
		const job = { status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }, metadata: { uid: "u" } } as V1Job;
		const won = deps(job);
		await reconcileJob("ns/n1", won.d);
		expect(won.calls.claims[0]).toMatchObject({ $set: { phase: "Complete", finished: true, logs: "logs" } });
		expect(won.calls.events).toEqual(["k8s.jobs.completed"]);
		const lost = deps(job, 0);
		await reconcileJob("ns/n1", lost.d);
		expect(lost.calls.events).toEqual([]);
	});

	it("does not finish a job when the lease was lost during its log capture", async () => {
		const job = { status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }, metadata: { uid: "u" } } as V1Job;
		const fenced = deps(job);
		let leading = true;
		fenced.d.readLogs = async () => ((leading = false), "logs");
		fenced.d.fence = () => {
			if (!leading) throw new NotLeaderError("lease lost");
		};
		await expect(reconcileJob("ns/n1", fenced.d)).rejects.toMatchObject({ type: "NOT_LEADER", retryable: true });
		expect(fenced.calls.claims).toEqual([]);
		expect(fenced.calls.events).toEqual([]);
	});

	it("waits for a young entity's Job, and records a running one only when it changed", async () => {
		const missing = deps(undefined);
		await reconcileJob("ns/n1", missing.d);
		expect(missing.calls.claims).toEqual([]);
		const running = deps({ status: { active: 1 }, metadata: { uid: "u" } } as V1Job);
		await reconcileJob("ns/n1", running.d);
		expect(running.calls.claims[0]).toMatchObject({ $set: { phase: "Running", uid: "u" } });
		expect(running.calls.events).toEqual([]);
	});
});
