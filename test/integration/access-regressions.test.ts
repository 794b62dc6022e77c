import { kube, uniqueName } from "../helpers/cluster";
import { backends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { createNamespace, request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";
import { addMember, issueKey, openEventStream, removeMember, type EventStream } from "../helpers/access";
import { specFixtures } from "../helpers/openapi-ops";
import { setEnv } from "./applications.fixtures";

/**
 * One test per defect that issue #18 found ("Why"), through the gateway against the real control
 * plane: membership copied onto children, confinement ignored by some actions, Berth's own
 * namespaces and identities open to tenants, list filters that crashed, and streams that outlived
 * access. Each fails on the code before the access rework (acb7ba3^), but for the applications'
 * confinement, which an earlier commit (f83ef82) had brought: that one fails on f83ef82^.
 */

const SPEC = String(specFixtures["/api/v1/k8s/services"].deployment);
const QUOTA = { cpu: "8", memory: "8Gi", storage: "10Gi", pods: 20 };
const SECRET = "s3cr3t-value";

/** What the owner keeps in a namespace: one entity of each kind that lives there. */
interface Held {
	deployment: string;
	volume: string;
	env: string;
	job: string;
	spec: string;
}

describe.each(backends("berth_it_access"))("access regressions (issue #18), on %s", (_backend, pickMongo) => {
	const compatNs = uniqueName("it-acc-orch");
	const appsNs = uniqueName("it-acc-apps");
	const configured = uniqueName("it-acc-reserved");
	const users = { owner: uniqueName("owner"), member: uniqueName("member"), stranger: uniqueName("stranger") };
	let restoreEnv: () => void;
	let uri: string | undefined;
	let mesh: Mesh;
	const keys = { owner: "", member: "", stranger: "" };
	const streams: EventStream[] = [];

	const api = (path: string, key: string, init: { method?: string; body?: unknown } = {}): Promise<HttpResult<any>> => request(`${mesh.url}${path}`, { key, ...init });
	const post = (path: string, key: string, body: unknown = {}) => api(path, key, { method: "POST", body });
	const del = (path: string, key: string) => api(path, key, { method: "DELETE" });
	const idOf = (res: HttpResult<any>): string => {
		if (res.status !== 201) throw new Error(`create: ${res.status} ${res.text}`);
		return res.body.id as string;
	};
	const ownNamespace = (key = keys.owner) => createNamespace(mesh, key, uniqueName("it-acc"), QUOTA);

	/** The owner's deployment (with a secret env), volume, job and spec service in `ns`. */
	async function fill(ns: { id: string }): Promise<Held> {
		const deployment = idOf(await post("/api/v1/k8s/deployments", keys.owner, { name: uniqueName("web"), namespace: ns.id, image: "nginx" }));
		return {
			deployment,
			volume: idOf(await post("/api/v1/k8s/volumes", keys.owner, { namespace: ns.id, name: uniqueName("data"), mountPath: "/data" })),
			env: idOf(await post("/api/v1/k8s/envs", keys.owner, { namespace: ns.id, deployment, key: "TOKEN", value: SECRET, type: "secret" })),
			job: idOf(await post("/api/v1/k8s/jobs", keys.owner, { namespace: ns.id, cmd: "true" })),
			spec: idOf(await post("/api/v1/k8s/services", keys.owner, { namespace: ns.id, name: uniqueName("svc"), deployment: SPEC })),
		};
	}

	/** The statuses of reading each held entity as the caller of `key`. */
	async function reads(key: string, held: Held): Promise<number[]> {
		const paths = [`/api/v1/k8s/deployments/${held.deployment}`, `/api/v1/k8s/volumes/${held.volume}`, `/api/v1/k8s/envs/${held.env}`, `/api/v1/k8s/jobs/${held.job}`, `/api/v1/k8s/services/${held.spec}`];
		return Promise.all(paths.map(async p => (await api(p, key)).status));
	}

	/** A status stream, closed after the suite if the server has not ended it. */
	async function stream(path: string, key: string): Promise<EventStream> {
		const s = await openEventStream(`${mesh.url}${path}`, key);
		streams.push(s);
		expect(s.status).toBe(200);
		await eventually(() => expect(s.events.map(e => e.event)).toContain("snapshot"));
		return s;
	}

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		restoreEnv = setEnv({ STREAM_RECHECK_SECONDS: "1", JOBS_COMPAT_NAMESPACE: compatNs, APPS_NAMESPACE: appsNs, RESERVED_NAMESPACES: `other,${configured}`, APPS_QUOTA_CPU: "8", APPS_QUOTA_MEMORY: "16Gi" });
		mesh = await startMesh([]);
		for (const who of ["owner", "member", "stranger"] as const) keys[who] = (await issueKey(mesh, users[who])).key;
	});

	afterAll(async () => {
		for (const s of streams) s.close();
		if (mesh) await post("/api/v1/k8s/namespaces/clean", mesh.adminKey);
		await mesh?.stop();
		for (const name of [compatNs, appsNs]) await kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
		restoreEnv?.();
		await dropStore(uri);
	});

	it("a member removed from a namespace keeps no access to what it holds: no scale, no mounts patch, no volume delete, nothing read", async () => {
		const ns = await ownNamespace();
		// A member from the start: before the rework, each entity kept a copy of the members it was made with.
		await addMember(mesh, keys.owner, ns.id, users.member);
		const held = await fill(ns);
		expect(await reads(keys.member, held)).toEqual([200, 200, 200, 200, 200]);
		await removeMember(mesh, keys.owner, ns.id, users.member);

		expect(await reads(keys.member, held)).toEqual([404, 404, 404, 404, 404]);
		const attempts = [
			await post(`/api/v1/k8s/deployments/${held.deployment}/scale`, keys.member, { replicas: 3 }),
			await api(`/api/v1/k8s/deployments/${held.deployment}`, keys.member, { method: "PATCH", body: { mounts: [{ type: "secret", name: "some-secret", mountPath: "/stolen" }] } }),
			await del(`/api/v1/k8s/volumes/${held.volume}`, keys.member),
			await api(`/api/v1/k8s/envs/${held.env}`, keys.member, { method: "PATCH", body: { value: "changed" } }),
			await del(`/api/v1/k8s/jobs/${held.job}`, keys.member),
			await api(`/api/v1/k8s/services/${held.spec}`, keys.member, { method: "PATCH", body: { deployment: SPEC } }),
			await post(`/api/v1/k8s/services/${held.spec}/deploy`, keys.member),
			// Naming the namespace in a query: a reference to nothing the caller may see.
			await api(`/api/v1/k8s/envs/pack?namespace=${ns.id}&deployment=${held.deployment}&reveal=true`, keys.member),
		];
		expect(attempts.map(r => r.status)).toEqual([404, 404, 404, 404, 404, 404, 404, 422]);
		expect(attempts.map(r => r.text).join("")).not.toContain(SECRET);
		// Nothing changed: the owner finds all of it as it was.
		expect(await reads(keys.owner, held)).toEqual([200, 200, 200, 200, 200]);
		const dep = await api(`/api/v1/k8s/deployments/${held.deployment}`, keys.owner);
		expect([dep.body.replicas, dep.body.mounts ?? []]).toEqual([1, []]);
	});

	it("a member added to a namespace sees what it already held, with the role given", async () => {
		const ns = await ownNamespace();
		const held = await fill(ns);
		expect(await reads(keys.member, held)).toEqual([404, 404, 404, 404, 404]);
		await addMember(mesh, keys.owner, ns.id, users.member, "view");
		expect(await reads(keys.member, held)).toEqual([200, 200, 200, 200, 200]);
		// A viewer: reads, changes nothing.
		expect((await post(`/api/v1/k8s/deployments/${held.deployment}/scale`, keys.member, { replicas: 2 })).status).toBe(403);
		const listed = await api(`/api/v1/k8s/deployments?namespace=${ns.id}`, keys.member);
		expect(listed.body.map((d: { id: string }) => d.id)).toEqual([held.deployment]);
	});

	it("a key confined to other namespaces changes no members and no owner outside them", async () => {
		const ns = await ownNamespace();
		const held = await fill(ns);
		const elsewhere = await ownNamespace();
		const confined = (await issueKey(mesh, users.owner, [elsewhere.name])).key;
		const attempts = [
			await post(`/api/v1/k8s/deployments/${held.deployment}/members`, confined, { member: users.stranger }),
			await del(`/api/v1/k8s/deployments/${held.deployment}/members/${users.stranger}`, confined),
			await post(`/api/v1/k8s/deployments/${held.deployment}/transfer`, confined, { owner: users.stranger }),
			await post(`/api/v1/k8s/volumes/${held.volume}/members`, confined, { member: users.stranger }),
			await del(`/api/v1/k8s/volumes/${held.volume}/members/${users.stranger}`, confined),
			await post(`/api/v1/k8s/volumes/${held.volume}/transfer`, confined, { owner: users.stranger }),
			await post(`/api/v1/k8s/namespaces/${ns.id}/members`, confined, { member: users.stranger }),
			await del(`/api/v1/k8s/namespaces/${ns.id}/members/${users.member}`, confined),
			await post(`/api/v1/k8s/namespaces/${ns.id}/transfer`, confined, { owner: users.stranger }),
		];
		expect(attempts.map(r => r.status)).toEqual(Array(attempts.length).fill(404));
		const [dep, volume, namespace] = await Promise.all([`/api/v1/k8s/deployments/${held.deployment}`, `/api/v1/k8s/volumes/${held.volume}`, `/api/v1/k8s/namespaces/${ns.id}`].map(p => api(p, keys.owner)));
		expect([dep.body.owner, volume.body.owner, namespace.body.owner, namespace.body.members]).toEqual([users.owner, users.owner, users.owner, []]);
		// The stranger got nothing either.
		expect(await reads(keys.stranger, held)).toEqual([404, 404, 404, 404, 404]);
	});

	it("a confined key neither lists, ends nor keeps alive applications outside its namespaces", async () => {
		const launched = await post("/api/v1/k8s/applications", keys.owner, { template: "jupyter-notebook" });
		expect(launched.status).toBe(201);
		const app = launched.body.id as string;
		const confined = (await issueKey(mesh, users.owner, [(await ownNamespace()).name])).key;
		const list = await api("/api/v1/k8s/applications", confined);
		expect([list.status, list.text.includes(app)]).toEqual([200, false]);
		const binderList = await api("/applications/jupyter-notebook", confined);
		expect([binderList.status, binderList.text.includes(app)]).toEqual([200, false]);
		expect((await post(`/api/v1/k8s/applications/${app}/keepalive`, confined)).status).toBe(404);
		expect((await post(`/applications/jupyter-notebook/${app}/keepalive`, confined)).status).toBe(404);
		expect((await del(`/api/v1/k8s/applications/${app}`, confined)).status).toBe(404);
		expect((await post("/api/v1/k8s/applications", confined, { template: "jupyter-notebook" })).status).toBe(403);
		// Still the owner's, and still running for them.
		const mine = await api(`/api/v1/k8s/applications/${app}`, keys.owner);
		expect([mine.status, ["deleted", "culled"].includes(mine.body.status)]).toEqual([200, false]);
		expect((await del(`/api/v1/k8s/applications/${app}`, keys.owner)).status).toBe(200);
	});

	it("a confined key lists and revokes only keys confined within its namespaces; a confined admin key too, and it grants nothing wider", async () => {
		const ns = await ownNamespace();
		const other = await ownNamespace();
		const unconfined = await issueKey(mesh, users.owner);
		const inside = await issueKey(mesh, users.owner, [ns.name]);
		const outside = await issueKey(mesh, users.owner, [other.name]);
		const strangers = await issueKey(mesh, users.stranger);
		const confined = await issueKey(mesh, users.owner, [ns.name]);
		const listed = async (key: string) => ((await api("/api/v1/keys", key)).body as { id: string }[]).map(k => k.id);
		expect(await listed(confined.key)).toEqual(expect.arrayContaining([inside.id, confined.id]));
		expect((await listed(confined.key)).filter(id => [unconfined.id, outside.id].includes(id))).toEqual([]);
		expect([(await api(`/api/v1/keys/${unconfined.id}`, confined.key)).status, (await del(`/api/v1/keys/${unconfined.id}`, confined.key)).status, (await del(`/api/v1/keys/${outside.id}`, confined.key)).status]).toEqual([404, 404, 404]);

		const res = await post("/api/v1/keys", mesh.adminKey, { name: "ops", userID: uniqueName("ops"), roles: ["admin"], namespaces: [ns.name] });
		expect(res.status).toBe(201);
		const admin = res.body.key as string;
		const seen = await listed(admin);
		expect(seen).toEqual(expect.arrayContaining([inside.id, confined.id]));
		expect(seen.filter(id => [unconfined.id, outside.id, strangers.id].includes(id))).toEqual([]);
		expect([(await del(`/api/v1/keys/${strangers.id}`, admin)).status, (await del(`/api/v1/keys/${outside.id}`, admin)).status]).toEqual([404, 404]);
		expect((await post("/api/v1/keys", admin, { name: "wider", userID: users.stranger, namespaces: [other.name] })).status).toBe(403);
		const narrow = await post("/api/v1/keys", admin, { name: "narrow", userID: users.stranger });
		expect([narrow.status, narrow.body.namespaces]).toEqual([201, [ns.name]]);
		expect((await del(`/api/v1/keys/${inside.id}`, admin)).status).toBe(200);
		// What it could not revoke still works.
		for (const key of [unconfined.key, outside.key, strangers.key]) expect((await api("/api/v1/keys", key)).status).toBe(200);

		// Nor does it manage the platform's catalog.
		const before = (await api("/api/v1/k8s/images", keys.owner)).body.length;
		expect([(await post("/api/v1/k8s/images/load", admin)).status, (await post("/api/v1/k8s/images/clean", admin)).status]).toEqual([403, 403]);
		expect((await api("/api/v1/k8s/images", keys.owner)).body.length).toBe(before);
	});

	it("a tenant creates none of Berth's own namespaces and hands nothing to Berth's identities", async () => {
		for (const name of [compatNs, appsNs, configured, "berth-system", "kube-system"]) {
			const res = await post("/api/v1/k8s/namespaces", keys.stranger, { name });
			expect([name, res.status, res.body.data?.[0]?.field, res.body.data?.[0]?.type]).toEqual([name, 422, "name", "reserved"]);
		}
		const ns = await ownNamespace(keys.stranger);
		const dep = idOf(await post("/api/v1/k8s/deployments", keys.stranger, { name: uniqueName("web"), namespace: ns.id, image: "nginx" }));
		for (const owner of ["system", "anonymous"]) {
			for (const path of [`/api/v1/k8s/namespaces/${ns.id}/transfer`, `/api/v1/k8s/deployments/${dep}/transfer`]) {
				const res = await post(path, keys.stranger, { owner });
				expect([path, owner, res.status, res.body.data?.[0]?.field, res.body.data?.[0]?.type]).toEqual([path, owner, 422, "owner", "reserved"]);
			}
			const key = await post("/api/v1/keys", mesh.adminKey, { name: owner, userID: owner });
			expect([owner, key.status, key.body.data?.[0]?.type]).toEqual([owner, 422, "reserved"]);
		}
		expect((await api(`/api/v1/k8s/namespaces/${ns.id}`, keys.stranger)).body.owner).toBe(users.stranger);
	});

	it("/jobs of every user run in Berth's own namespace, which no tenant can take or see", async () => {
		// The attacker tries first, before Berth has made its namespace.
		expect((await post("/api/v1/k8s/namespaces", keys.stranger, { name: compatNs })).status).toBe(422);
		const job = await post("/jobs", keys.owner, { cmd: "echo hello" });
		expect(job.status).toBeLessThan(300);
		expect(job.body.metadata.namespace).toBe(compatNs);
		const compat = (await api("/api/v1/k8s/namespaces", mesh.adminKey)).body.find((n: { name: string }) => n.name === compatNs);
		expect(compat.owner).toBe("system");
		const name = job.body.metadata.name as string;
		expect([(await api(`/jobs/${name}`, keys.stranger)).status, (await api(`/jobs/${name}/logs`, keys.stranger)).status]).toEqual([404, 404]);
		for (const path of ["/jobs", "/api/v1/k8s/jobs", "/api/v1/k8s/namespaces"]) {
			const text = (await api(path, keys.stranger)).text;
			expect([path, text.includes(name), text.includes(compatNs)]).toEqual([path, false, false]);
		}
		// The attacker's own /jobs run there too, each caller's own.
		const theirs = await post("/jobs", keys.stranger, { cmd: "true" });
		expect(theirs.body.metadata.namespace).toBe(compatNs);
		expect((await api(`/jobs/${theirs.body.metadata.name}`, keys.owner)).status).toBe(404);
	});

	it("a list filter with an operator of the wrong shape, or nested too deep, is a 422 on query (not a 500)", async () => {
		const ns = await ownNamespace();
		const deep = (depth: number): unknown => (depth === 0 ? { name: "x" } : { $and: [deep(depth - 1)] });
		for (const list of ["/api/v1/k8s/namespaces", "/api/v1/k8s/volumes"]) {
			for (const query of [{ name: { $in: "x" } }, deep(6), deep(300), { name: { $where: "sleep(1000)" } }, { "owner.$": 1 }]) {
				const res = await api(`${list}?query=${encodeURIComponent(JSON.stringify(query))}`, keys.owner);
				expect([list, JSON.stringify(query).slice(0, 40), res.status, res.body.data?.[0]?.field, res.body.data?.[0]?.type]).toEqual([list, JSON.stringify(query).slice(0, 40), 422, "query", "query"]);
			}
		}
		// What is documented still filters.
		const named = await api(`/api/v1/k8s/namespaces?query=${encodeURIComponent(JSON.stringify({ name: { $in: [ns.name] } }))}`, keys.owner);
		expect(named.body.map((n: { id: string }) => n.id)).toEqual([ns.id]);
	});

	it("an open namespace stream ends when its caller is removed from the namespace", async () => {
		const ns = await ownNamespace();
		await addMember(mesh, keys.owner, ns.id, users.member, "view");
		const s = await stream(`/api/v1/k8s/namespaces/${ns.id}/stream`, keys.member);
		await removeMember(mesh, keys.owner, ns.id, users.member);
		await s.closed;
		expect(s.events.at(-1)?.event).toBe("end");
		expect(JSON.stringify(s.events.at(-1)?.data)).not.toContain(users.owner);
	});

	it("an open namespace stream ends at the next re-check once the key it was opened with has expired", async () => {
		const ns = await ownNamespace();
		const res = await post("/api/v1/keys", mesh.adminKey, { name: "short", userID: users.owner, expiresAt: new Date(Date.now() + 3000).toISOString() });
		expect(res.status).toBe(201);
		// Nothing is broadcast when a key expires: only the STREAM_RECHECK_SECONDS re-check sees it.
		const s = await stream(`/api/v1/k8s/namespaces/${ns.id}/stream`, res.body.key);
		await s.closed;
		expect(s.events.at(-1)?.event).toBe("end");
	});

	it("an open namespace stream ends when the namespace is deleted, and says nothing of another tenant's namespace of that name", async () => {
		const ns = await ownNamespace();
		const s = await stream(`/api/v1/k8s/namespaces/${ns.id}/stream`, keys.owner);
		expect((await del(`/api/v1/k8s/namespaces/${ns.id}`, keys.owner)).status).toBe(200);
		await s.closed;
		expect(s.events.at(-1)?.event).toBe("end");
		const seen = s.events.length;

		// Another tenant takes the name once the cluster has let it go, and deploys there.
		await eventually(async () => expect((await api(`/api/v1/k8s/namespaces/available/${ns.name}`, keys.stranger)).body.available).toBe(true), { timeoutMs: 120_000, intervalMs: 1000 });
		const theirs = await createNamespace(mesh, keys.stranger, ns.name, QUOTA);
		const watch = await stream(`/api/v1/k8s/namespaces/${theirs.id}/stream`, keys.stranger);
		const dep = idOf(await post("/api/v1/k8s/deployments", keys.stranger, { name: uniqueName("web"), namespace: theirs.id, image: "nginx" }));
		// Their own stream tells them about it; the old one, ended, got nothing more.
		await eventually(() => expect(JSON.stringify(watch.events)).toContain(dep));
		expect(s.events.length).toBe(seen);
		expect(JSON.stringify(s.events)).not.toContain(dep);
	});
});
