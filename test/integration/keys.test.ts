import { request, startMesh, type Mesh } from "../helpers/mesh";
import { uniqueName } from "../helpers/cluster";

describe("API keys over REST", () => {
	let mesh: Mesh;
	const user = uniqueName("keys-user");
	const api = (path: string) => `${mesh.url}/api/v1/keys${path}`;

	beforeAll(async () => {
		mesh = await startMesh(["api", "health", "keys"]);
	});
	afterAll(() => mesh.stop());

	async function createKey(body: Record<string, unknown>, key = mesh.adminKey) {
		const res = await request(api(""), { method: "POST", key, body });
		expect(res.status).toBe(201);
		return res.body as { id: string; key: string; name: string; userID: string; roles: string[]; namespaces?: string[]; expiresAt?: string };
	}

	it("creates a key, shows its material once, and lists and gets it without", async () => {
		const created = await createKey({ name: "laptop", userID: user, roles: ["user"], namespaces: ["team-a", "team-b"] });
		expect(created).toMatchObject({ name: "laptop", userID: user, roles: ["user"], namespaces: ["team-a", "team-b"] });
		expect(created.key).toMatch(/^berth_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);

		const listed = await request(api(""), { key: created.key });
		expect(listed.status).toBe(200);
		expect(listed.body.map((k: { id: string }) => k.id)).toEqual([created.id]);
		const got = await request(api(`/${created.id}`), { key: created.key });
		expect(got.status).toBe(200);
		for (const text of [listed.text, got.text]) {
			expect(text).not.toContain(created.key);
			expect(text).not.toContain('"hash"');
			expect(text).not.toContain('"key"');
		}
	});

	it("refuses a revoked key with 401, and revoking is idempotent", async () => {
		const k = await createKey({ name: "to-revoke", userID: user });
		expect((await request(api(""), { key: k.key })).status).toBe(200);
		const revoked = await request(api(`/${k.id}`), { method: "DELETE", key: k.key });
		expect(revoked.status).toBe(200);
		expect(revoked.body.revokedAt).toEqual(expect.any(String));
		const after = await request(api(""), { key: k.key });
		expect(after.status).toBe(401);
		expect(after.body).toMatchObject({ code: 401, type: "UNAUTHORIZED", message: expect.stringMatching(/revoked/) });
		expect((await request(api(`/${k.id}`), { method: "DELETE", key: mesh.adminKey })).body.revokedAt).toBe(revoked.body.revokedAt);
	});

	it("refuses an expired key with 401", async () => {
		const k = await createKey({ name: "short-lived", userID: user, expiresAt: new Date(Date.now() + 1500).toISOString() });
		expect((await request(api(""), { key: k.key })).status).toBe(200);
		await new Promise(r => setTimeout(r, 2000));
		const res = await request(api(""), { key: k.key });
		expect(res.status).toBe(401);
		expect(res.body).toMatchObject({ type: "UNAUTHORIZED", message: expect.stringMatching(/expired/) });
	});

	it("refuses an expiry in the past with 422", async () => {
		const res = await request(api(""), { method: "POST", key: mesh.adminKey, body: { name: "x", expiresAt: "2001-01-01T00:00:00Z" } });
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "expiresAt" })] });
	});

	it("keeps users' keys apart: another user's key is 404", async () => {
		const mine = await createKey({ name: "mine", userID: user });
		const theirs = await createKey({ name: "theirs", userID: uniqueName("other-user") });
		for (const method of ["GET", "DELETE"]) {
			const res = await request(api(`/${theirs.id}`), { method, key: mine.key });
			expect([method, res.status]).toEqual([method, 404]);
			expect(res.text).not.toContain(theirs.userID);
		}
		expect((await request(api(""), { key: mine.key })).body.map((k: { id: string }) => k.id)).not.toContain(theirs.id);
		expect((await request(api(""), { key: theirs.key })).status).toBe(200);
	});

	it("lets users make keys for themselves, but not admin keys nor keys for others", async () => {
		const k = await createKey({ name: "parent", userID: user });
		const child = await createKey({ name: "child" }, k.key);
		expect(child).toMatchObject({ userID: user, roles: ["user"] });
		expect((await request(api(""), { method: "POST", key: k.key, body: { name: "x", roles: ["admin"] } })).status).toBe(403);
		expect((await request(api(""), { method: "POST", key: k.key, body: { name: "x", userID: "someone-else" } })).status).toBe(403);
	});

	it("keeps keys made by a confined key inside its namespaces", async () => {
		const confined = await createKey({ name: "confined", userID: user, namespaces: ["team-a"] });
		const inherited = await createKey({ name: "inherits" }, confined.key);
		expect(inherited.namespaces).toEqual(["team-a"]);
		const escape = await request(api(""), { method: "POST", key: confined.key, body: { name: "escape", namespaces: ["team-z"] } });
		expect(escape.status).toBe(403);
		expect((await request(api(""), { method: "POST", key: confined.key, body: { name: "empty", namespaces: [] } })).status).toBe(422);
	});

	it("lets an admin see every key", async () => {
		const k = await createKey({ name: "seen-by-admin", userID: uniqueName("someone") });
		const listed = await request(api(""), { key: mesh.adminKey });
		expect(listed.body.map((x: { id: string }) => x.id)).toContain(k.id);
		expect(listed.text).not.toContain(k.key);
	});
});
