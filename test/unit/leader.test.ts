import { leaseExpired, microTime } from "../../lib/leader";

describe("lease arithmetic", () => {
	const now = Date.parse("2026-01-01T00:00:30Z");
	it("treats an unheld lease as free", () => {
		expect(leaseExpired({ spec: {} }, now)).toBe(true);
	});
	it("expires a lease not renewed within its duration", () => {
		expect(leaseExpired({ spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime: new Date("2026-01-01T00:00:10Z") } }, now)).toBe(true);
		expect(leaseExpired({ spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime: new Date("2026-01-01T00:00:20Z") } }, now)).toBe(false);
	});
	it("writes MicroTime with six fraction digits", () => {
		expect(microTime(new Date("2026-01-01T00:00:00.123Z"))).toBe("2026-01-01T00:00:00.123000Z");
	});
});
