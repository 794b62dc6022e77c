import { ServiceBroker, type ServiceSchema } from "moleculer";
import type { Identity, KeyEntity } from "../../lib/api/keys";
import { confinementFor, expiryFor, hashKey, IdentityCache, isKeyUsable, issueKey, keyFromHeaders, prefixOf } from "../../lib/keys";

describe("API keys", () => {
	it("issues keys whose prefix finds them and whose hash proves them", () => {
		const issued = issueKey();
		expect(prefixOf(issued.key)).toBe(issued.prefix);
		expect(issued.hash).toBe(hashKey(issued.key));
		expect(issued.hash).not.toContain(issued.key);
	});

	it.each([
		[{ authorization: "Bearer abc" }, "abc"],
		[{ authorization: "bearer   abc " }, "abc"],
		[{ authorization: "abc" }, "abc"],
		[{ "x-api-key": "abc" }, "abc"],
		[{ "x-api-key": "abc", authorization: "Bearer other" }, "abc"],
		[{}, undefined],
	])("reads the key from %j", (headers, expected) => {
		expect(keyFromHeaders(headers)).toBe(expected);
	});

	it("refuses revoked and expired keys", () => {
		expect(isKeyUsable({})).toBe(true);
		expect(isKeyUsable({ revokedAt: new Date().toISOString() })).toBe(false);
		expect(isKeyUsable({ expiresAt: new Date(Date.now() - 1000).toISOString() })).toBe(false);
		expect(isKeyUsable({ expiresAt: new Date(Date.now() + 60_000).toISOString() })).toBe(true);
	});

	it("keeps a confined creator's keys inside its namespaces", () => {
		expect(confinementFor(undefined, undefined)).toBeUndefined();
		expect(confinementFor(["a"], undefined)).toEqual(["a"]);
		expect(confinementFor(undefined, ["a", "b"])).toEqual(["a", "b"]);
		expect(confinementFor(["b"], ["a", "b"])).toEqual(["b"]);
		expect(() => confinementFor(["c"], ["a"])).toThrow(expect.objectContaining({ code: 403 }));
	});

	it("never lets a key outlive the key that created it, nor start expired", () => {
		const now = Date.parse("2030-01-01T00:00:00Z");
		expect(expiryFor(undefined, undefined, now)).toBeUndefined();
		expect(expiryFor(undefined, "2030-02-01T00:00:00.000Z", now)).toBe("2030-02-01T00:00:00.000Z");
		expect(expiryFor(new Date("2031-01-01T00:00:00Z"), "2030-02-01T00:00:00.000Z", now)).toBe("2030-02-01T00:00:00.000Z");
		expect(expiryFor(new Date("2030-01-15T00:00:00Z"), "2030-02-01T00:00:00.000Z", now)).toBe("2030-01-15T00:00:00.000Z");
		expect(() => expiryFor(new Date("2029-12-31T00:00:00Z"), undefined, now)).toThrow(expect.objectContaining({ code: 422 }));
	});
});

describe("the gateway's identity cache", () => {
	const alice = { keyID: "k1", userID: "alice", roles: [] };
	const clock = (start = 1_000_000) => {
		const c = { now: start, fn: () => c.now };
		return c;
	};

	it("remembers a checked key for its TTL, under the key's hash", () => {
		const t = clock();
		const cache = new IdentityCache(5_000, 10, t.fn);
		cache.set("berth_key_a", alice);
		expect(cache.get("berth_key_a")).toEqual(alice);
		expect(cache.get("berth_key_b")).toBeUndefined();
		t.now += 5_001;
		expect(cache.get("berth_key_a")).toBeUndefined();
	});

	it("forgets a revoked key at once, and never outlives the key's expiry", () => {
		const t = clock();
		const cache = new IdentityCache(5_000, 10, t.fn);
		cache.set("a", alice);
		cache.set("b", { ...alice, keyID: "k2" });
		cache.forget("k1");
		expect(cache.get("a")).toBeUndefined();
		expect(cache.get("b")).toBeDefined();
		cache.set("c", { ...alice, keyID: "k3", expiresAt: new Date(t.now + 1_000).toISOString() });
		t.now += 1_001;
		expect(cache.get("c")).toBeUndefined();
		cache.set("d", { ...alice, keyID: "k4", expiresAt: new Date(t.now - 1).toISOString() });
		expect(cache.get("d")).toBeUndefined();
	});

	it("is off with a TTL of 0, and bounded in size", () => {
		const off = new IdentityCache(0);
		off.set("a", alice);
		expect(off.get("a")).toBeUndefined();
		const small = new IdentityCache(5_000, 2);
		for (const k of ["a", "b", "c"]) small.set(k, { ...alice, keyID: k });
		expect([small.get("a"), small.get("b"), small.get("c")].filter(Boolean)).toHaveLength(1);
	});
});

describe("the keys service", () => {
	const adminKey = "an-operator-chosen-admin-key-0123456789";
	let broker: ServiceBroker;
	const admin = { meta: { userID: "admin", roles: ["admin"] } };

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		delete process.env.MONGO_URI;
		process.env.BERTH_ADMIN_KEY = adminKey;
		// Required here, after the environment names the in-memory store and the admin key.
		const { default: KeysService } = require("../../services/keys.service") as typeof import("../../services/keys.service");
		broker = new ServiceBroker({ logger: false });
		broker.createService(KeysService as unknown as ServiceSchema);
		await broker.start();
	});
	afterAll(async () => {
		await broker.stop();
		delete process.env.BERTH_ADMIN_KEY;
	});

	it("accepts a BERTH_ADMIN_KEY of any shape as the admin", async () => {
		const who = await broker.call<Identity, { key: string }>("v1.keys.authenticate", { key: adminKey });
		expect(who).toMatchObject({ userID: "admin", roles: ["admin"] });
		await expect(broker.call("v1.keys.authenticate", { key: `${adminKey}x` })).rejects.toMatchObject({ code: 401 });
	});

	it("shows a created key once; lists and gets never show key material", async () => {
		const created = (await broker.call("v1.keys.create", { name: "ci", userID: "alice", namespaces: ["team-a"] }, admin)) as KeyEntity & { key: string };
		expect(created.key).toMatch(/^berth_[0-9a-f]{12}_/);
		const listed = (await broker.call("v1.keys.list", {}, admin)) as KeyEntity[];
		const text = JSON.stringify(listed) + JSON.stringify(await broker.call("v1.keys.get", { id: created.id }, admin));
		expect(text).not.toContain(created.key);
		expect(text).not.toContain(hashKey(created.key));
		expect(text).not.toMatch(/"hash"/);
		expect(await broker.call("v1.keys.authenticate", { key: created.key })).toMatchObject({ userID: "alice", roles: ["user"], namespaces: ["team-a"] });
	});

	it("lets a user see and revoke only its own keys", async () => {
		const alice = (await broker.call("v1.keys.create", { name: "a", userID: "alice" }, admin)) as KeyEntity & { key: string };
		const bob = { meta: { userID: "bob", roles: ["user"] } };
		await expect(broker.call("v1.keys.get", { id: alice.id }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.keys.revoke", { id: alice.id }, bob)).rejects.toMatchObject({ code: 404 });
		expect(((await broker.call("v1.keys.list", {}, bob)) as KeyEntity[]).map(k => k.id)).not.toContain(alice.id);
		const revoked = (await broker.call("v1.keys.revoke", { id: alice.id }, { meta: { userID: "alice", roles: ["user"] } })) as KeyEntity;
		expect(revoked.revokedAt).toEqual(expect.any(String));
		await expect(broker.call("v1.keys.authenticate", { key: alice.key })).rejects.toMatchObject({ code: 401, message: expect.stringMatching(/revoked/) });
	});

	it("refuses admin keys from non-admins and empty confinements", async () => {
		const user = { meta: { userID: "carol", roles: ["user"] } };
		await expect(broker.call("v1.keys.create", { name: "x", roles: ["admin"] }, user)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("v1.keys.create", { name: "x", userID: "dave" }, user)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("v1.keys.create", { name: "x", namespaces: [] }, user)).rejects.toMatchObject({ code: 422 });
	});

	it("issues no key for Berth's own identity, which holds the cluster's default namespace", async () => {
		await expect(broker.call("v1.keys.create", { name: "x", userID: "system" }, admin)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "userID" })] });
	});
});
