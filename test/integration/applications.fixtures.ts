import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mongoose from "mongoose";
import type { ServiceBroker } from "moleculer";
import { Kinds, type V1Pod } from "../../lib/k8s";
import { kube, readClusterEnv, uniqueName } from "../helpers/cluster";
import { request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";

/** Shared by the applications suites: backends, a catalog with a key-only template, env handling. */

export const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.applications"];
export const HEX32 = /^[0-9a-f]{32}$/;
/** An address, as binder's locations had; a documentation range, so nothing real answers. */
export const PUBLIC_HOST = "203.0.113.7";

const mongoUri = process.env.MONGO_URI || readClusterEnv().MONGO_URI;

/** A database of its own per suite, so parallel runs and other suites never see each other's rows. */
export function isolatedMongoUri(): string {
	if (!mongoUri) throw new Error("MONGO_URI is not set and .cluster/env names none: FerretDB must be up (scripts/cluster/up.sh)");
	const url = new URL(mongoUri);
	url.pathname = `/${uniqueName("berth_it_apps").replace(/-/g, "_")}`;
	return url.toString();
}

export async function withMongo<T>(uri: string, fn: (conn: mongoose.Connection) => Promise<T>): Promise<T> {
	const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
	try {
		return await fn(conn);
	} finally {
		await conn.close();
	}
}

export async function dropDatabase(uri: string): Promise<void> {
	await withMongo(uri, conn => conn.dropDatabase().then(() => undefined));
}

/** Each suite runs once per store: NeDB (in memory or in a directory) and FerretDB (MONGO_URI). */
export const backends: [string, () => string | undefined][] = [
	["NeDB", () => undefined],
	["FerretDB", () => isolatedMongoUri()],
];

/**
 * A copy of the shipped catalog where python is launchable too, without `public`: the template that
 * needs a key. jupyter-notebook ships launchable and public.
 */
export function testCatalog(): string {
	const shipped = path.resolve(__dirname, "..", "..", "images");
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-it-apps-images-"));
	for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
	const python = JSON.parse(fs.readFileSync(path.join(dir, "python.json"), "utf8"));
	fs.writeFileSync(path.join(dir, "python.json"), JSON.stringify({ ...python, launchable: true }, null, 2));
	return dir;
}

/**
 * What an applications suite's meshes read: the test catalog, the suite's own namespace and store,
 * and the limits it picks. `undo()` (after the meshes stop) deletes the namespace, the database and
 * the catalog copy, and puts the variables back.
 */
export function appsEnvironment(opts: { namespace: string; mongoUri?: string; vars: Record<string, string | undefined> }): { undo(): Promise<void> } {
	const catalog = testCatalog();
	const restoreEnv = setEnv({ MONGO_URI: opts.mongoUri, IMAGES_DIR: catalog, APPS_NAMESPACE: opts.namespace, PUBLIC_HOST, ...opts.vars });
	return {
		async undo() {
			await kube().delete({ apiVersion: "v1", kind: "Namespace", name: opts.namespace });
			if (opts.mongoUri) await dropDatabase(opts.mongoUri);
			fs.rmSync(catalog, { recursive: true, force: true });
			restoreEnv();
		},
	};
}

/** No age limit and a quota too large to matter: the limits of a suite that does not test them. */
export const ROOMY_LIMITS = { APPS_MAX_AGE_SECONDS: "0", APPS_QUOTA_CPU: "8", APPS_QUOTA_MEMORY: "16Gi" } as const;

/** An applications suite's nodes over its environment (appsEnvironment). */
export interface AppsSuite {
	/** Starts a node (a mesh of SERVICES) whose events are recorded into the suite's list. */
	node(): Promise<Mesh>;
	/** Stops every node still running, then undoes the environment. */
	stop(): Promise<void>;
}

/** Sets up the environment at once; nodes come with `node()`, and a node stopped early is not stopped again. */
export function appsSuite(opts: Parameters<typeof appsEnvironment>[0] & { events: SeenEvent[] }): AppsSuite {
	const environment = appsEnvironment(opts);
	const running = new Set<Mesh>();
	return {
		async node() {
			const mesh = await startMesh(SERVICES);
			const stop = mesh.stop;
			mesh.stop = async () => {
				running.delete(mesh);
				await stop();
			};
			running.add(mesh);
			listen(mesh.broker, opts.events);
			return mesh;
		},
		async stop() {
			for (const mesh of [...running]) await mesh.stop();
			await environment.undo();
		},
	};
}

/** Sets variables for the next mesh; the returned function puts the old values back. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
	const before = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]));
	const put = (values: Record<string, string | undefined>) => {
		for (const [k, v] of Object.entries(values)) {
			if (v === undefined) delete process.env[k];
			else process.env[k] = v;
		}
	};
	put(vars);
	return () => put(before);
}

export interface SeenEvent {
	event: string;
	id: string;
	reason?: string;
	status: string;
}

/** Records the applications' events a mesh emits, as any other service of the mesh would receive them. */
export function listen(broker: ServiceBroker, into: SeenEvent[]): void {
	const record = (event: string) => (ctx: { params: { id: string; reason?: string; status: string } }) => {
		into.push({ event, id: ctx.params.id, reason: ctx.params.reason, status: ctx.params.status });
	};
	broker.createService({
		name: uniqueName("it-apps-listener"),
		events: Object.fromEntries(["launched", "running", "culled", "deleted", "failed"].map(e => [`k8s.applications.${e}`, record(e)])),
	});
}

export async function keyFor(mesh: Mesh, userID: string): Promise<string> {
	const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } });
	if (res.status !== 201 && res.status !== 200) throw new Error(`key for ${userID}: ${res.status} ${res.text}`);
	return res.body.key as string;
}

/** The binder routes at the root, and Berth's under /api/v1. */
export function clients(mesh: () => Mesh) {
	return {
		binder: (p: string, init: Parameters<typeof request>[1] = {}): Promise<HttpResult<any>> => request(`${mesh().url}/applications${p}`, init),
		native: (p: string, init: Parameters<typeof request>[1] = {}): Promise<HttpResult<any>> => request(`${mesh().url}/api/v1/k8s/applications${p}`, init),
	};
}

/** An instance as an admin lists it: reading the list is not activity, so it does not keep anything alive. */
export async function peek(mesh: Mesh, id: string): Promise<Record<string, any> | undefined> {
	const res = await request(`${mesh.url}/api/v1/k8s/applications`, { key: mesh.adminKey });
	if (res.status !== 200) throw new Error(`list: ${res.status} ${res.text}`);
	return (res.body as Record<string, any>[]).find(a => a.id === id);
}

/** The instance's objects in the cluster, by kind. */
export async function objectsOf(namespace: string, id: string): Promise<Record<string, number>> {
	const selector = `berth.dev/id=${id}`;
	const out: Record<string, number> = {};
	for (const kind of [Kinds.Deployment, Kinds.Service, Kinds.Ingress]) out[kind.kind] = (await kube().list(kind, { namespace, labelSelector: selector })).length;
	return out;
}

export async function readyPods(namespace: string, id: string): Promise<number> {
	const pods = await kube().list<V1Pod>(Kinds.Pod, { namespace, labelSelector: `berth.dev/id=${id}` });
	return pods.filter(p => !p.metadata?.deletionTimestamp && p.status?.conditions?.some(c => c.type === "Ready" && c.status === "True")).length;
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
