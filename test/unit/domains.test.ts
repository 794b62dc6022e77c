import { changedGrants, grantCovers, grantErrors, hostAllowed, hostErrors, MAX_DOMAINS, normalDomain, serves, takenHost } from "../../lib/namespaces/domains";

const BASE = "apps.test";

describe("hostAllowed: the namespace's own domain and its grants", () => {
	it.each([
		["the namespace's own domain", "team-a.apps.test", [], true],
		["a host under it", "www.team-a.apps.test", [], true],
		["a deeper host under it", "a.b.team-a.apps.test", [], true],
		["another namespace's domain", "team-b.apps.test", [], false],
		["a host under another namespace's domain", "www.team-b.apps.test", [], false],
		["BASE_DOMAIN itself", "apps.test", [], false],
		["a namespace that merely ends like this one", "xteam-a.apps.test", [], false],
		["another namespace's host, even with a grant that would cover it", "www.team-b.apps.test", ["team-b.apps.test"], false],
		["an ungranted domain", "shop.example", [], false],
		["a granted domain", "shop.example", ["shop.example"], true],
		["a host under a granted domain", "www.shop.example", ["shop.example"], true],
		["a sibling of a granted domain", "shop2.example", ["shop.example"], false],
		["the parent of a granted domain", "example", ["shop.example"], false],
		["a wildcard under the own domain", "*.team-a.apps.test", [], false],
		["a wildcard under a plain grant", "*.shop.example", ["shop.example"], false],
		["a wildcard granted as such", "*.shop.example", ["*.shop.example"], true],
		["a deeper wildcard than the one granted", "*.a.shop.example", ["*.shop.example"], false],
		["a single host under a wildcard grant", "a.shop.example", ["*.shop.example"], true],
		["the domain itself under a wildcard grant", "shop.example", ["*.shop.example"], false],
	])("%s", (_what, host, grants, allowed) => {
		expect(hostAllowed(host, "team-a", grants, BASE)).toBe(allowed);
	});

	it("covers by whole labels only", () => {
		expect(grantCovers("shop.example", "myshop.example")).toBe(false);
		expect(grantCovers("shop.example", "my.shop.example")).toBe(true);
	});
});

describe("hostErrors", () => {
	const scope = { namespace: "team-a", grants: ["shop.example"], baseDomain: BASE };

	it("names each refused host's field, with type domain", () => {
		expect(hostErrors("vHosts", ["www.team-a.apps.test", "evil.example", "*.shop.example", "x.team-b.apps.test"], scope)).toEqual([
			expect.objectContaining({ field: "vHosts[1]", type: "domain", actual: "evil.example" }),
			expect.objectContaining({ field: "vHosts[2]", type: "domain", actual: "*.shop.example", message: expect.stringContaining("wildcard") }),
			expect.objectContaining({ field: "vHosts[3]", type: "domain", actual: "x.team-b.apps.test" }),
		]);
	});

	it("does not check again what the deployment already serves", () => {
		expect(hostErrors("vHosts", ["old.example", "new.example"], scope, ["old.example"])).toEqual([expect.objectContaining({ field: "vHosts[1]" })]);
	});
});

describe("serves and takenHost: what another Ingress already serves", () => {
	it.each([
		["a.x.test", "a.x.test", true],
		["*.x.test", "a.x.test", true],
		["*.x.test", "b.a.x.test", false],
		["*.x.test", "x.test", false],
		["*.x.test", "*.x.test", true],
		["a.x.test", "*.x.test", false],
		["b.x.test", "a.x.test", false],
	])("%s serves %s: %s", (served, host, expected) => {
		expect(serves(served, host)).toBe(expected);
	});

	it("answers the first taken host and the rule that holds it", () => {
		expect(takenHost(["free.test", "a.x.test"], ["other.test", "*.x.test"])).toEqual({ host: "a.x.test", by: "*.x.test" });
		expect(takenHost(["free.test"], ["other.test"])).toBeUndefined();
	});
});

describe("grants", () => {
	it("normalizes a domain", () => {
		expect(normalDomain(" Shop.Example. ")).toBe("shop.example");
	});

	it.each([
		["shop.example", true],
		["*.shop.example", true],
		["example", false],
		["bad host.example", false],
		["*.apps.test", false],
		["team-b.apps.test", false],
		["apps.test", false],
		["test", false],
	])("grant of %s is valid: %s", (domain, valid) => {
		expect(grantErrors(domain, BASE).length === 0).toBe(valid);
		if (!valid) expect(grantErrors(domain, BASE)[0]).toMatchObject({ field: "domain", type: "domain" });
	});

	it("adds once, sorted; revokes; a revoke of what is not granted is missing", () => {
		expect(changedGrants(["z.example"], "a.example", true, BASE)).toEqual({ domains: ["a.example", "z.example"] });
		expect(changedGrants(["a.example"], "a.example", true, BASE)).toEqual({ domains: ["a.example"] });
		expect(changedGrants(["a.example", "b.example"], "a.example", false, BASE)).toEqual({ domains: ["b.example"] });
		expect(changedGrants(["a.example"], "b.example", false, BASE)).toEqual({ missing: true });
		expect(changedGrants([], "x.apps.test", true, BASE)).toMatchObject({ errors: [expect.objectContaining({ field: "domain" })] });
	});

	it(`holds at most ${MAX_DOMAINS}`, () => {
		const full = Array.from({ length: MAX_DOMAINS }, (_, i) => `d${i}.example`);
		expect(changedGrants(full, "more.example", true, BASE)).toMatchObject({ errors: [expect.objectContaining({ type: "max" })] });
		expect(changedGrants(full, "d1.example", true, BASE)).toMatchObject({ domains: expect.any(Array) });
	});
});
