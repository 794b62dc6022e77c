import { cullDecision, DEFAULT_IDLE_BOUNDS, DEFAULT_POLICY, idleBoundsFromEnv, instancePolicy, requestedIdleMs } from "../../lib/applications/culling";
import { newInstance, type TemplateImage } from "../../lib/applications/checks";
import { anonymousCaller, isSeedRoute } from "../../lib/compat/anonymous";
import { binderErrorBody, binderErrorType } from "../../lib/compat/binder";
import { loadConfig } from "../../lib/config";

describe("COMPAT_ANONYMOUS_USER (lib/config.ts, lib/compat/anonymous.ts)", () => {
	it("is unset by default, and reads the user and the namespaces it is confined to", () => {
		expect(loadConfig({}).compatAnonymous).toBeUndefined();
		expect(loadConfig({ COMPAT_ANONYMOUS_USER: "  " }).compatAnonymous).toBeUndefined();
		// Berth's own owners are never handed to keyless callers.
		for (const reserved of ["system", "anonymous"]) expect(loadConfig({ COMPAT_ANONYMOUS_USER: reserved }).compatAnonymous).toBeUndefined();
		expect(loadConfig({ COMPAT_ANONYMOUS_USER: "orch" }).compatAnonymous).toEqual({ userID: "orch" });
		expect(loadConfig({ COMPAT_ANONYMOUS_USER: "orch", COMPAT_ANONYMOUS_NAMESPACES: "a, b,," }).compatAnonymous).toEqual({ userID: "orch", namespaces: ["a", "b"] });
	});

	it("applies to the seeds' root routes only", () => {
		for (const p of ["/jobs", "/jobs/:job/logs", "/applications", "/applications/:template/:id", "/kubernetes/services/:id/deploy"]) expect(isSeedRoute(p)).toBe(true);
		for (const p of [undefined, "/", "/jobsx", "/api/v1/k8s/jobs", "/kubernetes/other", "/applicationsx"]) expect(isSeedRoute(p)).toBe(false);
	});

	it("acts as that user with role user, confined when namespaces are given", () => {
		expect(anonymousCaller(undefined, "/jobs")).toBeUndefined();
		expect(anonymousCaller({ userID: "orch" }, "/api/v1/k8s/jobs")).toBeUndefined();
		expect(anonymousCaller({ userID: "orch" }, "/jobs")).toEqual({ userID: "orch", roles: ["user"] });
		expect(anonymousCaller({ userID: "orch", namespaces: ["x"] }, "/applications")).toEqual({ userID: "orch", roles: ["user"], namespaces: ["x"] });
	});
});

describe("binder-protocol's errors (lib/compat/binder.ts)", () => {
	const body = (code: number, type: string) => ({ name: "E", message: "m", code, type });

	it("names errors with the protocol's types where one fits, and adds `error`", () => {
		expect(binderErrorType("status", body(404, "NOT_FOUND"))).toBe("noRecord");
		expect(binderErrorType("deploy", body(404, "NOT_FOUND"))).toBe("registryError");
		expect(binderErrorType("statusAll", body(422, "VALIDATION_ERROR"))).toBe("malformedRequest");
		expect(binderErrorType("deploy", body(401, "UNAUTHORIZED"))).toBe("UNAUTHORIZED");
		expect(binderErrorBody("v1.k8s.applications.binderStatus", body(404, "NOT_FOUND"))).toEqual({ ...body(404, "noRecord"), error: "m" });
		expect(binderErrorBody("v1.k8s.applications.binderDeploy", body(429, "RATE_LIMITED"))).toEqual({ ...body(429, "RATE_LIMITED"), error: "m" });
	});

	it("leaves every other route's errors as they are", () => {
		expect(binderErrorBody("v1.k8s.applications.status", body(404, "NOT_FOUND"))).toEqual(body(404, "NOT_FOUND"));
		expect(binderErrorBody(undefined, body(400, "BAD_REQUEST"))).toEqual(body(400, "BAD_REQUEST"));
	});
});

describe("binder's cull-timeout (lib/applications/culling.ts)", () => {
	it("reads APPS_CULL_TIMEOUT_BOUNDS as min-max seconds, the default otherwise", () => {
		expect(idleBoundsFromEnv({})).toEqual(DEFAULT_IDLE_BOUNDS);
		expect(idleBoundsFromEnv({ APPS_CULL_TIMEOUT_BOUNDS: " 30 - 600 " })).toEqual([30, 600]);
		for (const bad of ["0-10", "10-5", "ten", "5"]) expect(idleBoundsFromEnv({ APPS_CULL_TIMEOUT_BOUNDS: bad })).toEqual(DEFAULT_IDLE_BOUNDS);
	});

	it("brings a requested limit within the bounds; none asked, none set", () => {
		expect(requestedIdleMs(undefined, [60, 600])).toBeUndefined();
		expect(requestedIdleMs(null, [60, 600])).toBeUndefined();
		expect(requestedIdleMs(120, [60, 600])).toBe(120_000);
		expect(requestedIdleMs(1, [60, 600])).toBe(60_000);
		expect(requestedIdleMs(1e9, [60, 600])).toBe(600_000);
	});

	it("culls an instance after its own idle limit", () => {
		const image = { id: "i", name: "python", image: "python:3", ports: [], resources: { requests: { cpu: 50, memory: 64 }, limits: { cpu: 500, memory: 256 } } } as unknown as TemplateImage;
		const doc = newInstance(image, "apps", "a".repeat(32), undefined, "2026-01-01T00:00:00.000Z", 5_000);
		expect(doc.idleMs).toBe(5_000);
		expect(newInstance(image, "apps", "b".repeat(32), undefined)).not.toHaveProperty("idleMs");
		const policy = instancePolicy(DEFAULT_POLICY, doc);
		expect(policy).toEqual({ ...DEFAULT_POLICY, idleMs: 5_000 });
		expect(instancePolicy(DEFAULT_POLICY, {})).toBe(DEFAULT_POLICY);
		const subject = { status: "running" as const, createdAt: doc.createdAt, lastActivityAt: doc.lastActivityAt };
		expect(cullDecision(subject, policy, Date.parse(doc.createdAt) + 5_000)).toEqual({ action: "cull", reason: "idle" });
		expect(cullDecision(subject, DEFAULT_POLICY, Date.parse(doc.createdAt) + 5_000).action).toBe("keep");
	});
});
