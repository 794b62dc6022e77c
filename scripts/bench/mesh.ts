import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BenchCluster } from "./cluster";
import { freePort, log, memoryOf, repoRoot, sleep, waitFor, type BenchConfig } from "./util";

export interface ApiResult<T> {
	status: number;
	body: T;
	text: string;
}

/** Variables of the caller's shell that would point the mesh somewhere else (a sourced .cluster/env, say). */
const FOREIGN_ENV = ["TRANSPORTER", "SERVICES", "MONGO_URI", "NATS_URL", "KUBECONFIG", "DATA_DIR", "PORT", "NODE_ID", "NODE_OPTIONS", "LEADER_LEASE_NAME"];

/** The node flags of package.json's `start` script ("node --max-semi-space-size=4 dist/…" → the flag). */
export function startFlags(): string[] {
	const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: { start: string } };
	const words = pkg.scripts.start.split(/\s+/);
	return words.slice(words.indexOf("node") + 1).filter(w => w.startsWith("-"));
}

/** The single-process mesh (dist/scripts/start.js, every service, no transporter) as its own OS process. */
export class Mesh {
	private output = "";
	/** Seconds from spawning the process until it answered /health/ready (every service started, the inventory listed). */
	readySeconds = 0;
	/** Seconds from spawning the process until the inventory reported every informer listed (set by inventorySynced). */
	syncedSeconds = 0;
	private spawnedAt = 0;

	private constructor(
		readonly label: string,
		readonly proc: ChildProcess,
		readonly url: string,
		readonly key: string,
		private readonly logFile: string,
	) {
		const sink = fs.createWriteStream(logFile);
		const keep = (d: Buffer) => {
			sink.write(d);
			this.output = (this.output + String(d)).slice(-8_000);
		};
		proc.stdout?.on("data", keep);
		proc.stderr?.on("data", keep);
		proc.once("exit", () => sink.end());
	}

	get pid(): number {
		return this.proc.pid as number;
	}

	get exited(): boolean {
		return this.proc.exitCode !== null || this.proc.signalCode !== null;
	}

	static async start(label: string, opts: { cluster: BenchCluster; config: BenchConfig; dataDir: string; outDir: string; adminKey: string; leaseName: string }): Promise<Mesh> {
		const script = path.join(repoRoot, "dist", "scripts", "start.js");
		if (!fs.existsSync(script)) throw new Error(`${script} is missing: npm run build`);
		const port = await freePort();
		const env: NodeJS.ProcessEnv = { ...process.env };
		for (const k of FOREIGN_ENV) delete env[k];
		Object.assign(env, {
			KUBECONFIG: opts.cluster.kubeconfig,
			BERTH_AUTO_CLUSTER: "false",
			PORT: String(port),
			HOST: "127.0.0.1",
			DATA_DIR: opts.dataDir,
			BERTH_ADMIN_KEY: opts.adminKey,
			// The limiter is per key: the benchmarks are one key sending thousands of requests a second.
			RATE_LIMIT: "1000000000",
			LOG_LEVEL: process.env.BENCH_MESH_LOG_LEVEL || "warn",
			NODE_ID: `bench-${label}`,
			// Its own controller Lease: on the shared cluster another mesh may hold the default one.
			LEADER_LEASE_NAME: opts.leaseName,
			...(opts.cluster.mongoUri ? { MONGO_URI: opts.cluster.mongoUri } : {}),
		});
		// The node flags `npm start` gives, then any extra ones for experiments (BENCH_MESH_FLAGS).
		const flags: string[] = [...startFlags(), ...(process.env.BENCH_MESH_FLAGS ?? "").split(/\s+/).filter(Boolean)];
		if (opts.config.profile) {
			const dir = path.join(opts.outDir, "profiles");
			fs.mkdirSync(dir, { recursive: true });
			flags.push(`--${opts.config.profile}-prof`, `--${opts.config.profile}-prof-dir=${dir}`, `--${opts.config.profile}-prof-name=mesh-${label}.${opts.config.profile}profile`);
		}
		if (opts.config.heapSnapshots) {
			fs.mkdirSync(path.join(opts.outDir, "heap"), { recursive: true });
			flags.push("--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${path.join(opts.outDir, "heap")}`);
		}
		const t0 = performance.now();
		const proc = spawn(process.execPath, [...flags, script], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
		const mesh = new Mesh(label, proc, `http://127.0.0.1:${port}`, opts.adminKey, path.join(opts.outDir, `mesh-${label}.log`));
		try {
			await waitFor(`the mesh (${label}) to answer /health/ready`, 180_000, async () => {
				if (mesh.exited) throw new Error(`the mesh exited (code ${proc.exitCode}): ${mesh.output.slice(-2000)}`);
				const res = await fetch(`${mesh.url}/health/ready`).catch(() => undefined);
				return res?.status === 200 ? true : undefined;
			}, 200);
		} catch (err) {
			await mesh.stop();
			throw err;
		}
		mesh.spawnedAt = t0;
		mesh.readySeconds = (performance.now() - t0) / 1000;
		return mesh;
	}

	/** One REST call with the admin key; the body is parsed when it is JSON. */
	async api<T = any>(method: string, route: string, body?: unknown): Promise<ApiResult<T>> {
		const res = await fetch(`${this.url}${route}`, {
			method,
			headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(120_000),
		});
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			/* not JSON */
		}
		return { status: res.status, body: parsed as T, text };
	}

	/** Like `api`, but anything but `expect` is an error naming the call. */
	async must<T = any>(method: string, route: string, body?: unknown, expect: number[] = [200, 201]): Promise<T> {
		const res = await this.api<T>(method, route, body);
		if (!expect.includes(res.status)) throw new Error(`${method} ${route}: ${res.status} ${res.text.slice(0, 500)}`);
		return res.body;
	}

	/**
	 * `POST /api/v1/k8s/deployments`, with two more tries after a 429 or a 5xx; a failure is logged
	 * under `label`. Names are unique to a run: a 409 means an earlier try of ours (or the broker's own
	 * retry of a create that outlived its request timeout) made it. It is told apart, since a user would
	 * see that 409.
	 */
	async createDeployment(body: { name: string } & Record<string, unknown>, label: string): Promise<"created" | "conflict" | "failed"> {
		for (let attempt = 1; ; attempt++) {
			const res = await this.api("POST", "/api/v1/k8s/deployments", body);
			if (res.status === 201) return "created";
			if (res.status === 409) return "conflict";
			if (attempt < 3 && (res.status === 429 || res.status >= 500)) {
				await sleep(500 * attempt);
				continue;
			}
			log(`${label}: create ${body.name}: ${res.status} ${res.text.slice(0, 300)}`);
			return "failed";
		}
	}

	/** Waits until every inventory informer has listed. */
	async inventorySynced(timeoutMs = 180_000): Promise<void> {
		await waitFor("the inventory to sync", timeoutMs, async () => ((await this.api<{ synced?: boolean }>("GET", "/api/v1/k8s/inventory")).body?.synced ? true : undefined), 50);
		this.syncedSeconds = (performance.now() - this.spawnedAt) / 1000;
	}

	/** Asks the process for a heap snapshot (it must run with BENCH_HEAPSNAPSHOT) and waits until the file is written. */
	async heapSnapshot(dir: string, name: string): Promise<string> {
		const before = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
		this.proc.kill("SIGUSR2");
		let file = "";
		let size = -1;
		await waitFor(`a heap snapshot of mesh ${this.label}`, 300_000, async () => {
			file ||= fs.readdirSync(dir).find(f => f.endsWith(".heapsnapshot") && !before.has(f)) ?? "";
			if (!file) return undefined;
			const now = fs.statSync(path.join(dir, file)).size;
			const done = now > 0 && now === size;
			size = now;
			return done ? true : undefined;
		}, 2_000);
		const target = path.join(dir, `${name}.heapsnapshot`);
		fs.renameSync(path.join(dir, file), target);
		return target;
	}

	memory(): { rssMiB: number; peakMiB: number } {
		return memoryOf(this.pid);
	}

	/** SIGTERM (the mesh stops its services and exits, writing a profile if asked), SIGKILL after 30 s. */
	async stop(): Promise<void> {
		if (this.exited) return;
		const exited = new Promise<void>(resolve => this.proc.once("exit", () => resolve()));
		this.proc.kill("SIGTERM");
		const timer = setTimeout(() => {
			log(`mesh ${this.label} did not stop in 30 s; killing pid ${this.pid}`);
			this.proc.kill("SIGKILL");
		}, 30_000);
		await exited;
		clearTimeout(timer);
		await sleep(100);
	}
}

export function newAdminKey(): string {
	return `berth_bench_${randomBytes(18).toString("hex")}`;
}
