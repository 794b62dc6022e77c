import { allows, roleIn, withMember, withOwner, withoutMember } from "../../lib/namespaces/roles";
import { mayCreateReserved, reservationOf } from "../../lib/namespaces/reserved";
import { parseListQuery, queryProblem } from "../../lib/api/query";
import { mayManageKey } from "../../lib/keys";

describe("lib/namespaces/roles", () => {
	const ns = { owner: "olga", members: ["ada", "ed", "vi", "old"], memberRoles: [{ member: "ada", role: "admin" as const }, { member: "ed", role: "edit" as const }, { member: "vi", role: "view" as const }] };

	it("reads each person's role; a member stored without one has the default, edit", () => {
		expect(["olga", "ada", "ed", "vi", "old", "nobody", undefined].map(u => roleIn(ns, u))).toEqual(["owner", "admin", "edit", "view", "edit", undefined, undefined]);
	});

	it("orders the roles: owner > admin > edit > view; no role allows nothing", () => {
		expect(allows("owner", "admin") && allows("admin", "edit") && allows("edit", "view")).toBe(true);
		expect(allows("view", "edit") || allows("edit", "admin") || allows("admin", "owner") || allows(undefined, "view")).toBe(false);
	});

	it("adds, re-roles and removes members; the owner is never a member; a transfer keeps the old owner as admin", () => {
		expect(withMember(ns, "vi", "admin").memberRoles.filter(g => g.member === "vi")).toEqual([{ member: "vi", role: "admin" }]);
		expect(withMember(ns, "olga")).toEqual({ members: ns.members, memberRoles: ns.memberRoles });
		expect(withoutMember(ns, "ada")).toEqual({ members: ["ed", "vi", "old"], memberRoles: ns.memberRoles.slice(1) });
		const moved = withOwner(ns, "vi");
		expect(moved.owner).toBe("vi");
		expect(roleIn(moved, "olga")).toBe("admin");
		expect(moved.members).not.toContain("vi");
	});
});

describe("lib/namespaces/reserved", () => {
	const config = { ownNamespaces: { jobsCompat: "orchestrator", apps: "berth-apps" }, reservedNamespaces: ["corp"] };

	it("reserves Kubernetes', Berth's own and the configured names", () => {
		expect(["kube-x", "default", "berth-system", "orchestrator", "berth-apps", "corp", "team"].map(n => reservationOf(n, config))).toEqual(["kubernetes", "kubernetes", "kubernetes", "berth", "berth", "configured", undefined]);
	});

	it("lets only Berth's system identity create Berth's own, and nobody Kubernetes' or the configured ones", () => {
		expect(mayCreateReserved("berth", "system", "system")).toBe(true);
		expect(mayCreateReserved("berth", "mallory", "system")).toBe(false);
		expect(mayCreateReserved("kubernetes", "system", "system")).toBe(false);
		expect(mayCreateReserved("configured", "system", "system")).toBe(false);
		expect(mayCreateReserved(undefined, "mallory", "system")).toBe(true);
	});
});

describe("lib/api/query", () => {
	const fields = ["name", "phase"];

	it("takes documented fields with plain comparisons, and $and/$or of them", () => {
		expect(queryProblem({ name: "a", phase: { $in: ["Active"] } }, fields)).toBeUndefined();
		expect(queryProblem({ $or: [{ name: { $ne: "a" } }, { phase: { $exists: true } }] }, fields)).toBeUndefined();
		expect(parseListQuery(undefined, fields)).toEqual({});
		expect(parseListQuery('{"name":"a"}', fields)).toEqual({ name: "a" });
	});

	it("refuses other fields, other operators, wrong argument shapes, too many values and deep nesting", () => {
		for (const bad of [{ owner: "x" }, { name: { $where: "1" } }, { name: { $regex: "." } }, { name: { $in: "x" } }, { name: { $in: Array(101).fill("a") } }, { name: { $exists: 1 } }, { name: { a: 1 } }, { $and: [] }, { $nor: [{ name: "a" }] }, [1]])
			expect(queryProblem(bad, fields)).toEqual(expect.any(String));
		let deep: Record<string, unknown> = { name: "a" };
		for (let i = 0; i < 6; i++) deep = { $and: [deep] };
		expect(queryProblem(deep, fields)).toMatch(/nest/);
		expect(() => parseListQuery("x".repeat(10_001), fields)).toThrow(expect.objectContaining({ code: 422 }));
	});
});

describe("lib/keys mayManageKey", () => {
	it("lets a confined caller manage only keys confined to some of its namespaces, admin or not", () => {
		const confinedAdmin = { userID: "root", roles: ["admin"], namespaces: ["a", "b"] };
		expect(mayManageKey(confinedAdmin, { userID: "x", namespaces: ["a"] })).toBe(true);
		expect(mayManageKey(confinedAdmin, { userID: "x", namespaces: ["a", "c"] })).toBe(false);
		expect(mayManageKey(confinedAdmin, { userID: "x" })).toBe(false);
		expect(mayManageKey({ userID: "root", roles: ["admin"] }, { userID: "x" })).toBe(true);
		expect(mayManageKey({ userID: "u", namespaces: ["a"] }, { userID: "u", namespaces: ["a"] })).toBe(true);
		expect(mayManageKey({ userID: "u" }, { userID: "v" })).toBe(false);
	});
});
