import { accessLogArgs, accessLogLevel, pathOf, requestIdOf, type AccessEntry } from "../../lib/api/access-log";

const entry: AccessEntry = { method: "GET", path: "/api/v1/keys", status: 200, ms: 12, key: "k1", client: "203.0.113.7", requestID: "r-1" };

describe("the access log", () => {
	it("keeps a well-formed X-Request-ID (or X-Correlation-ID) and makes a new one for anything else", () => {
		expect(requestIdOf({ "x-request-id": "abc-123.x:y_z" })).toBe("abc-123.x:y_z");
		expect(requestIdOf({ "x-correlation-id": "corr-1" })).toBe("corr-1");
		for (const bad of ["two words", "line\nbreak", "x".repeat(129), "", "a\"b"]) {
			const id = requestIdOf({ "x-request-id": bad });
			expect(id).not.toBe(bad);
			expect(id).toMatch(/^[0-9a-f-]{36}$/);
		}
		expect(requestIdOf({})).toMatch(/^[0-9a-f-]{36}$/);
	});

	it("logs the path without its query string, cut to a bounded length", () => {
		expect(pathOf("/user/abc/?token=secret")).toBe("/user/abc/");
		expect(pathOf(`/${"a".repeat(2000)}`)).toHaveLength(513);
		expect(pathOf(undefined)).toBe("/");
	});

	it("writes one readable line, or a structured record for LOG_FORMAT=json", () => {
		expect(accessLogArgs(entry, "text")).toEqual(["GET /api/v1/keys 200 12ms key=k1 client=203.0.113.7 req=r-1"]);
		expect(accessLogArgs({ ...entry, aborted: true }, "text")[0]).toMatch(/ aborted$/);
		expect(accessLogArgs(entry, "json")).toEqual([entry, "access"]);
	});

	it("puts passing health probes at debug and everything else at info", () => {
		expect(accessLogLevel({ ...entry, path: "/health/ready" })).toBe("debug");
		expect(accessLogLevel({ ...entry, path: "/health/ready", status: 503 })).toBe("info");
		expect(accessLogLevel(entry)).toBe("info");
	});
});
