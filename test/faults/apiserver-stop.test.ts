import type { V1Deployment } from "../../lib/k8s";
import { request } from "../helpers/mesh";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";
import { auditDeployments, auditTotal, fromMongo, type Audit } from "./audit";
import { adminKey, apiserverPid, componentAlive, kube, mongoUri, nodeEnv, processState, report, runId, sleep, Store, thawApiserver, waitReady } from "./harness";

const FROZEN_MS = 15_000;

/**
 * The apiserver stops answering for 15 s (SIGSTOP: connections stay open and hang, as behind a
 * dead network path) while Berth watches its deployments. A scale and a create are asked for while
 * it is down; right after it is back, someone deletes a Deployment, a Service and scales another by
 * hand. The informers must pick that up (the periodic resync is an hour away), nothing asked for may
 * be lost, and every stored status must end up saying what the cluster says.
 */
describe("stop the apiserver for 15 s mid-watch", () => {
	const run = runId();
	const key = adminKey(run);
	const uri = mongoUri(`faults-apiserver-${run}`);
	const namespace = `faults-api-${run}`;
	let node: NodeProcess;
	let url = "";
	let store: Store;
	const api = (path: string, init: Parameters<typeof request>[1] = {}) => request(`${url}/api/v1/k8s${path}`, { key, ...init });

	beforeAll(async () => {
		store = await Store.open(uri);
		const port = await freePort();
		url = `http://127.0.0.1:${port}`;
		node = startNode(`solo-${run}`, nodeEnv(run, { SERVICES: "api,health,keys,k8s.namespaces,k8s.images,k8s.deployments,k8s.envs", PORT: String(port), MONGO_URI: uri, BERTH_ADMIN_KEY: key, RESYNC_SECONDS: "3600" }));
		await waitReady(node, url, key);
	});

	afterAll(async () => {
		thawApiserver();
		await node?.kill("SIGKILL");
		await store?.close();
	});

	const audit = async (want: Record<string, number>): Promise<Audit> => auditDeployments(namespace, want, fromMongo(await store.docs("deployments")));

	it("informers recover, no status is lost, drift is repaired", async () => {
		expect((await api("/namespaces", { method: "POST", body: { name: namespace, quota: { cpu: "16", memory: "16Gi", pods: 50 } } })).status).toBe(201);
		const ids: Record<string, string> = {};
		for (const name of ["a", "b", "c", "d"]) {
			const res = await api("/deployments", { method: "POST", body: { name, namespace, image: "nginx", replicas: 1 } });
			expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
			ids[name] = res.body.id;
		}
		let before = await audit({ a: 1, b: 1, c: 1, d: 1 });
		for (let i = 0; i < 240 && (before.lostObjects || before.lostStatuses); i++) before = (await sleep(250), await audit({ a: 1, b: 1, c: 1, d: 1 }));
		expect(before.problems).toEqual([]);

		const pid = apiserverPid();
		process.kill(pid, "SIGSTOP");
		const frozenAt = Date.now();
		let scaled: Awaited<ReturnType<typeof api>> | undefined;
		let created: Awaited<ReturnType<typeof api>> | undefined;
		let thawedAt = 0;
		try {
			expect(processState(pid)).toBe("T");
			// Asked for while the apiserver cannot answer: they wait for it, they must not be lost.
			await sleep(1_000);
			const scaling = api(`/deployments/${ids.d}/scale`, { method: "POST", body: { replicas: 2 } }).then(r => (scaled = r));
			const creating = api("/deployments", { method: "POST", body: { name: "e", namespace, image: "nginx", replicas: 1 } }).then(r => (created = r));
			await sleep(FROZEN_MS - (Date.now() - frozenAt));
			process.kill(pid, "SIGCONT");
			thawedAt = Date.now();

			// Drift by hand, the moment it is back: the watches have to see it.
			const k = kube();
			await k.delete({ apiVersion: "apps/v1", kind: "Deployment", name: "a", namespace });
			const b = (await k.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "b", namespace }))!;
			await k.replace<V1Deployment>({ ...b, apiVersion: "apps/v1", kind: "Deployment", spec: { ...b.spec!, replicas: 3 } });
			await k.delete({ apiVersion: "v1", kind: "Service", name: "c-service", namespace });
			await Promise.all([scaling, creating]);
		} finally {
			process.kill(pid, "SIGCONT");
		}
		const driftDoneMs = Date.now() - thawedAt;
		expect({ status: scaled?.status, body: scaled?.body }).toMatchObject({ status: 200 });
		expect({ status: created?.status, body: created?.body }).toMatchObject({ status: 201 });
		for (const c of ["kube-controller-manager", "kube-scheduler", "kwok-controller"])
			if (!componentAlive(c)) throw new Error(`${c} of the fault instance exited while the apiserver was frozen: the cluster cannot converge (is KUBE_LEADER_ELECT=false in effect?)`);

		const want = { a: 1, b: 1, c: 1, d: 2, e: 1 };
		let after = await audit(want);
		while ((after.lostObjects || after.lostStatuses) && Date.now() - thawedAt < 120_000) {
			await sleep(250);
			after = await audit(want);
		}
		const recoveryMs = Date.now() - thawedAt;
		await sleep(2_000);
		after = await audit(want);
		const { lost, duplicated } = auditTotal(after);
		const watchRestarts = (node.output().match(/watch failed/g) ?? []).length;
		report({ scenario: "stop the apiserver for 15 s mid-watch", recoveryMs, lost, duplicated, detail: { frozenMs: thawedAt - frozenAt, driftMadeWithinMs: driftDoneMs, askedWhileDown: "scale d to 2, create e", watchRestarts } });
		expect(after.problems).toEqual([]);
		expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
	});
});
