import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";
import { appsEnvironment, clients, HEX32, peek, PUBLIC_HOST, SERVICES } from "./applications.fixtures";

/** binder-client 1.0.3, unchanged: its library (generated from binder-protocol) and its `binder` CLI. */
type Callback = (err: Error | null, body?: any) => void;
type Endpoint = (opts: Record<string, unknown>, cb: Callback) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const binderClient = require("binder-client") as { deploy: { deploy: Endpoint; status: Endpoint; statusAll: Endpoint } };
const BINDER_BIN = path.resolve(__dirname, "..", "..", "node_modules", ".bin", "binder");

function call(endpoint: Endpoint, opts: Record<string, unknown>): Promise<any> {
	return new Promise((resolve, reject) => endpoint(opts, (err, body) => (err ? reject(err) : resolve(body))));
}

/** `binder <args>` as a shell runs it; its output is what the CLI prints. */
function binderCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
	// The CLI's subcommands start with `#!/usr/bin/env node`: the node running the tests.
	const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` };
	return new Promise((resolve, reject) =>
		execFile(BINDER_BIN, args, { env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr }))),
	);
}

/** The JSON the CLI prints after its message (`{results}` in binder-protocol). */
function printed(stdout: string): any {
	const start = stdout.search(/^\s*[[{]/m);
	if (start < 0) throw new Error(`no JSON in the CLI's output:\n${stdout}`);
	return JSON.parse(stdout.slice(start));
}

describe("binder-client 1.0.3 (library and CLI) against Berth's binder routes", () => {
	let mesh: Mesh;
	let environment: { undo(): Promise<void> };
	let server: { host: string; port: string };
	const nsName = uniqueName("it-binder");
	const { binder, native } = clients(() => mesh);

	beforeAll(async () => {
		environment = appsEnvironment({
			namespace: nsName,
			vars: { DATA_DIR: ":memory:", APPS_CULL_TIMEOUT_BOUNDS: "2-7200", APPS_MAX_PER_OWNER: "10", APPS_QUOTA_CPU: "8", APPS_QUOTA_MEMORY: "16Gi" },
		});
		// python, public here: binder's launch sends no key, and python's image is the one the cluster has.
		const file = path.join(process.env.IMAGES_DIR as string, "python.json");
		fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), public: true }));
		mesh = await startMesh(SERVICES);
		const url = new URL(mesh.url);
		server = { host: url.hostname, port: url.port };
	});

	afterAll(async () => {
		await mesh?.stop();
		await environment.undo();
	});

	/** The idle limit an instance got, as Berth's own view shows it. */
	async function idleSecondsOf(id: string): Promise<number> {
		const view = (await native(`/${id}`, { key: mesh.adminKey })).body;
		return (Date.parse(view.cullAt) - Date.parse(view.lastActivityAt)) / 1000;
	}

	it("library: deploy with a cull-timeout, status until a location, statusAll", async () => {
		const launched = await call(binderClient.deploy.deploy, { ...server, "api-key": undefined, "template-name": "python", "cull-timeout": 600 });
		expect(Object.keys(launched)).toEqual(["id"]);
		expect(launched.id).toMatch(HEX32);
		const id = launched.id as string;
		// cull-timeout is that instance's idle limit.
		expect(await idleSecondsOf(id)).toBe(600);

		const running = await eventually(
			async () => {
				const status = await call(binderClient.deploy.status, { ...server, "api-key": undefined, "template-name": "python", id });
				expect(status.location).not.toBeNull();
				return status;
			},
			{ timeoutMs: 120_000, intervalMs: 500 },
		);
		expect(running).toEqual({ id, "template-name": "python", location: `${PUBLIC_HOST}/user/${id}`, status: "running" });

		// statusAll needs a key (binder-protocol: authorized); launches without one are listed to an admin.
		const all = await call(binderClient.deploy.statusAll, { ...server, "api-key": mesh.adminKey, "template-name": "python" });
		expect(all).toContainEqual(running);
	});

	it("CLI: binder deploy deploy, status until a location, status-all", async () => {
		const opts = ["--host", server.host, "--port", server.port];
		const deployed = await binderCli(["deploy", "deploy", "python", "900", ...opts]);
		expect(deployed.stdout).toContain("Deploying python onto a Binder backend");
		const { id } = printed(deployed.stdout);
		expect(id).toMatch(HEX32);
		// The CLI sends cull-timeout as it was typed, a string of digits.
		expect(await idleSecondsOf(id)).toBe(900);

		const running = await eventually(
			async () => {
				const status = printed((await binderCli(["deploy", "status", "python", id, ...opts])).stdout);
				expect(status.status).toBe("running");
				return status;
			},
			{ timeoutMs: 120_000, intervalMs: 500 },
		);
		expect(running).toEqual({ id, "template-name": "python", location: `${PUBLIC_HOST}/user/${id}`, status: "running" });

		const all = printed((await binderCli(["deploy", "status-all", "python", ...opts, "--api-key", mesh.adminKey])).stdout);
		expect(all).toContainEqual(running);
	});

	it("brings a cull-timeout within APPS_CULL_TIMEOUT_BOUNDS; without one the operator's idle limit holds", async () => {
		const launch = async (body: Record<string, unknown>) => {
			const res = await binder("/", { method: "POST", body: { "template-name": "python", ...body } });
			expect(res.status).toBe(200);
			return res.body.id as string;
		};
		expect(await idleSecondsOf(await launch({ "cull-timeout": 999_999 }))).toBe(7200);
		const short = await launch({ "cull-timeout": 1 });
		expect(await idleSecondsOf(short)).toBe(2);
		expect(await idleSecondsOf(await launch({ "cull-timeout": null }))).toBe(3600);
		expect(await idleSecondsOf(await launch({}))).toBe(3600);
		// The seed's README form (the template in the path) still launches.
		expect((await binder("/python", { method: "POST" })).status).toBe(200);
		// The short one is culled after its own idle limit, not the operator's hour (an admin's list is no activity).
		await eventually(async () => expect(await peek(mesh, short)).toMatchObject({ status: "deleted", reason: "idle", message: "No activity for 2 s" }), { timeoutMs: 30_000, intervalMs: 500 });
	});

	it("answers errors as binder-protocol reads them: {type, error}, with its type names", async () => {
		const unknownId = "0".repeat(32);
		const noRecord = await binder(`/python/${unknownId}`);
		expect(noRecord.status).toBe(404);
		expect(noRecord.body).toMatchObject({ type: "noRecord", error: "Application not found" });
		// The library hands over the server's message, as it does for an error type the endpoint declares.
		await expect(call(binderClient.deploy.status, { ...server, "api-key": undefined, "template-name": "python", id: unknownId })).rejects.toThrow(noRecord.body.error);
		const cli = await binderCli(["deploy", "status", "python", unknownId, "--host", server.host, "--port", server.port]);
		// (It prints a server's error on stdout.)
		expect(cli.stdout).toContain(`Error: ${noRecord.body.error}`);
		expect(cli.stdout).toContain("Possible fix: make sure that the template/ID are spelled correctly");

		const unknownTemplate = await binder("/", { method: "POST", body: { "template-name": "no-such-template" } });
		expect(unknownTemplate.status).toBe(404);
		expect(unknownTemplate.body).toMatchObject({ type: "registryError", error: "Template not found" });
		await expect(call(binderClient.deploy.deploy, { ...server, "api-key": undefined, "template-name": "no-such-template", "cull-timeout": undefined })).rejects.toThrow(unknownTemplate.body.error);

		const malformed = await binder("/", { method: "POST", body: { "cull-timeout": "soon" } });
		expect(malformed.status).toBe(422);
		expect(malformed.body).toMatchObject({ type: "malformedRequest", error: expect.any(String) });

		// statusAll without a key stays refused; Berth's other routes keep Berth's error bodies.
		const refused = await binder("/python");
		expect(refused.status).toBe(401);
		expect(refused.body).toMatchObject({ type: "UNAUTHORIZED", error: refused.body.message });
		const nativeMissing = await native(`/${unknownId}`);
		expect(nativeMissing.body.type).toBe("NOT_FOUND");
		expect(nativeMissing.body.error).toBeUndefined();
	});
});
