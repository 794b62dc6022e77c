import type { V1Ingress } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { request, type Mesh } from "../helpers/mesh";
import { appsSuite, backends, clients, HEX32, keyFor, objectsOf, peek, PUBLIC_HOST, readyPods, ROOMY_LIMITS, sleep, type AppsSuite, type SeenEvent } from "./applications.fixtures";

const IDLE_SECONDS = 4;

describe.each(backends)("ephemeral applications (binder deploy API) against the real control plane, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let suite: AppsSuite;
	let alice: string;
	let bob: string;
	const nsName = uniqueName("it-apps");
	const events: SeenEvent[] = [];
	const { binder, native } = clients(() => mesh);

	beforeAll(async () => {
		suite = appsSuite({ namespace: nsName, mongoUri: pickMongo(), events, vars: { ...ROOMY_LIMITS, DATA_DIR: ":memory:", APPS_IDLE_SECONDS: String(IDLE_SECONDS), APPS_MAX_PER_OWNER: "3" } });
		mesh = await suite.node();
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
	});

	afterAll(() => suite?.stop());

	describe("launching", () => {
		let anonymousId: string;
		let aliceId: string;

		it("launches a public template without a key: the answer is only an unguessable id", async () => {
			const res = await binder("/jupyter-notebook", { method: "POST", body: {} });
			expect(res.status).toBe(200);
			expect(Object.keys(res.body)).toEqual(["id"]);
			expect(res.body.id).toMatch(HEX32);
			anonymousId = res.body.id;
			// The applications namespace was made on first use, owned by Berth.
			await eventually(async () => expect(await kube().get({ apiVersion: "v1", kind: "Namespace", name: nsName })).toBeDefined());
			// Anyone with the id can poll it (as in binder), in the protocol's shape exactly.
			const poll = await binder(`/jupyter-notebook/${anonymousId}`);
			expect(poll.status).toBe(200);
			expect(Object.keys(poll.body).sort()).toEqual(["id", "location", "status", "template-name"]);
			expect(poll.body).toMatchObject({ id: anonymousId, "template-name": "jupyter-notebook" });
			expect(["deploying", "running"]).toContain(poll.body.status);
			expect(events).toContainEqual(expect.objectContaining({ event: "launched", id: anonymousId }));
		});

		it("refuses anonymous launches of templates that are not public with 401, and launches them with a key", async () => {
			const refused = await binder("/python", { method: "POST" });
			expect(refused.status).toBe(401);
			expect(refused.body).toMatchObject({ code: 401, type: "UNAUTHORIZED", message: 'Only public templates launch without an API key, and "python" is not one' });
			expect((await native("/", { method: "POST", body: { template: "python" } })).status).toBe(401);
			// A catalog image that is no template at all: 401 without a key too, 404 with one.
			expect((await binder("/nginx", { method: "POST" })).status).toBe(401);
			expect((await binder("/nginx", { method: "POST", key: alice })).status).toBe(404);
			// A name the catalog does not have is 404, key or not.
			for (const key of [undefined, alice]) expect((await binder("/no-such-template", { method: "POST", key })).status).toBe(404);
			// Berth's API launches public templates anonymously too, answering the whole view.
			const nativeAnonymous = await native("/", { method: "POST", body: { template: "jupyter-notebook" } });
			expect(nativeAnonymous.status).toBe(201);
			expect(nativeAnonymous.headers.get("location")).toBe(`/api/v1/k8s/applications/${nativeAnonymous.body.id}`);
			expect(nativeAnonymous.body).toMatchObject({ "template-name": "jupyter-notebook", owner: "anonymous", status: "deploying", location: null });
			expect((await native(`/${nativeAnonymous.body.id}`)).body.id).toBe(nativeAnonymous.body.id);
			// With a key (here as the binder client sends it: the bare key in Authorization), python launches.
			const launched = await binder("/python", { method: "POST", headers: { authorization: alice } });
			expect(launched.status).toBe(200);
			aliceId = launched.body.id;
			expect(aliceId).toMatch(HEX32);
			// Ids are unguessable and unique.
			expect(new Set([anonymousId, aliceId]).size).toBe(2);
		});

		it("lists the templates a caller may launch: the public ones without a key, all with one", async () => {
			const anonymous = await native("/templates");
			expect(anonymous.status).toBe(200);
			expect(anonymous.body.map((t: { name: string }) => t.name)).toEqual(["jupyter-notebook"]);
			expect(anonymous.body[0]).toMatchObject({ public: true, image: "quay.io/jupyter/base-notebook:python-3.11", ports: [{ port: 8888 }], resources: { limits: { cpu: 1000 } } });
			const all = await native("/templates", { key: alice });
			expect(all.body.map((t: { name: string; public: boolean }) => [t.name, t.public])).toEqual([["jupyter-notebook", true], ["python", false]]);
			expect((await native("/templates/python")).status).toBe(401);
			expect((await native("/templates/python", { key: alice })).body).toMatchObject({ name: "python", public: false });
			expect((await native("/templates/nginx", { key: alice })).status).toBe(404);
			// A template may be named by its id as well.
			const python = all.body.find((t: { name: string }) => t.name === "python");
			const carol = await keyFor(mesh, uniqueName("carol"));
			const byId = await native("/", { method: "POST", key: carol, body: { template: python.id } });
			expect(byId.status).toBe(201);
			expect(byId.body["template-name"]).toBe("python");
			expect((await native(`/${byId.body.id}`, { method: "DELETE", key: carol })).status).toBe(200);
		});

		it("shows a keyed instance only to its owner (and admins); others get 404, as for a missing one", async () => {
			expect((await binder(`/python/${aliceId}`, { key: alice })).status).toBe(200);
			expect((await binder(`/python/${aliceId}`, { key: bob })).status).toBe(404);
			expect((await binder(`/python/${aliceId}`)).status).toBe(404);
			expect((await binder(`/python/${aliceId}`, { key: mesh.adminKey })).status).toBe(200);
			// Under another template's name, or with an id that was never issued: 404.
			expect((await binder(`/jupyter-notebook/${aliceId}`, { key: alice })).status).toBe(404);
			expect((await binder(`/python/${"0".repeat(32)}`, { key: alice })).status).toBe(404);
			expect((await binder("/python/not-an-id", { key: alice })).status).toBe(404);
			// Berth's API: the same instance with its bookkeeping.
			const view = await native(`/${aliceId}`, { key: alice });
			expect(view.status).toBe(200);
			expect(view.body).toMatchObject({ id: aliceId, "template-name": "python", namespace: nsName, owner: expect.any(String), cullAt: expect.any(String) });
			expect((await native(`/${aliceId}`, { key: bob })).status).toBe(404);
		});

		it("lists a template's instances only with a key: each caller's own, an admin's all", async () => {
			const anonymous = await binder("/python");
			expect(anonymous.status).toBe(401);
			expect((await native("/")).status).toBe(401);

			const mine = await binder("/python", { headers: { authorization: alice } });
			expect(mine.status).toBe(200);
			expect(mine.body.map((a: { id: string }) => a.id)).toEqual([aliceId]);
			for (const item of mine.body) expect(Object.keys(item).sort()).toEqual(["id", "location", "status", "template-name"]);
			expect((await binder("/python", { key: bob })).body).toEqual([]);
			// Anonymous instances belong to no key: only an admin lists them.
			expect((await binder("/jupyter-notebook", { key: alice })).body).toEqual([]);
			const all = await binder("/jupyter-notebook", { key: mesh.adminKey });
			expect(all.body.map((a: { id: string }) => a.id)).toContain(anonymousId);
			const nativeList = await native("/?template=python", { key: alice });
			expect(nativeList.body.map((a: { id: string }) => a.id)).toEqual([aliceId]);
		});
	});

	it("sets the location only once a pod is Ready", async () => {
		// A second quota that admits no pod: the instance's Deployment is applied, but no pod can start.
		const hold = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "it-hold", namespace: nsName }, spec: { hard: { pods: "0" } } };
		await kube().apply(hold);
		let removed = false;
		try {
			const launched = await binder("/python", { method: "POST", key: bob });
			const id = launched.body.id as string;
			await eventually(async () => expect((await objectsOf(nsName, id)).Deployment).toBe(1));
			for (let i = 0; i < 8; i++) {
				const poll = await binder(`/python/${id}`, { key: bob });
				expect(poll.body).toEqual({ id, "template-name": "python", location: null, status: "deploying" });
				expect(await readyPods(nsName, id)).toBe(0);
				await sleep(400);
			}
			await kube().delete({ apiVersion: "v1", kind: "ResourceQuota", name: "it-hold", namespace: nsName });
			removed = true;
			const running = await eventually(
				async () => {
					const poll = await binder(`/python/${id}`, { key: bob });
					expect(poll.body.status).toBe("running");
					return poll.body;
				},
				{ timeoutMs: 120_000, intervalMs: 300 },
			);
			expect(running.location).toBe(`${PUBLIC_HOST}/user/${id}`);
			expect(await readyPods(nsName, id)).toBeGreaterThan(0);
			expect(events).toContainEqual(expect.objectContaining({ event: "running", id }));
			// The route: a path-based rule for /user/<id> to the instance's Service (no host: PUBLIC_HOST is an address).
			const ingress = await kube().get<V1Ingress>({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: `app-${id}`, namespace: nsName });
			expect(ingress?.spec?.rules).toEqual([{ http: { paths: [{ path: `/user/${id}`, pathType: "Prefix", backend: { service: { name: `app-${id}`, port: { number: 8000 } } } }] } }]);
			expect(await objectsOf(nsName, id)).toEqual({ Deployment: 1, Service: 1, Ingress: 1 });
		} finally {
			if (!removed) await kube().delete({ apiVersion: "v1", kind: "ResourceQuota", name: "it-hold", namespace: nsName });
		}
	});

	it("culls an idle instance, while keep-alives keep another one running", async () => {
		const idle = (await binder("/python", { method: "POST", key: bob })).body.id as string;
		const kept = (await native("/", { method: "POST", key: bob, body: { template: "python" } })).body.id as string;
		let keeping = true;
		const keepalives: number[] = [];
		const loop = (async () => {
			while (keeping) {
				keepalives.push((await binder(`/python/${kept}/keepalive`, { method: "POST", key: bob })).status);
				await sleep(700);
			}
		})();
		try {
			await eventually(async () => expect((await peek(mesh, kept))?.status).toBe("running"));
			// Nobody polls `idle`: it is deleted once idle longer than APPS_IDLE_SECONDS, and its objects go.
			const culled = await eventually(
				async () => {
					const view = await peek(mesh, idle);
					expect(view).toMatchObject({ status: "deleted", reason: "idle" });
					expect(view?.terminating).toBeUndefined();
					return view;
				},
				{ timeoutMs: 30_000 },
			);
			expect(Date.parse(culled?.endedAt) - Date.parse(culled?.lastActivityAt)).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000);
			expect(await objectsOf(nsName, idle)).toEqual({ Deployment: 0, Service: 0, Ingress: 0 });
			// The history keeps it: polling answers deleted, with the location it had.
			expect((await binder(`/python/${idle}`, { key: bob })).body).toEqual({ id: idle, "template-name": "python", location: `${PUBLIC_HOST}/user/${idle}`, status: "deleted" });
			expect(events.filter(e => e.event === "culled" && e.id === idle)).toEqual([{ event: "culled", id: idle, reason: "idle", status: "deleted" }]);

			// Twice the idle timeout later, the kept instance still runs.
			await sleep(2 * IDLE_SECONDS * 1000);
			expect(await peek(mesh, kept)).toMatchObject({ status: "running" });
			expect(await objectsOf(nsName, kept)).toEqual({ Deployment: 1, Service: 1, Ingress: 1 });
			expect(keepalives.every(s => s === 200)).toBe(true);
		} finally {
			keeping = false;
			await loop;
		}
		// Without keep-alives it goes the same way, and a keep-alive then is too late.
		await eventually(async () => expect(await peek(mesh, kept)).toMatchObject({ status: "deleted", reason: "idle" }), { timeoutMs: 30_000 });
		const late = await binder(`/python/${kept}/keepalive`, { method: "POST", key: bob });
		expect(late.status).toBe(409);
		expect(late.body.type).toBe("CONFLICT");
	});

	it("deletes an instance on its owner's request, keeping it in the history", async () => {
		const id = (await native("/", { method: "POST", key: alice, body: { template: "python" } })).body.id as string;
		await eventually(async () => expect((await objectsOf(nsName, id)).Deployment).toBe(1));
		expect((await native(`/${id}`, { method: "DELETE", key: bob })).status).toBe(404);
		const res = await native(`/${id}`, { method: "DELETE", key: alice });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id, status: "deleted", reason: "requested" });
		await eventually(async () => expect(await objectsOf(nsName, id)).toEqual({ Deployment: 0, Service: 0, Ingress: 0 }));
		expect((await native("/?status=deleted", { key: alice })).body.map((a: { id: string }) => a.id)).toContain(id);
		await eventually(() => expect(events.filter(e => e.id === id && e.event === "deleted")).toHaveLength(1));
	});
});
