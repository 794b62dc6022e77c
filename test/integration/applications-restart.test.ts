import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Datastore from "@seald-io/nedb";
import type { V1Deployment } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import type { Mesh } from "../helpers/mesh";
import { appsSuite, backends, clients, keyFor, objectsOf, peek, PUBLIC_HOST, ROOMY_LIMITS, sleep, withMongo, type AppsSuite, type SeenEvent } from "./applications.fixtures";

const IDLE_SECONDS = 8;

/**
 * A mesh is stopped and a new one started on the same database. Between the two, one instance's cull
 * is left half done (recorded, objects not yet deleted), as a crash at that moment would leave it.
 */
describe.each(backends)("ephemeral applications across a restart of the mesh, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let uri: string | undefined;
	let dataDir: string;
	let suite: AppsSuite;
	let key: string;
	const nsName = uniqueName("it-apps-rst");
	/** Events of both meshes, in order. */
	const events: SeenEvent[] = [];
	const { binder } = clients(() => mesh);

	/** Writes straight to the store, as the first mesh would have just before dying. */
	async function markCullStarted(appId: string): Promise<void> {
		const set = { status: "deleted", reason: "idle", message: "No activity (recorded just before a crash)", cleanup: "pending", endedAt: new Date().toISOString() };
		if (uri) {
			await withMongo(uri, async conn => {
				const res = await conn.collection("applications").updateOne({ appId }, { $set: set });
				expect(res.modifiedCount).toBe(1);
			});
			return;
		}
		const db = new Datastore({ filename: path.join(dataDir, "applications.db") });
		await db.loadDatabaseAsync();
		expect((await db.updateAsync({ appId }, { $set: set }, {})).numAffected).toBe(1);
		await db.compactDatafileAsync();
	}

	beforeAll(async () => {
		uri = pickMongo();
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-it-apps-data-"));
		suite = appsSuite({ namespace: nsName, mongoUri: uri, events, vars: { ...ROOMY_LIMITS, DATA_DIR: dataDir, APPS_IDLE_SECONDS: String(IDLE_SECONDS), APPS_MAX_PER_OWNER: "10" } });
		mesh = await suite.node();
		key = await keyFor(mesh, uniqueName("restart-user"));
	});

	afterAll(async () => {
		await suite?.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("neither loses nor double-culls instances", async () => {
		// kept: kept alive throughout; due: falls idle while no mesh runs; culled: culled before the
		// restart; halfway: its cull is recorded but not carried out when the first mesh goes.
		const launch = async () => (await binder("/python", { method: "POST", key })).body.id as string;
		const [kept, due, culled, halfway] = [await launch(), await launch(), await launch(), await launch()];
		const keepAlive = async (ids: Iterable<string>) => {
			for (const id of ids) expect((await binder(`/python/${id}/keepalive`, { method: "POST", key })).status).toBe(200);
		};
		// All are kept alive until they run; then `culled` is left alone, and `due` a few seconds later.
		const alive = new Set([kept, due, culled, halfway]);
		let keeping = true;
		const loop = (async () => {
			while (keeping) {
				await keepAlive([...alive]);
				await sleep(1000);
			}
		})();
		let beforeRestart: Record<string, any>;
		try {
			await eventually(async () => {
				for (const id of [kept, due, culled, halfway]) expect((await peek(mesh, id))?.status).toBe("running");
			});
			alive.delete(culled);
			await sleep(3000);
			alive.delete(due);
			await eventually(() => expect(events).toContainEqual({ event: "culled", id: culled, reason: "idle", status: "deleted" }), { timeoutMs: 30_000 });
			beforeRestart = (await peek(mesh, culled)) as Record<string, any>;
		} finally {
			keeping = false;
			await loop;
		}
		await keepAlive([kept, halfway]);
		const uid = async (id: string) => (await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: `app-${id}`, namespace: nsName }))?.metadata?.uid;
		const keptUid = await uid(kept);
		const dueView = (await peek(mesh, due)) as Record<string, any>;
		const keptView = (await peek(mesh, kept)) as Record<string, any>;
		expect(dueView.status).toBe("running");

		await mesh.stop();
		await markCullStarted(halfway);
		// While no mesh runs, `due` passes its idle deadline; `kept` must not get near its own.
		const dueAt = Date.parse(dueView.lastActivityAt) + IDLE_SECONDS * 1000;
		await sleep(Math.max(0, dueAt - Date.now()) + 500);
		expect(Date.parse(keptView.lastActivityAt) + IDLE_SECONDS * 1000 - Date.now()).toBeGreaterThan(2500);
		expect(await objectsOf(nsName, halfway)).toEqual({ Deployment: 1, Service: 1, Ingress: 1 });
		const seenBefore = events.length;

		mesh = await suite.node();
		await keepAlive([kept]);

		// The half-done cull is finished, and the instance that fell due is culled: each announced once.
		await eventually(async () => {
			expect(await peek(mesh, due)).toMatchObject({ status: "deleted", reason: "idle" });
			expect(await peek(mesh, halfway)).toMatchObject({ status: "deleted", reason: "idle" });
			for (const id of [due, halfway]) expect(await objectsOf(nsName, id)).toEqual({ Deployment: 0, Service: 0, Ingress: 0 });
			expect(events.slice(seenBefore).filter(e => e.event === "culled").map(e => e.id).sort()).toEqual([due, halfway].sort());
		}, { timeoutMs: 30_000 });
		// Nothing is lost: the kept instance runs on, on the very same Deployment, and the history is whole.
		expect(await peek(mesh, kept)).toMatchObject({ status: "running", location: `${PUBLIC_HOST}/user/${kept}` });
		expect(await uid(kept)).toBe(keptUid);
		expect(await objectsOf(nsName, kept)).toEqual({ Deployment: 1, Service: 1, Ingress: 1 });
		expect(await peek(mesh, culled)).toEqual({ ...beforeRestart!, updatedAt: expect.any(String) });
		expect((await peek(mesh, culled))?.endedAt).toBe(beforeRestart!.endedAt);
		// A little later still, nobody was culled twice: one culled event per instance across both meshes.
		await sleep(2000);
		const culls = events.filter(e => e.event === "culled").map(e => e.id);
		expect(culls.sort()).toEqual([culled, due, halfway].sort());
		const mine = (await binder("/python", { key })).body.map((a: { id: string; status: string }) => [a.id, a.status]);
		expect(Object.fromEntries(mine)).toEqual({ [kept]: "running", [due]: "deleted", [culled]: "deleted", [halfway]: "deleted" });
	});
});
