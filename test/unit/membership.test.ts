import { ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { createDbMixin } from "../../mixins/db.mixin";
import { createMembershipMixin, type CallerMeta } from "../../mixins/membership.mixin";
import { roleIn, type MemberGrant } from "../../lib/namespaces/roles";

/** Things that decide their own access, as namespaces do. */
const Things: ServiceSchema = {
	name: "things",
	mixins: [createDbMixin({ collection: "things", fields: ["name", "owner", "members", "memberRoles"], dataDir: ":memory:" }), createMembershipMixin({ entityName: "Thing", accessFrom: "self", namespaceField: "name", queryFields: ["name", "owner"] })],
	actions: {
		ping: { public: true, handler: () => "pong" },
	},
};

/**
 * Things held in a namespace, whose access is the namespace's. The namespaces service's access
 * action is played here by a small service answering from a table of roles (the real one is tested
 * through the mesh in test/integration/access-matrix.test.ts).
 */
const roles: Record<string, { owner: string; members: string[]; memberRoles: MemberGrant[] }> = {
	n1: { owner: "alice", members: ["bob", "vic"], memberRoles: [{ member: "vic", role: "view" }] },
};
const Namespaces: ServiceSchema = {
	name: "k8s.namespaces",
	version: 1,
	actions: {
		access(ctx: Context<{ ids?: string[] }, CallerMeta>) {
			const ids = ctx.params.ids ?? Object.keys(roles);
			return ids.flatMap(id => {
				const role = roles[id] && roleIn(roles[id], ctx.meta.userID);
				return role && !(ctx.meta.namespaces && !ctx.meta.namespaces.includes(id)) ? [{ id, name: id, uid: null, role }] : [];
			});
		},
	},
};
const Held: ServiceSchema = {
	name: "held",
	mixins: [createDbMixin({ collection: "held", fields: ["name", "namespace", "namespaceName", "owner", "members"], dataDir: ":memory:" }), createMembershipMixin({ entityName: "Held", queryFields: ["name"] })],
};

describe("membership mixin: entities that decide their own access", () => {
	const broker = new ServiceBroker({ logger: false });
	broker.createService(Things);
	const alice = { meta: { userID: "alice" } };
	const bob = { meta: { userID: "bob" } };
	const admin = { meta: { userID: "root", roles: ["admin"] } };
	let thing: { id: string; owner: string; members: string[] };

	beforeAll(async () => {
		await broker.start();
		thing = await broker.call("things.create", { name: "a", owner: "mallory", members: ["mallory"] }, alice);
	});
	afterAll(() => broker.stop());

	it("makes the caller the owner, whatever the params say", () => {
		expect(thing.owner).toBe("alice");
		expect(thing.members).toEqual([]);
	});

	it("refuses calls without a caller with 401, except public actions", async () => {
		await expect(broker.call("things.list", {})).rejects.toMatchObject({ code: 401 });
		await expect(broker.call("things.ping", {})).resolves.toBe("pong");
	});

	it("hides other tenants' entities as 404 and from lists", async () => {
		await expect(broker.call("things.get", { id: thing.id }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("things.update", { id: thing.id, name: "x" }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("things.remove", { id: thing.id }, bob)).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("things.find", {}, bob)).toEqual([]);
		expect(await broker.call("things.count", {}, bob)).toBe(0);
		expect((await broker.call<{ rows: unknown[] }, object>("things.list", { query: { $or: [{ owner: "alice" }] } }, bob)).rows).toEqual([]);
	});

	it("never changes owner or members through update", async () => {
		const updated = await broker.call<{ owner: string; members: string[]; name: string }, object>("things.update", { id: thing.id, name: "b", owner: "bob", members: ["bob"] }, alice);
		expect(updated).toMatchObject({ name: "b", owner: "alice", members: [] });
	});

	it("gives members a role: view reads, edit changes, admin manages members; removal takes effect on the next call", async () => {
		await broker.call("things.addMember", { id: thing.id, member: "bob", role: "view" }, alice);
		expect(await broker.call("things.get", { id: thing.id }, bob)).toMatchObject({ id: thing.id });
		await expect(broker.call("things.update", { id: thing.id, name: "c" }, bob)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("things.addMember", { id: thing.id, member: "carol" }, bob)).rejects.toMatchObject({ code: 403 });
		await broker.call("things.addMember", { id: thing.id, member: "bob", role: "admin" }, alice);
		await broker.call("things.addMember", { id: thing.id, member: "carol" }, bob);
		expect(await broker.call("things.get", { id: thing.id }, alice)).toMatchObject({ members: ["bob", "carol"], memberRoles: [{ member: "bob", role: "admin" }, { member: "carol", role: "edit" }] });
		await expect(broker.call("things.transfer", { id: thing.id, owner: "bob" }, bob)).rejects.toMatchObject({ code: 403 });
		await broker.call("things.removeMember", { id: thing.id, member: "bob" }, alice);
		await broker.call("things.removeMember", { id: thing.id, member: "carol" }, alice);
		await expect(broker.call("things.get", { id: thing.id }, bob)).rejects.toMatchObject({ code: 404 });
	});

	it("lets admins see everything and services opt out with scope: false", async () => {
		expect(await broker.call("things.count", {}, admin)).toBe(1);
		expect(await broker.call("things.count", { scope: false })).toBe(1);
	});

	it("keeps a key confined to other namespaces out, admin or not", async () => {
		const confined = { meta: { userID: "alice", namespaces: ["elsewhere"] } };
		await expect(broker.call("things.get", { id: thing.id }, confined)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("things.addMember", { id: thing.id, member: "eve" }, confined)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("things.transfer", { id: thing.id, owner: "eve" }, confined)).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("things.count", {}, { meta: { ...admin.meta, namespaces: ["elsewhere"] } })).toBe(0);
	});

	it("transfers ownership, keeping the old owner as an admin, and never to an identity Berth uses", async () => {
		await expect(broker.call("things.transfer", { id: thing.id, owner: "system" }, alice)).rejects.toMatchObject({ code: 422, data: [{ field: "owner", type: "reserved" }] });
		const moved = await broker.call<{ owner: string; members: string[] }, object>("things.transfer", { id: thing.id, owner: "bob" }, alice);
		expect(moved).toMatchObject({ owner: "bob", members: ["alice"], memberRoles: [{ member: "alice", role: "admin" }] });
	});

	it("takes only documented filters: other fields, operators that run code, bad shapes and deep nesting are a 422 on query", async () => {
		const refused = { code: 422, data: [{ field: "query", type: "query" }] };
		await expect(broker.call("things.find", { query: { $where: "1" } }, alice)).rejects.toMatchObject(refused);
		await expect(broker.call("things.find", { query: { name: { $in: "x" } } }, alice)).rejects.toMatchObject(refused);
		await expect(broker.call("things.find", { query: { secret: "x" } }, alice)).rejects.toMatchObject(refused);
		await expect(broker.call("things.find", { query: { name: { $regex: ".*" } } }, alice)).rejects.toMatchObject(refused);
		await expect(broker.call("things.find", { query: "{not json" }, alice)).rejects.toMatchObject(refused);
		let deep: Record<string, unknown> = { name: "a" };
		for (let i = 0; i < 10_000; i++) deep = { $and: [deep] };
		await expect(broker.call("things.find", { query: deep }, alice)).rejects.toMatchObject(refused);
		await expect(broker.call("things.find", { query: JSON.stringify({ name: { $in: ["b"] } }) }, { meta: { userID: "bob" } })).resolves.toHaveLength(1);
	});
});

describe("membership mixin: entities whose access is their namespace's", () => {
	const broker = new ServiceBroker({ logger: false });
	broker.createService(Namespaces);
	broker.createService(Held);
	const as = (userID: string, extra: Partial<CallerMeta> = {}) => ({ meta: { userID, ...extra } });
	let held: { id: string };

	beforeAll(async () => {
		await broker.start();
		held = await broker.call("held.create", { name: "h", namespace: "n1", namespaceName: "n1" }, as("bob"));
	});
	afterAll(() => broker.stop());

	it("decides by the caller's role in the namespace now, not by who made the entity", async () => {
		await expect(broker.call("held.get", { id: held.id }, as("vic"))).resolves.toMatchObject({ owner: "bob", members: [] });
		await expect(broker.call("held.update", { id: held.id, name: "x" }, as("vic"))).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("held.get", { id: held.id }, as("mallory"))).rejects.toMatchObject({ code: 404 });
		roles.n1.members = ["vic"];
		// bob made it, but is no longer a member: nothing is left of his access.
		await expect(broker.call("held.get", { id: held.id }, as("bob"))).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("held.count", {}, as("bob"))).toBe(0);
		await expect(broker.call("held.remove", { id: held.id }, as("bob"))).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("held.count", {}, as("alice"))).toBe(1);
		expect(await broker.call("held.count", {}, as("alice", { namespaces: ["n2"] }))).toBe(0);
	});

	it("refuses members on the entity (they are the namespace's) and transfers its owner for namespace admins", async () => {
		await expect(broker.call("held.addMember", { id: held.id, member: "eve" }, as("alice"))).rejects.toMatchObject({ code: 422, data: [{ field: "member", type: "membership" }] });
		await expect(broker.call("held.transfer", { id: held.id, owner: "vic" }, as("vic"))).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("held.transfer", { id: held.id, owner: "anonymous" }, as("alice"))).rejects.toMatchObject({ code: 422 });
		await expect(broker.call("held.transfer", { id: held.id, owner: "vic" }, as("alice"))).resolves.toMatchObject({ owner: "vic" });
	});
});
