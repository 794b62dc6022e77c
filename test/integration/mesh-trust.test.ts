import { randomBytes, randomUUID } from "node:crypto";
import { ServiceBroker, type BrokerOptions, type Middleware } from "moleculer";
import { connect, type NatsConnection } from "nats";
import { meshMiddleware, transporterFor } from "../../lib/index";
import type { V1Deployment } from "../../lib/k8s";
import { checkNatsCredentials } from "../../lib/mesh/transporter";
import { kube, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type Mesh } from "../helpers/mesh";
import { startNatsServer, type NatsServer } from "../helpers/nats-server";
import { startNode } from "../helpers/nodes";

/** Every log line a broker writes (also with `logger: false`), as "level module text". */
function logCapture(lines: string[]): Middleware {
	return {
		name: "LogCapture",
		newLogEntry(type: string, args: unknown[], bindings: { mod?: string }) {
			lines.push(`${type} ${bindings?.mod ?? ""} ${args.map(a => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`);
		},
	} as Middleware;
}

/** Everything published on the server, as a subscriber on `>` with valid credentials sees it. */
async function wiretap(url: string): Promise<{ conn: NatsConnection; messages: { subject: string; data: Buffer }[] }> {
	const opts = transporterFor(url) as unknown as { options: object };
	const conn = await connect(opts.options);
	const messages: { subject: string; data: Buffer }[] = [];
	conn.subscribe(">", { callback: (_err, msg) => messages.push({ subject: msg.subject, data: Buffer.from(msg.data) }) });
	await conn.flush();
	return { conn, messages };
}

/** A REQ packet as a node without MESH_SECRET would send it: v1.keys.create, as an admin, for a key of its own. */
function forgedKeyRequest(sender: string, keyName: string): Buffer {
	const id = randomUUID();
	return Buffer.from(
		JSON.stringify({
			ver: "5",
			sender,
			id,
			action: "v1.keys.create",
			params: { name: keyName, userID: keyName, roles: ["admin"] },
			meta: { userID: "admin", roles: ["admin"] },
			headers: {},
			timeout: 10_000,
			level: 1,
			tracing: null,
			parentID: null,
			requestID: id,
			caller: null,
		}),
	);
}

const NATS_USER = "berth";
// Characters that must be percent-encoded in TRANSPORTER: the credentials are decoded before use.
const NATS_PASS = `p@ss:${randomBytes(6).toString("hex")}/#`;
const WORKER_SERVICES = ["k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"];

let nats: NatsServer;
beforeAll(async () => {
	nats = await startNatsServer({ user: NATS_USER, pass: NATS_PASS });
});
afterAll(() => nats?.stop());

describe.each(envBackends)("a sealed mesh (MESH_SECRET) on a nats-server with credentials, stored in %s", (_backend, useBackend) => {
	const secret = randomBytes(24).toString("base64url");
	const meshNamespace = uniqueName("berth-mesh");
	const gatewayLogs: string[] = [];
	const workerLogs: string[] = [];
	let gateway: Mesh;
	let worker: Mesh;
	let tap: Awaited<ReturnType<typeof wiretap>>;
	const stops: (() => Promise<unknown>)[] = [];
	const sealed = (logs: string[]): Partial<BrokerOptions> => ({ namespace: meshNamespace, transporter: transporterFor(nats.url({ user: NATS_USER, pass: NATS_PASS })), middlewares: [meshMiddleware(secret), logCapture(logs)] });
	/** Packets a node refused: each is logged at debug (the warning is one line a minute at most). */
	const refusals = (logs: string[], type = "") => logs.filter(l => l.startsWith("debug") && l.includes(`Refused a mesh packet (${type}`)).length;

	beforeAll(async () => {
		useBackend();
		tap = await wiretap(nats.url({ user: NATS_USER, pass: NATS_PASS }));
		// The gateway and the workers on two brokers: every REST call crosses NATS. Started together, as
		// each waits for services the other runs.
		[gateway, worker] = await Promise.all([
			startMesh(["api", "keys"], { ...sealed(gatewayLogs), nodeID: uniqueName("mesh-gateway") }),
			startMesh(WORKER_SERVICES, { ...sealed(workerLogs), nodeID: uniqueName("mesh-worker") }),
		]);
		await gateway.broker.waitForServices(WORKER_SERVICES.map(s => `v1.${s}`), 30_000);
		// The gateway builds routes for remote services a moment after it has seen them: wait until they answer.
		await eventually(async () => expect((await request(`${gateway.url}/api/v1/k8s/namespaces`, { key: gateway.adminKey })).status).toBe(200), { timeoutMs: 30_000 });
	});
	afterAll(async () => {
		for (const stop of stops.reverse()) await stop().catch(() => undefined);
		await tap?.conn.close();
		await gateway?.stop();
		await worker?.stop();
	});

	it("carries no param in the clear: a secret env's value, created, updated and revealed, is in no packet on NATS", async () => {
		const owner = uniqueName("mesh-owner");
		const key = await keyFor(gateway, owner);
		const nsName = uniqueName("mesh-it");
		const ns = await request(`${gateway.url}/api/v1/k8s/namespaces`, { method: "POST", key, body: { name: nsName } });
		expect(ns.status).toBe(201);
		stops.push(() => request(`${gateway.url}/api/v1/k8s/namespaces/${ns.body.id}`, { method: "DELETE", key }));
		stops.push(() => kube().delete({ apiVersion: "v1", kind: "Namespace", name: nsName }));
		const dep = await request(`${gateway.url}/api/v1/k8s/deployments`, { method: "POST", key, body: { name: "app", namespace: nsName, image: "php-8-1-0-fpm" } });
		expect(dep.status).toBe(201);

		const canaries = [`mesh-canary-${randomBytes(8).toString("hex")}`, `mesh-canary-${randomBytes(8).toString("hex")}`];
		const env = await request(`${gateway.url}/api/v1/k8s/envs`, { method: "POST", key, body: { namespace: nsName, deployment: "app", key: "DB_PASSWORD", value: canaries[0], type: "secret" } });
		expect(env.status).toBe(201);
		expect((await request(`${gateway.url}/api/v1/k8s/envs/${env.body.id}`, { method: "PATCH", key, body: { value: canaries[1] } })).status).toBe(200);
		// The worker holds the value; the gateway answers it: it crossed NATS.
		const revealed = await request(`${gateway.url}/api/v1/k8s/envs/pack?namespace=${nsName}&deployment=app&reveal=true`, { key });
		expect(revealed.body).toMatchObject({ DB_PASSWORD: canaries[1] });

		await tap.conn.flush();
		const ours = tap.messages.filter(m => m.subject.startsWith(`MOL-${meshNamespace}.`));
		// The requests and answers of those calls were on the wire, and the subscriber saw them.
		expect(ours.filter(m => m.subject.startsWith(`MOL-${meshNamespace}.REQ`)).length).toBeGreaterThan(3);
		expect(ours.filter(m => m.subject.startsWith(`MOL-${meshNamespace}.RES`)).length).toBeGreaterThan(3);
		const wire = Buffer.concat(ours.map(m => m.data));
		for (const canary of canaries) {
			expect(wire.includes(Buffer.from(canary))).toBe(false);
			expect(wire.includes(Buffer.from(Buffer.from(canary).toString("base64").slice(0, 16)))).toBe(false);
		}
		for (const needle of ["DB_PASSWORD", "v1.k8s.envs", '"params"', '"meta"', owner]) expect(wire.includes(Buffer.from(needle))).toBe(false);
		// No packet of the mesh is JSON: every one is sealed.
		expect(ours.filter(m => m.data[0] === "{".charCodeAt(0))).toEqual([]);
	});

	it("shows a broker without the secret no service, and answers none of its calls", async () => {
		const bareLogs: string[] = [];
		const bare = new ServiceBroker({ namespace: meshNamespace, nodeID: uniqueName("mesh-bare"), transporter: transporterFor(nats.url({ user: NATS_USER, pass: NATS_PASS })), logger: false, middlewares: [logCapture(bareLogs)] });
		stops.push(() => bare.stop());
		const before = refusals(gatewayLogs) + refusals(workerLogs);
		await bare.start();
		// Both sides met: the mesh refused the bare broker's packets, and the bare broker could not read the mesh's.
		await eventually(async () => {
			expect(refusals(gatewayLogs) + refusals(workerLogs)).toBeGreaterThan(before);
			expect(bareLogs.some(l => /Invalid incoming packet/.test(l))).toBe(true);
		});
		expect(bare.registry.getServiceList({ skipInternal: true, onlyAvailable: false }).map(s => s.name)).toEqual([]);
		expect(bare.registry.getNodeList({ onlyAvailable: false, withServices: false }).map(n => n.id)).toEqual([bare.nodeID]);
		await expect(bare.call("v1.keys.create", { name: "intruder", userID: "intruder", roles: ["admin"] }, { meta: { userID: "admin", roles: ["admin"] } })).rejects.toMatchObject({ name: "ServiceNotFoundError" });
		// The refusals are logged without the payload.
		const warned = [...gatewayLogs, ...workerLogs].filter(l => /^warn mesh Refused/.test(l));
		expect(warned.length).toBeGreaterThan(0);
		expect(warned.join("\n")).not.toMatch(/"sender"|\{/);
	});

	it("refuses a request forged on NATS straight to the node that runs v1.keys: no key is made, no answer comes back", async () => {
		const intruder = uniqueName("mesh-intruder");
		const answers = tap.conn.subscribe(`MOL-${meshNamespace}.RES.${intruder}`);
		const answered: Buffer[] = [];
		void (async () => {
			for await (const m of answers) answered.push(Buffer.from(m.data));
		})();
		const before = refusals(gatewayLogs, "REQ");
		const keyName = uniqueName("forged");
		tap.conn.publish(`MOL-${meshNamespace}.REQ.${gateway.broker.nodeID}`, forgedKeyRequest(intruder, keyName));
		await tap.conn.flush();
		await eventually(async () => expect(refusals(gatewayLogs, "REQ")).toBeGreaterThan(before));
		const keys = await request(`${gateway.url}/api/v1/keys`, { key: gateway.adminKey });
		expect(keys.status).toBe(200);
		expect((keys.body as { name: string }[]).map(k => k.name)).not.toContain(keyName);
		await tap.conn.flush();
		expect(answered).toEqual([]);
		answers.unsubscribe();
	});

	it("runs the seed's ctx.call flow from a second broker that has the secret", async () => {
		const client = new ServiceBroker({ ...sealed([]), nodeID: uniqueName("mesh-client"), logger: false, requestTimeout: 60_000 });
		stops.push(() => client.stop());
		await client.start();
		await client.waitForServices(["v1.k8s.namespaces", "v1.k8s.images", "v1.k8s.volumes", "v1.k8s.deployments"], 30_000);
		const user = uniqueName("mesh-seed");
		const nsName = uniqueName("mesh-seed");
		await client.call("v1.k8s.namespaces.create", { name: nsName }, { meta: { userID: user } });
		stops.push(() => kube().delete({ apiVersion: "v1", kind: "Namespace", name: nsName }));

		// The seed, call for call (test/integration/seed-example.test.ts has it in full).
		const namespace = await client.call<{ id: string; name: string; owner: string }, object>("v1.k8s.namespaces.resolveName", { name: nsName });
		const options = { meta: { userID: namespace.owner } };
		const name = "my-app";
		const sharedVolume = await client.call<{ id: string; name: string }, object>("v1.k8s.volumes.create", { namespace: namespace.id, name: `${name}-nginx-php-data`, type: "persistentVolumeClaim", mountPath: "/var/www/html" }, options);
		const phpImage = await client.call<{ id: string }, object>("v1.k8s.images.resolveName", { name: "php-8-1-0-fpm" });
		const php = await client.call<{ id: string; name: string; owner: string }, object>(
			"v1.k8s.deployments.create",
			{ name: `${name}-php`, namespace: namespace.id, image: phpImage.id, volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: sharedVolume.name } }] },
			options,
		);
		expect(php).toMatchObject({ name: "my-app-php", owner: user });
		stops.push(() => client.call("v1.k8s.namespaces.remove", { id: namespace.id }, options));
		stops.push(() => client.call("v1.k8s.deployments.remove", { id: php.id }, options));

		await eventually(async () => expect(await client.call("v1.k8s.deployments.status", { id: php.id }, options)).toMatchObject({ phase: "Running", readyReplicas: 1 }));
		const live = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "my-app-php", namespace: nsName });
		expect(live?.spec?.template.spec?.volumes).toContainEqual(expect.objectContaining({ persistentVolumeClaim: { claimName: sharedVolume.name } }));
		// A tenant is still a tenant over the sealed mesh.
		await expect(client.call("v1.k8s.deployments.get", { id: php.id }, { meta: { userID: uniqueName("mesh-other") } })).rejects.toMatchObject({ code: 404 });
	});
});

describe("the forged request, on a mesh without MESH_SECRET (what the seal stops)", () => {
	it("mints an admin key for whoever reaches NATS", async () => {
		const open = await startMesh(["keys"], { namespace: uniqueName("berth-open"), nodeID: uniqueName("open-keys"), transporter: transporterFor(nats.url({ user: NATS_USER, pass: NATS_PASS })), middlewares: [] });
		const tap = await wiretap(nats.url({ user: NATS_USER, pass: NATS_PASS }));
		try {
			const intruder = uniqueName("open-intruder");
			const answer = new Promise<Buffer>(resolve => tap.conn.subscribe(`MOL-${open.broker.namespace}.RES.${intruder}`, { max: 1, callback: (_e, m) => resolve(Buffer.from(m.data)) }));
			await tap.conn.flush();
			tap.conn.publish(`MOL-${open.broker.namespace}.REQ.${open.broker.nodeID}`, forgedKeyRequest(intruder, uniqueName("forged")));
			const res = JSON.parse(String(await answer));
			expect(res).toMatchObject({ success: true, data: { roles: ["admin"], key: expect.stringMatching(/^berth_/) } });
		} finally {
			await tap.conn.close();
			await open.stop();
		}
	});
});

describe("NATS credentials in TRANSPORTER", () => {
	it("connects with a token (nats://token@host), which Moleculer's own URL handling sends as a user", async () => {
		const token = `tok-${randomBytes(8).toString("hex")}`;
		const server = await startNatsServer({ token });
		const broker = new ServiceBroker({ namespace: uniqueName("berth-token"), transporter: transporterFor(server.url({ token })), logger: false });
		try {
			await checkNatsCredentials(server.url({ token }));
			await broker.start();
			expect(broker.transit?.connected).toBe(true);
			await expect(checkNatsCredentials(server.url({ token: "not-the-token" }))).rejects.toThrow(/refused the credentials in TRANSPORTER \(a token\)/);
		} finally {
			await broker.stop();
			await server.stop();
		}
	});

	it("refuses a wrong password with an error that says so, and never shows the password", async () => {
		const wrong = nats.url({ user: NATS_USER, pass: "not-the-password" });
		const err = (await checkNatsCredentials(wrong).catch((e: Error) => e)) as Error;
		expect(err.message).toMatch(/NATS at 127\.0\.0\.1:\d+ refused the credentials in TRANSPORTER \(user "berth" and its password\): Authorization Violation/);
		expect(err.message).not.toContain("not-the-password");
		await expect(checkNatsCredentials(nats.url({ user: NATS_USER, pass: NATS_PASS }))).resolves.toBeUndefined();
	});

	it("stops a Berth node at start on a wrong password (exit 1, the error in its output), and warns of an open mesh", async () => {
		const refused = startNode(uniqueName("mesh-wrongpass"), { TRANSPORTER: nats.url({ user: NATS_USER, pass: "not-the-password" }), SERVICES: "health" });
		const code = await new Promise<number | null>(resolve => refused.proc.once("exit", c => resolve(c)));
		expect(code).toBe(1);
		expect(refused.output()).toMatch(/refused the credentials in TRANSPORTER \(user "berth" and its password\)/);
		expect(refused.output()).not.toContain("not-the-password");

		const open = startNode(uniqueName("mesh-open"), { TRANSPORTER: nats.url({ user: NATS_USER, pass: NATS_PASS }), SERVICES: "health", BROKER_NAMESPACE: uniqueName("berth-open"), MESH_SECRET: "" });
		try {
			await eventually(async () => expect(open.output()).toMatch(/TRANSPORTER is set without MESH_SECRET/));
			expect(open.output().match(/without MESH_SECRET/g)).toHaveLength(1);
		} finally {
			await open.kill();
		}
	});
});
