import { uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import type { Mesh } from "../helpers/mesh";
import { appsSuite, clients, isolatedMongoUri, keyFor, objectsOf, peek, ROOMY_LIMITS, type AppsSuite, type SeenEvent } from "./applications.fixtures";

/**
 * Two nodes on one database, both running the controller (leader election off): the worst case the
 * Lease normally prevents. Every transition is still made once, because each is a conditional update
 * only one node can win. MongoDB (FerretDB) only: NeDB files belong to one process and cannot be
 * shared by two nodes.
 */
describe("ephemeral applications with two controllers on one FerretDB database", () => {
	let a: Mesh;
	let b: Mesh;
	let suite: AppsSuite;
	const nsName = uniqueName("it-apps-2n");
	const events: SeenEvent[] = [];
	const { binder } = clients(() => a);

	beforeAll(async () => {
		suite = appsSuite({ namespace: nsName, mongoUri: isolatedMongoUri(), events, vars: { ...ROOMY_LIMITS, APPS_IDLE_SECONDS: "3", LEADER_ELECTION: "false", RESYNC_SECONDS: "1" } });
		a = await suite.node();
		b = await suite.node();
	});

	afterAll(() => suite?.stop());

	it("brings each instance up once and culls it once, whichever node gets there first", async () => {
		const key = await keyFor(a, uniqueName("two-nodes"));
		const ids: string[] = [];
		for (let i = 0; i < 4; i++) ids.push((await binder("/python", { method: "POST", key })).body.id);
		await eventually(
			async () => {
				for (const id of ids) {
					expect(await peek(b, id)).toMatchObject({ status: "deleted", reason: "idle" });
					expect(await objectsOf(nsName, id)).toEqual({ Deployment: 0, Service: 0, Ingress: 0 });
				}
			},
			{ timeoutMs: 60_000 },
		);
		await eventually(() => expect(events.filter(e => e.event === "culled")).toHaveLength(ids.length));
		// Both controllers keep looking (every second here); nothing happens twice.
		await new Promise(r => setTimeout(r, 2500));
		for (const id of ids) {
			const mine = events.filter(e => e.id === id).map(e => e.event);
			expect(mine.filter(e => e === "culled")).toHaveLength(1);
			expect(mine.filter(e => e === "running").length).toBeLessThanOrEqual(1);
			expect(mine.filter(e => e === "launched")).toHaveLength(1);
		}
		// Both nodes tell the same story.
		for (const id of ids) expect(await peek(a, id)).toEqual(await peek(b, id));
	});
});
