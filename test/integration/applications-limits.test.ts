import { Kinds, type V1Pod, type V1ResourceQuota } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import type { Mesh } from "../helpers/mesh";
import { appsSuite, backends, clients, keyFor, objectsOf, peek, sleep, type AppsSuite, type SeenEvent } from "./applications.fixtures";

const MAX_AGE_SECONDS = 12;

describe.each(backends)("ephemeral applications: limits and max age, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let suite: AppsSuite;
	const nsName = uniqueName("it-apps-lim");
	const events: SeenEvent[] = [];
	const { binder, native } = clients(() => mesh);
	const launch = (template: string, key?: string) => binder(`/${template}`, { method: "POST", key });

	beforeAll(async () => {
		// Quota: 2 CPUs of limits, i.e. four python instances (500m each) or two notebooks (1000m each).
		const limits = { APPS_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS), APPS_MAX_PER_OWNER: "2", APPS_QUOTA_CPU: "2", APPS_QUOTA_MEMORY: "8Gi" };
		suite = appsSuite({ namespace: nsName, mongoUri: pickMongo(), events, vars: { DATA_DIR: ":memory:", APPS_IDLE_SECONDS: "300", ...limits } });
		mesh = await suite.node();
	});

	afterAll(() => suite?.stop());

	it("admits at most APPS_MAX_PER_OWNER instances per owner, even when the launches race", async () => {
		const erin = await keyFor(mesh, uniqueName("erin"));
		const results = await Promise.all([1, 2, 3, 4].map(() => launch("python", erin)));
		const admitted = results.filter(r => r.status === 200).map(r => r.body.id as string);
		const refused = results.filter(r => r.status !== 200);
		expect(admitted).toHaveLength(2);
		expect(refused).toHaveLength(2);
		for (const r of refused) {
			expect(r.status).toBe(422);
			expect(r.body.type).toBe("QUOTA_EXCEEDED");
			expect(r.body.message).toContain("APPS_MAX_PER_OWNER=2");
		}
		// Refused launches leave nothing behind, not even history.
		expect((await native("/", { key: erin })).body.map((a: { id: string }) => a.id).sort()).toEqual([...admitted].sort());
		expect((await launch("python", erin)).status).toBe(422);
		// Ending one makes room for the next.
		expect((await native(`/${admitted[0]}`, { method: "DELETE", key: erin })).status).toBe(200);
		// Once its objects are gone (the cluster's quota counts its pod until then, and under load that lags).
		await eventually(async () => expect(await objectsOf(nsName, admitted[0])).toEqual({ Deployment: 0, Service: 0, Ingress: 0 }));
		const next = await launch("python", erin);
		expect(next.status).toBe(200);
		for (const id of [admitted[1], next.body.id]) expect((await native(`/${id}`, { method: "DELETE", key: erin })).status).toBe(200);
		// Wait until the cluster's quota has seen the pods go, so the next test starts from an empty namespace.
		for (const id of [...admitted, next.body.id]) await eventually(async () => expect(await objectsOf(nsName, id)).toEqual({ Deployment: 0, Service: 0, Ingress: 0 }));
		await eventually(async () => expect((await kube().list<V1Pod>(Kinds.Pod, { namespace: nsName })).length).toBe(0), { timeoutMs: 60_000 });
		await eventually(async () => {
			const rq = await kube().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: nsName });
			expect(rq?.status?.used?.["limits.cpu"]).toBe("0");
		}, { timeoutMs: 60_000 });
	});

	describe("the namespace's quota, then max age", () => {
		const carolIds: string[] = [];

		it("refuses a launch the namespace's quota cannot hold, saying what is short", async () => {
			const carol = await keyFor(mesh, uniqueName("carol"));
			const dave = await keyFor(mesh, uniqueName("dave"));
			for (let i = 0; i < 2; i++) carolIds.push((await launch("python", carol)).body.id);
			expect((await launch("python", dave)).status).toBe(200);
			// 1500m of 2000m booked: a notebook (1000m) does not fit, launched anonymously or not.
			const notebook = await launch("jupyter-notebook");
			expect(notebook.status).toBe(422);
			expect(notebook.body).toMatchObject({ code: 422, type: "QUOTA_EXCEEDED", data: { namespace: nsName, shortfalls: expect.arrayContaining([{ resource: "limits.cpu", requested: "1000m", used: "1500m", hard: "2000m" }]) } });
			expect(notebook.body.message).toContain("limits.cpu: needs 1000m more, 1500m of 2000m already used");
			// A python instance (500m) still fits; after it, nothing does.
			expect((await launch("python", dave)).status).toBe(200);
			const frank = await keyFor(mesh, uniqueName("frank"));
			const full = await launch("python", frank);
			expect(full.status).toBe(422);
			expect(full.body.message).toContain("limits.cpu: needs 500m more, 2000m of 2000m already used");
			// A refused launch is no instance: nothing to poll.
			expect(full.body.id).toBeUndefined();
		});

		it("culls instances older than APPS_MAX_AGE_SECONDS whatever their activity, which frees the quota", async () => {
			const [kept] = carolIds;
			const launchedAt = Date.parse((await peek(mesh, kept))?.createdAt);
			let keeping = true;
			const loop = (async () => {
				while (keeping) {
					await binder(`/python/${kept}/keepalive`, { method: "POST", key: mesh.adminKey });
					await sleep(700);
				}
			})();
			try {
				const culled = await eventually(
					async () => {
						const view = await peek(mesh, kept);
						expect(view).toMatchObject({ status: "deleted", reason: "max-age" });
						return view;
					},
					{ timeoutMs: (MAX_AGE_SECONDS + 30) * 1000 },
				);
				expect(Date.parse(culled?.endedAt) - launchedAt).toBeGreaterThanOrEqual(MAX_AGE_SECONDS * 1000);
				// It was active to the end: the keep-alives were recorded, and did not save it.
				expect(Date.parse(culled?.endedAt) - Date.parse(culled?.lastActivityAt)).toBeLessThan(5000);
			} finally {
				keeping = false;
				await loop;
			}
			// Announced once its objects are gone.
			await eventually(() => expect(events.filter(e => e.id === kept && e.event === "culled")).toEqual([{ event: "culled", id: kept, reason: "max-age", status: "deleted" }]));
			expect(await objectsOf(nsName, kept)).toEqual({ Deployment: 0, Service: 0, Ingress: 0 });
			// Everyone's instances reach the same age; once they are gone there is room again.
			await eventually(async () => {
				const all = (await native("/", { key: mesh.adminKey })).body as { status: string }[];
				expect(all.filter(a => a.status === "running" || a.status === "deploying")).toEqual([]);
			}, { timeoutMs: 60_000 });
			const again = await eventually(async () => {
				const res = await launch("jupyter-notebook");
				expect(res.status).toBe(200);
				return res.body.id as string;
			}, { timeoutMs: 60_000, intervalMs: 1000 });
			expect(await peek(mesh, again)).toMatchObject({ owner: "anonymous", status: expect.stringMatching(/deploying|running/) });
		});
	});
});
