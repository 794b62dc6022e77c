/**
 * What a slow reader of a followed log costs the mesh (issue #19, "bounded reads"): one client
 * follows a chatty pod's log at 1 KiB/s for FOLLOW_SECONDS (60) while the mesh's RSS is sampled.
 *
 * The pods of the local control plane (kwok) write one small fixture, so the chatty pod is made
 * here: the mesh talks to the real apiserver through a pass-through proxy that answers a pod's
 * followed log itself, as fast as the mesh takes it (as a kubelet does), honouring `limitBytes`.
 * Everything else (informers, applies, the pod list) is the real apiserver's answer.
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/bench/log-follow.js
 *
 * MESH_SCRIPT=<path to start.js> measures another build (an earlier commit's, say).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { freePort, memoryOf, repoRoot, sleep, waitFor } from "./util";

const FOLLOW_SECONDS = Number(process.env.FOLLOW_SECONDS || 60);
const READ_BYTES_PER_SECOND = 1024;
const LOG_PATH = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/log$/;

function say(msg: string): void {
	process.stderr.write(`[log-follow] ${msg}\n`);
}

/** A followed log that never ends: lines as fast as the reader takes them, `limitBytes` at most. */
function chattyLog(url: URL, res: http.ServerResponse): void {
	const limit = Number(url.searchParams.get("limitBytes") ?? Infinity);
	res.writeHead(200, { "Content-Type": "text/plain" });
	let sent = 0;
	let n = 0;
	const pump = () => {
		while (sent < limit) {
			const line = Buffer.from(`${new Date().toISOString()} chatty line ${++n} ${"x".repeat(160)}\n`);
			const chunk = sent + line.length > limit ? line.subarray(0, limit - sent) : line;
			sent += chunk.length;
			if (!res.write(chunk)) return void res.once("drain", pump);
		}
		res.end();
	};
	res.on("close", () => res.removeAllListeners("drain"));
	pump();
}

/** The proxy in front of the apiserver: plain HTTP for the mesh, the kubeconfig's TLS identity towards the apiserver. */
async function startProxy(kc: KubeConfig): Promise<{ url: string; close(): void }> {
	const upstream = new URL(kc.getCurrentCluster()!.server);
	const tls: https.RequestOptions = {};
	await kc.applyToHTTPSOptions(tls);
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://proxy");
		if (req.method === "GET" && LOG_PATH.test(url.pathname) && url.searchParams.get("follow") === "true") return chattyLog(url, res);
		const out = https.request({ ...tls, host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, up => {
			res.writeHead(up.statusCode ?? 502, up.headers);
			up.pipe(res);
		});
		out.on("error", () => res.destroy());
		res.on("close", () => out.destroy());
		req.pipe(out);
	});
	const port = await freePort();
	await new Promise<void>(resolve => server.listen(port, "127.0.0.1", resolve));
	const close = () => {
		server.closeAllConnections();
		server.close();
	};
	return { url: `http://127.0.0.1:${port}`, close };
}

async function api<T = any>(base: string, key: string, method: string, route: string, body?: unknown): Promise<T> {
	const res = await fetch(`${base}${route}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await res.text();
	if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
	return (text ? JSON.parse(text) : undefined) as T;
}

/** Follows `url`, taking READ_BYTES_PER_SECOND off the socket each second; returns the bytes read. */
function slowFollow(url: string, key: string, seconds: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { headers: { authorization: `Bearer ${key}` } }, res => {
			if (res.statusCode !== 200) return reject(new Error(`follow: ${res.statusCode}`));
			let read = 0;
			const tick = setInterval(() => {
				const chunk = res.read(READ_BYTES_PER_SECOND) as Buffer | null;
				if (chunk) read += chunk.length;
			}, 1000);
			setTimeout(() => {
				clearInterval(tick);
				req.destroy();
				resolve(read);
			}, seconds * 1000);
		});
		req.on("error", err => (req.destroyed ? undefined : reject(err)));
	});
}

async function main(): Promise<void> {
	const kc = new KubeConfig();
	kc.loadFromFile(process.env.KUBECONFIG || path.join(repoRoot, ".cluster", "kubeconfig"));
	const proxy = await startProxy(kc);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-log-follow-"));
	const kubeconfig = path.join(dir, "kubeconfig");
	// client-node refuses plain HTTP unless TLS verification is off: there is no TLS to verify on loopback.
	fs.writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "proxy", cluster: { server: proxy.url, "insecure-skip-tls-verify": true } }], users: [{ name: "none", user: {} }], contexts: [{ name: "proxy", context: { cluster: "proxy", user: "none" } }], "current-context": "proxy" }));
	const port = await freePort();
	const adminKey = `log-follow-admin-${process.pid}-${Date.now()}`;
	const script = process.env.MESH_SCRIPT || path.join(repoRoot, "dist", "scripts", "start.js");
	const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, BERTH_AUTO_CLUSTER: "false", PORT: String(port), HOST: "127.0.0.1", DATA_DIR: path.join(dir, "data"), BERTH_ADMIN_KEY: adminKey, LOG_LEVEL: "warn", NODE_ID: `log-follow-${process.pid}`, LEADER_LEASE_NAME: `berth-log-follow-${process.pid}`, RATE_LIMIT: "1000000" };
	for (const k of ["TRANSPORTER", "SERVICES", "MONGO_URI", "NODE_OPTIONS"]) delete env[k];
	const mesh = spawn(process.execPath, ["--max-semi-space-size=4", script], { env, stdio: ["ignore", "ignore", "inherit"] });
	const base = `http://127.0.0.1:${port}`;
	const ns = `log-follow-${Date.now().toString(36)}`;
	try {
		await waitFor("the mesh to be ready", 180_000, async () => ((await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 500);
		const { id: nsId } = await api<{ id: string }>(base, adminKey, "POST", "/api/v1/k8s/namespaces", { name: ns, quota: { cpu: "2", memory: "2Gi", pods: 10 } });
		const { id } = await api<{ id: string }>(base, adminKey, "POST", "/api/v1/k8s/deployments", { name: "chatty", namespace: ns, image: "nginx", replicas: 1 });
		await waitFor("the pod to run", 120_000, async () => ((await api<{ phase: string }[]>(base, adminKey, "GET", `/api/v1/k8s/deployments/${id}/pods`)).some(p => p.phase === "Running") ? true : undefined), 1000);
		await sleep(5000);
		const before = memoryOf(mesh.pid as number).rssMiB;
		say(`mesh ${script}: RSS before the follow ${before.toFixed(0)} MiB`);
		const samples: number[] = [];
		const sampler = setInterval(() => samples.push(memoryOf(mesh.pid as number).rssMiB), 5000);
		const read = await slowFollow(`${base}/api/v1/k8s/deployments/${id}/logs?follow=true`, adminKey, FOLLOW_SECONDS);
		clearInterval(sampler);
		const after = memoryOf(mesh.pid as number).rssMiB;
		say(`read ${read} bytes in ${FOLLOW_SECONDS} s; RSS every 5 s: ${samples.map(s => s.toFixed(0)).join(" ")} MiB`);
		console.log(JSON.stringify({ script, seconds: FOLLOW_SECONDS, bytesRead: read, rssBeforeMiB: Math.round(before), rssAfterMiB: Math.round(after), rssMaxMiB: Math.round(Math.max(...samples, after)), samplesMiB: samples.map(Math.round) }));
		await api(base, adminKey, "DELETE", `/api/v1/k8s/namespaces/${nsId}`).catch(err => say(`cleanup: ${(err as Error).message}`));
	} finally {
		mesh.kill("SIGTERM");
		await new Promise(resolve => mesh.once("exit", resolve));
		proxy.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

main().catch(err => {
	say(String((err as Error).stack ?? err));
	process.exit(1);
});
