import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ServiceBroker, type BrokerOptions, type Context } from "moleculer";
import mongoose from "mongoose";
import { KubeClient, type V1Lease } from "../../lib/k8s";
import { repoRoot } from "../helpers/cluster";
import { request } from "../helpers/mesh";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";

/**
 * The fault suite's own control plane, nats-server and FerretDB: a second instance of
 * scripts/cluster (its own directory, kwokctl cluster name and ports), so freezing its apiserver or
 * killing its nats-server never touches the shared instance (.cluster/) other test runs use.
 */
export const faultsCluster = {
	dir: path.resolve(repoRoot, process.env.FAULTS_CLUSTER_DIR || ".cluster-faults"),
	name: process.env.FAULTS_CLUSTER_NAME || "berth-faults",
	apiserverPort: Number(process.env.FAULTS_APISERVER_PORT || 6543),
	natsPort: Number(process.env.FAULTS_NATS_PORT || 4322),
	ferretPort: Number(process.env.FAULTS_FERRET_PORT || 27117),
};

/** The environment the cluster scripts need to act on the fault instance, never on the shared one. */
export function instanceEnv(): NodeJS.ProcessEnv {
	return {
		...process.env,
		BERTH_CLUSTER_DIR: faultsCluster.dir,
		BERTH_CLUSTER_NAME: faultsCluster.name,
		KUBE_APISERVER_PORT: String(faultsCluster.apiserverPort),
		NATS_PORT: String(faultsCluster.natsPort),
		FERRET_PORT: String(faultsCluster.ferretPort),
		// The scenario freezes the apiserver for 15 s: kube-controller-manager and kube-scheduler must not exit over it.
		KUBE_LEADER_ELECT: "false",
	};
}

/** Runs scripts/cluster/<script> on the fault instance; throws with its output when it fails. */
export function clusterScript(script: string, ...args: string[]): string {
	const res = spawnSync("bash", [path.join(repoRoot, "scripts", "cluster", script), ...args], { cwd: repoRoot, env: instanceEnv(), encoding: "utf8", timeout: 300_000 });
	const out = `${res.stdout ?? ""}${res.stderr ?? ""}`;
	if (res.status !== 0) throw new Error(`scripts/cluster/${script} ${args.join(" ")} failed (exit ${res.status ?? res.signal}):\n${out}`);
	return out;
}

/** The same, without blocking the event loop (clients keep calling while a part restarts). */
export function clusterScriptAsync(script: string, ...args: string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		const proc = spawn("bash", [path.join(repoRoot, "scripts", "cluster", script), ...args], { cwd: repoRoot, env: instanceEnv(), stdio: ["ignore", "pipe", "pipe"] });
		let out = "";
		proc.stdout.on("data", d => (out += String(d)));
		proc.stderr.on("data", d => (out += String(d)));
		proc.on("error", reject);
		proc.on("exit", code => (code === 0 ? resolve(out) : reject(new Error(`scripts/cluster/${script} ${args.join(" ")} failed (exit ${code}):\n${out}`))));
	});
}

export interface FaultsEnv {
	KUBECONFIG: string;
	NATS_URL: string;
	MONGO_URI: string;
}

/** KUBECONFIG, NATS_URL and MONGO_URI of the fault instance (written by up.sh in the global setup). */
export function faultsEnv(): FaultsEnv {
	const file = path.join(faultsCluster.dir, "env");
	if (!fs.existsSync(file)) throw new Error(`${file} is missing: the fault suite's global setup did not bring up its instance (run \`npm run test:faults\`)`);
	const vars: Record<string, string> = {};
	for (const line of fs.readFileSync(file, "utf8").split("\n")) {
		const m = /^export\s+([A-Z_]+)=(.*)$/.exec(line.trim());
		if (m) vars[m[1]] = m[2];
	}
	for (const k of ["KUBECONFIG", "NATS_URL", "MONGO_URI"]) if (!vars[k]) throw new Error(`${file} names no ${k}`);
	return vars as unknown as FaultsEnv;
}

let client: KubeClient | undefined;

/** A client of the fault instance's apiserver, from its own kubeconfig (never the shared one). */
export function kube(): KubeClient {
	client ??= KubeClient.fromEnvironment({ kind: "file", path: faultsEnv().KUBECONFIG });
	return client;
}

/** A MongoDB URI on the fault instance's FerretDB with a database of its own. */
export function mongoUri(database: string): string {
	return faultsEnv().MONGO_URI.replace(/\/[^/]*$/, `/${database}`);
}

/** Short random suffix for names of one run. */
export function runId(): string {
	return randomBytes(3).toString("hex");
}

/** An admin key in Berth's own format, for BERTH_ADMIN_KEY. */
export function adminKey(run: string): string {
	return `berth_${randomBytes(6).toString("hex")}_faults-admin-key-${run}-${randomBytes(8).toString("hex")}`;
}

/** The names of one run of a suite: its id, an admin key, and a database and a namespace `<prefix>-<run>`. */
export function faultRun(prefix: string): { run: string; key: string; uri: string; namespace: string } {
	const run = runId();
	return { run, key: adminKey(run), uri: mongoUri(`${prefix}-${run}`), namespace: `${prefix}-${run}` };
}

/** The pid in one of the instance's pid files, checked against the command line we expect there. */
function pidFrom(file: string, ...mustContain: string[]): number {
	if (!fs.existsSync(file)) throw new Error(`${file} is missing: is the fault instance up?`);
	const pid = Number(fs.readFileSync(file, "utf8").trim());
	let cmd = "";
	try {
		cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
	} catch {
		throw new Error(`pid ${pid} from ${file} is not running`);
	}
	for (const s of mustContain) if (!cmd.includes(s)) throw new Error(`pid ${pid} from ${file} is not what the fault instance started (${cmd.slice(0, 200)})`);
	return pid;
}

/** The fault instance's kube-apiserver (kwokctl's pid file), never the shared one on 6443. */
export function apiserverPid(): number {
	return pidFrom(apiserverPidFile(), "kube-apiserver", `--secure-port=${faultsCluster.apiserverPort}`);
}

export function natsPid(): number {
	return pidFrom(path.join(faultsCluster.dir, "pids", "nats.pid"), "nats-server", `-p ${faultsCluster.natsPort}`);
}

/** How kwokctl started the apiserver: enough to start it again the same way after killing it. */
export interface ProcessSpec {
	argv: string[];
	cwd: string;
	env: Record<string, string>;
}

const apiserverPidFile = () => path.join(faultsCluster.dir, "kwok", "clusters", faultsCluster.name, "pids", "kube-apiserver.pid");

/** SIGKILLs the fault instance's apiserver and answers how to start it again. */
export async function killApiserver(): Promise<ProcessSpec> {
	const pid = apiserverPid();
	const nul = (file: string) => fs.readFileSync(`/proc/${pid}/${file}`, "utf8").split("\0").filter(Boolean);
	const spec: ProcessSpec = {
		argv: nul("cmdline"),
		cwd: fs.readlinkSync(`/proc/${pid}/cwd`),
		env: Object.fromEntries(nul("environ").map(kv => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
	};
	process.kill(pid, "SIGKILL");
	await waitFor(() => processState(pid) === "gone" || processState(pid) === "Z", "the killed kube-apiserver to exit", 10_000, 20);
	return spec;
}

/**
 * Starts the apiserver again as kwokctl had: same binary, flags, directory and environment, its
 * own session, output appended to its log, and its pid where kwokctl looks (so the teardown's
 * `kwokctl delete cluster` stops it).
 */
export function respawnApiserver(spec: ProcessSpec): number {
	const log = fs.openSync(path.join(faultsCluster.dir, "kwok", "clusters", faultsCluster.name, "logs", "kube-apiserver.log"), "a");
	const proc = spawn(spec.argv[0], spec.argv.slice(1), { cwd: spec.cwd, env: spec.env, detached: true, stdio: ["ignore", log, log] });
	fs.closeSync(log);
	proc.unref();
	fs.writeFileSync(apiserverPidFile(), String(proc.pid));
	return proc.pid!;
}

/** Resumes a frozen apiserver (a run that died mid-scenario must not leave it stopped). */
export function thawApiserver(): void {
	try {
		process.kill(apiserverPid(), "SIGCONT");
	} catch {
		/* not running: nothing to thaw */
	}
}

export function processState(pid: number): string {
	try {
		return /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
	} catch {
		return "gone";
	}
}

export async function waitFor(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await pred())) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(intervalMs);
	}
}

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

/**
 * Waits until the node's gateway answers /health/ready and GET on each of `routes` with 200 (the
 * gateway makes a service's routes shortly after the service appears, wherever it runs). The node's
 * output is in the error.
 */
export async function waitReady(node: NodeProcess, url: string, key: string, routes = ["k8s/namespaces", "k8s/deployments"], timeoutMs = 90_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last = "";
	while (Date.now() < deadline) {
		if (node.proc.exitCode !== null) throw new Error(`node ${node.name} exited (${node.proc.exitCode}) before it was ready:\n${node.output()}`);
		try {
			let res = await request(`${url}/health/ready`);
			for (const r of routes) if (res.status === 200) res = await request(`${url}/api/v1/${r}`, { key });
			if (res.status === 200) return;
			last = `${res.status} ${res.text}`;
		} catch (err) {
			last = (err as Error).message;
		}
		await sleep(250);
	}
	throw new Error(`node ${node.name} not ready after ${timeoutMs} ms (last answer: ${last}):\n${node.output()}`);
}

/** The controller Lease of one run of nodes. */
export async function leaseHolder(name: string): Promise<string | undefined> {
	const lease = await kube().get<V1Lease>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name, namespace: "default" });
	return lease?.spec?.holderIdentity ?? undefined;
}

/** Which node holds the Lease: identities are `<host>-<pid>-<random>` (lib/leader.ts). */
export function holderIs(identity: string | undefined, node: NodeProcess): boolean {
	return Boolean(identity && node.proc.pid && identity.includes(`-${node.proc.pid}-`));
}

/** FerretDB read directly, over one connection: what the nodes stored, not what an action answers. */
export class Store {
	private constructor(private readonly conn: mongoose.Connection) {}

	static async open(uri: string): Promise<Store> {
		return new Store(await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise());
	}

	async docs(collection: string): Promise<Record<string, unknown>[]> {
		return (await this.conn.db!.collection(collection).find({}).toArray()) as Record<string, unknown>[];
	}

	close(): Promise<void> {
		return this.conn.close();
	}
}

/** One scenario's figures: printed, and collected in test-output/faults.json for the summary. */
export interface Figures {
	scenario: string;
	recoveryMs: number;
	lost: number;
	duplicated: number;
	detail?: Record<string, unknown>;
}

export const figuresFile = path.join(repoRoot, "test-output", "faults.json");

export function report(f: Figures): void {
	const line = `[faults] ${f.scenario}: recovered in ${(f.recoveryMs / 1000).toFixed(1)} s, lost ${f.lost}, duplicated ${f.duplicated}${f.detail ? ` ${JSON.stringify(f.detail)}` : ""}`;
	process.stdout.write(`\n${line}\n`);
	fs.mkdirSync(path.dirname(figuresFile), { recursive: true });
	const all: Figures[] = fs.existsSync(figuresFile) ? (JSON.parse(fs.readFileSync(figuresFile, "utf8")) as Figures[]) : [];
	fs.writeFileSync(figuresFile, JSON.stringify([...all.filter(x => x.scenario !== f.scenario), f], null, 2));
}

/** The environment every scenario node gets: the fault instance, a short lease, its own mesh namespace and lease. */
export function nodeEnv(run: string, extra: Record<string, string>): Record<string, string> {
	const env = faultsEnv();
	return {
		KUBECONFIG: env.KUBECONFIG,
		LEADER_LEASE_SECONDS: "3",
		LEADER_LEASE_NAME: `berth-faults-${run}`,
		BROKER_NAMESPACE: `berth-faults-${run}`,
		BASE_DOMAIN: "faults.berth.test",
		// Whatever the calling shell has set: each scenario names its transporter and store itself.
		TRANSPORTER: "",
		MONGO_URI: "",
		DATA_DIR: ":memory:",
		// FAULTS_NODE_LOG_LEVEL=info (or debug) to see what the nodes did, in a failure's output.
		...(process.env.FAULTS_NODE_LOG_LEVEL ? { LOG_LEVEL: process.env.FAULTS_NODE_LOG_LEVEL } : {}),
		...extra,
	};
}

export interface CreateOutcome {
	name: string;
	/** 201: created by this call; 409: an earlier attempt had already stored it. */
	status: number;
	attempts: number;
	/** Failed attempts: HTTP 5xx or a connection that broke. */
	failures: string[];
	doneAt: number;
}

/**
 * Creates a deployment as a careful client does: a 5xx or a broken connection is retried (against
 * whatever `url()` names then), and a 409 means an earlier attempt got through. Any other 4xx fails.
 */
export async function createDeployment(
	url: () => string,
	key: string,
	body: { name: string; namespace: string; image: string; replicas: number },
	opts: { maxAttempts?: number; retryGoneRoute?: boolean } = {},
): Promise<CreateOutcome> {
	const maxAttempts = opts.maxAttempts ?? 120;
	const failures: string[] = [];
	for (let attempt = 1; attempt <= maxAttempts; attempt++) {
		let res;
		try {
			res = await request(`${url()}/api/v1/k8s/deployments`, { method: "POST", key, body });
		} catch (err) {
			failures.push(`${(err as Error).message}${(err as { cause?: Error }).cause ? `: ${(err as { cause?: Error }).cause?.message}` : ""}`);
			await sleep(250);
			continue;
		}
		if (res.status === 201 || res.status === 409) return { name: body.name, status: res.status, attempts: attempt, failures, doneAt: Date.now() };
		// moleculer-web drops a service's routes while none of its nodes is reachable: the gateway's own
		// "Not found" (no alias matched), not the service's. Only a scenario that expects it retries it.
		const goneRoute = res.status === 404 && (res.body as { name?: string })?.name === "NotFoundError";
		if (res.status < 500 && !(goneRoute && opts.retryGoneRoute)) throw new Error(`create ${body.name}: ${res.status} ${res.text}`);
		failures.push(`${res.status} ${(res.body as { type?: string })?.type ?? res.text.slice(0, 80)}`);
		await sleep(250);
	}
	throw new Error(`create ${body.name} still failing after ${maxAttempts} attempts: ${failures.slice(-3).join("; ")}`);
}

/** Whether a component of the fault instance's control plane still runs (kwokctl's pid files). */
export function componentAlive(component: string): boolean {
	try {
		const pid = Number(fs.readFileSync(path.join(faultsCluster.dir, "kwok", "clusters", faultsCluster.name, "pids", `${component}.pid`), "utf8").trim());
		return !["gone", "Z"].includes(processState(pid));
	} catch {
		return false;
	}
}

/**
 * A call as a careful client makes it: a 5xx or a broken connection is tried again after 250 ms
 * until `maxMs` has passed; any other answer is returned, with how many attempts failed before it.
 */
export async function untilAnswered<T extends { status: number }>(call: () => Promise<T>, maxMs = 90_000): Promise<T & { failedAttempts: number }> {
	const deadline = Date.now() + maxMs;
	let failed = 0;
	for (;;) {
		try {
			const res = await call();
			if (res.status < 500 || Date.now() > deadline) return { ...res, failedAttempts: failed };
		} catch (err) {
			if (Date.now() > deadline) throw err;
		}
		failed++;
		await sleep(250);
	}
}

/** What a node says of itself (GET /health/metrics): whether it leads, its terms, its apiserver writes (after `since`). */
export interface NodeMetricsView {
	leading: boolean | null;
	leadership: { from: number; to?: number }[];
	apiserver: { writes: number; writesSince?: { at: number; verb: string; kind: string }[] };
}

export async function nodeMetrics(url: string, since?: number): Promise<NodeMetricsView> {
	const res = await request(`${url}/health/metrics${since === undefined ? "" : `?since=${since}`}`);
	if (res.status !== 200) throw new Error(`GET ${url}/health/metrics: ${res.status} ${res.text}`);
	return res.body as NodeMetricsView;
}

/**
 * Full nodes of one run over NATS and one store, started one after the other (so the first takes the
 * Lease and stores the admin key once); each gets its own port, and `perNode[i]` on top of `env`.
 */
export async function startNodes(run: string, key: string, env: Record<string, string>, perNode: Record<string, string>[]): Promise<{ node: NodeProcess; url: string }[]> {
	const out: { node: NodeProcess; url: string }[] = [];
	for (const [i, extra] of perNode.entries()) {
		const port = await freePort();
		const node = startNode(`${String.fromCharCode(97 + i)}-${run}`, nodeEnv(run, { TRANSPORTER: faultsEnv().NATS_URL, BERTH_ADMIN_KEY: key, ...env, ...extra, PORT: String(port) }));
		const url = `http://127.0.0.1:${port}`;
		out.push({ node, url });
		await waitReady(node, url, key);
	}
	return out;
}

/** Counts, on a run's mesh, how often each of `events` is emitted per payload id (a harness broker listening over NATS). */
export async function countEvents(run: string, events: string[]): Promise<{ counts: Map<string, Map<string, number>>; twice(): string[]; stop(): Promise<void> }> {
	const counts = new Map<string, Map<string, number>>(events.map(e => [e, new Map()]));
	const broker = new ServiceBroker({ namespace: `berth-faults-${run}`, nodeID: `auditor-${run}`, transporter: faultsEnv().NATS_URL as BrokerOptions["transporter"], logger: false });
	broker.createService({
		name: "faults-audit",
		events: Object.fromEntries(
			events.map(event => [
				event,
				(ctx: Context<{ id?: string }>) => {
					const byId = counts.get(event)!;
					const id = String(ctx.params?.id);
					byId.set(id, (byId.get(id) ?? 0) + 1);
				},
			]),
		),
	});
	await broker.start();
	return {
		counts,
		twice: () => [...counts].flatMap(([event, byId]) => [...byId].filter(([, n]) => n > 1).map(([id, n]) => `${event} ${id} ×${n}`)),
		stop: () => broker.stop(),
	};
}
