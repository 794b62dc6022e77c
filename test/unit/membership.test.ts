import { ServiceBroker, type ServiceSchema } from "moleculer";
import { createDbMixin } from "../../mixins/db.mixin";
import { createMembershipMixin } from "../../mixins/membership.mixin";

const Things: ServiceSchema = {
	name: "things",
	mixins: [createDbMixin({ collection: "things", fields: ["name", "owner", "members"], dataDir: ":memory:" }), createMembershipMixin({ entityName: "Thing" })],
	actions: {
		ping: { public: true, handler: () => "pong" },
	},
};

describe("membership mixin", () => {
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

	it("lets members see, and only the owner manage membership", async () => {
		await broker.call("things.addMember", { id: thing.id, member: "bob" }, alice);
		expect(await broker.call("things.get", { id: thing.id }, bob)).toMatchObject({ id: thing.id });
		await expect(broker.call("things.addMember", { id: thing.id, member: "carol" }, bob)).rejects.toMatchObject({ code: 403 });
		await broker.call("things.removeMember", { id: thing.id, member: "bob" }, alice);
		await expect(broker.call("things.get", { id: thing.id }, bob)).rejects.toMatchObject({ code: 404 });
	});

	it("lets admins see everything and services opt out with scope: false", async () => {
		expect(await broker.call("things.count", {}, admin)).toBe(1);
		expect(await broker.call("things.count", { scope: false })).toBe(1);
	});

	it("transfers ownership", async () => {
		const moved = await broker.call<{ owner: string; members: string[] }, object>("things.transfer", { id: thing.id, owner: "bob" }, alice);
		expect(moved).toMatchObject({ owner: "bob", members: ["alice"] });
	});

	it("rejects query operators that run code", async () => {
		await expect(broker.call("things.find", { query: { $where: "1" } }, alice)).rejects.toMatchObject({ code: 403 });
	});
});
