import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request } from "../helpers/mesh";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";
import { adminKey, nodeEnv, report, runId, sleep, waitReady } from "./harness";

const SERVICES = "api,health,keys,k8s.namespaces,k8s.images,k8s.volumes,k8s.deployments,k8s.envs";
const COLLECTIONS = ["keys", "k8s/namespaces", "k8s/volumes", "k8s/deployments", "k8s/envs"];
/** Fields the node itself keeps moving (status written by reconcilers), not the user's data. */
const VOLATILE = new Set(["status", "phase", "updatedAt"]);

type Entity = Record<string, unknown> & { id: string };
type Snapshot = Record<string, Entity[]>;

/**
 * One node on NeDB files in a temporary DATA_DIR. After a burst of writes (creates, an update, a
 * revocation, a deletion) the process is killed with SIGKILL right after the last answer, started
 * again on the same directory, then stopped with SIGTERM and started once more. Every entity must
 * come back exactly as it was, once; what was deleted must stay deleted; keys must still work.
 */
describe("restart the process", () => {
	const run = runId();
	const key = adminKey(run);
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-faults-nedb-${run}-`));
	let node: NodeProcess | undefined;
	let url = "";

	const start = async (label: string): Promise<number> => {
		const t = Date.now();
		const port = await freePort();
		url = `http://127.0.0.1:${port}`;
		node = startNode(`${label}-${run}`, nodeEnv(run, { SERVICES, PORT: String(port), DATA_DIR: dataDir, BERTH_ADMIN_KEY: key }));
		await waitReady(node, url, key, COLLECTIONS);
		return t;
	};
	const call = (p: string, init: Parameters<typeof request>[1] = {}) => request(`${url}/api/v1/${p}`, { key, ...init });

	/** Every collection as the admin lists it, without the fields the node itself rewrites. */
	const snapshot = async (): Promise<Snapshot> => {
		const out: Snapshot = {};
		for (const c of COLLECTIONS) {
			const res = await call(c);
			if (res.status !== 200) throw new Error(`GET /api/v1/${c}: ${res.status} ${res.text}`);
			out[c] = (res.body as Entity[]).map(e => Object.fromEntries(Object.entries(e).filter(([k]) => !VOLATILE.has(k))) as Entity).sort((a, b) => a.id.localeCompare(b.id));
		}
		return out;
	};

	/** Lost: entities gone or changed. Duplicated: entities that were not there, or an id twice. */
	const compare = (before: Snapshot, after: Snapshot) => {
		let lost = 0;
		let duplicated = 0;
		const problems: string[] = [];
		for (const c of COLLECTIONS) {
			const ids = after[c].map(e => e.id);
			duplicated += ids.length - new Set(ids).size;
			for (const e of before[c]) {
				const again = after[c].find(x => x.id === e.id);
				if (!again) (lost++, problems.push(`${c} ${e.id} (${String(e.name ?? e.key)}) is gone`));
				else if (JSON.stringify(again) !== JSON.stringify(e)) (lost++, problems.push(`${c} ${e.id} changed: ${JSON.stringify(e)} → ${JSON.stringify(again)}`));
			}
			for (const e of after[c]) if (!before[c].some(x => x.id === e.id)) (duplicated++, problems.push(`${c} ${e.id} (${String(e.name ?? e.key)}) is new`));
		}
		return { lost, duplicated, problems };
	};

	afterAll(async () => {
		await node?.kill("SIGKILL");
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("the NeDB data is intact after kill -9 and after a clean stop", async () => {
		await start("first");
		const ok = <T extends { status: number; text: string }>(res: T, status: number, what: string): T => {
			if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.text}`);
			return res;
		};
		const userKey = (ok(await call("keys", { method: "POST", body: { name: "alice's laptop", userID: `alice-${run}` } }), 201, "create key").body as { key: string }).key;
		ok(await call("keys", { method: "POST", body: { name: "ci", userID: `ci-${run}` } }), 201, "create key");
		const revoked = ok(await call("keys", { method: "POST", body: { name: "old", userID: `alice-${run}` } }), 201, "create key").body.id as string;
		ok(await call(`keys/${revoked}`, { method: "DELETE" }), 200, "revoke key");
		const namespaces: string[] = [];
		for (const n of ["one", "two"]) {
			const name = `faults-nedb-${n}-${run}`;
			ok(await call("k8s/namespaces", { method: "POST", body: { name, quota: { cpu: "8", memory: "8Gi", pods: 20 } } }), 201, `create namespace ${name}`);
			namespaces.push(name);
		}
		// Alice gets a namespace of her own through her key: it must still open it after the restarts.
		const aliceNs = `faults-nedb-alice-${run}`;
		ok(await request(`${url}/api/v1/k8s/namespaces`, { method: "POST", key: userKey, body: { name: aliceNs } }), 201, "alice's namespace");
		ok(await call("k8s/volumes", { method: "POST", body: { namespace: namespaces[0], name: "data", mountPath: "/data", size: "1Gi" } }), 201, "create volume");
		ok(await call("k8s/volumes", { method: "POST", body: { namespace: namespaces[1], name: "cache", mountPath: "/cache", size: "2Gi" } }), 201, "create volume");
		const web = ok(await call("k8s/deployments", { method: "POST", body: { name: "web", namespace: namespaces[0], image: "nginx", replicas: 1, env: [{ key: "MODE", value: "production" }], configMap: { name: "site", data: { "site.conf": "server { listen 80; }" } } } }), 201, "create web").body.id as string;
		const gone = ok(await call("k8s/deployments", { method: "POST", body: { name: "gone", namespace: namespaces[0], image: "nginx", replicas: 1 } }), 201, "create gone").body.id as string;
		ok(await call("k8s/deployments", { method: "POST", body: { name: "api", namespace: namespaces[1], image: "nginx", replicas: 1, env: [{ key: "TOKEN", value: "s3cret", type: "secret" }] } }), 201, "create api");
		ok(await call(`k8s/deployments/${web}/scale`, { method: "POST", body: { replicas: 2 } }), 200, "scale web");
		ok(await call(`k8s/deployments/${gone}`, { method: "DELETE" }), 200, "delete gone");
		// A deletion finishes in the background; the snapshot is taken once it has.
		for (let i = 0; i < 120 && (await call(`k8s/deployments/${gone}`)).status !== 404; i++) await sleep(250);
		const before = await snapshot();
		expect(before["k8s/deployments"].map(d => d.name).sort()).toEqual(["api", "web"]);

		// The last write, then SIGKILL at once: whatever was answered must be on disk.
		ok(await call(`k8s/deployments/${web}/scale`, { method: "POST", body: { replicas: 3 } }), 200, "scale web again");
		await node!.kill("SIGKILL");
		const killedAt = Date.now();
		(before["k8s/deployments"].find(d => d.id === web) as Entity).replicas = 3;
		await start("after-kill");
		const afterKill = await snapshot();
		const recoveryMs = Date.now() - killedAt;
		const killed = compare(before, afterKill);
		const aliceSees = await request(`${url}/api/v1/k8s/namespaces`, { key: userKey });

		await node!.kill("SIGTERM");
		const stoppedAt = Date.now();
		await start("after-stop");
		const afterStop = await snapshot();
		const cleanRecoveryMs = Date.now() - stoppedAt;
		const stopped = compare(before, afterStop);

		const files = fs.readdirSync(dataDir).filter(f => f.endsWith(".db")).sort();
		report({
			scenario: "restart the process (NeDB)",
			recoveryMs,
			lost: killed.lost + stopped.lost,
			duplicated: killed.duplicated + stopped.duplicated,
			detail: { entities: Object.fromEntries(COLLECTIONS.map(c => [c, before[c].length])), afterKill9: { recoveryMs, lost: killed.lost, duplicated: killed.duplicated }, afterSigterm: { recoveryMs: cleanRecoveryMs, lost: stopped.lost, duplicated: stopped.duplicated }, files },
		});
		expect([...killed.problems, ...stopped.problems]).toEqual([]);
		expect({ status: aliceSees.status, names: (aliceSees.body as { name: string }[]).map(n => n.name) }).toEqual({ status: 200, names: [aliceNs] });
		expect((await call(`keys/${revoked}`)).body).toMatchObject({ revokedAt: expect.any(String) });
		expect((await call(`k8s/deployments/${gone}`)).status).toBe(404);
	});
});
