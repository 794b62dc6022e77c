import * as fs from "node:fs";
import { request } from "../helpers/mesh";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";
import { auditDeployments, auditTotal, fromMongo } from "./audit";
import { clusterScriptAsync, createDeployment, faultRun, faultsEnv, natsPid, nodeEnv, report, sleep, Store, waitFor, waitReady, type CreateOutcome } from "./harness";

const DEPLOYS = 12;
/** How long nats-server stays down: long enough for calls and heartbeats to be caught in it. */
const DOWN_MS = 3_000;

/**
 * An api node and a worker node talk only through nats-server; a client keeps creating deployments
 * through the api node's REST while nats-server is killed and started again on the same port.
 * Calls resume after the restart, and every deployment asked for exists exactly once.
 */
describe("restart nats-server", () => {
	const { run, key, uri, namespace } = faultRun("faults-nats");
	const nodes: NodeProcess[] = [];
	let url = "";
	let store: Store;

	beforeAll(async () => {
		store = await Store.open(uri);
		const port = await freePort();
		url = `http://127.0.0.1:${port}`;
		const common = { TRANSPORTER: faultsEnv().NATS_URL, MONGO_URI: uri, BERTH_ADMIN_KEY: key };
		nodes.push(startNode(`worker-${run}`, nodeEnv(run, { ...common, SERVICES: "health,k8s.namespaces,k8s.images,k8s.deployments,k8s.envs" })));
		nodes.push(startNode(`api-${run}`, nodeEnv(run, { ...common, SERVICES: "api,health,keys", PORT: String(port) })));
		// Ready once the deployments routes answer: the service lives on the worker, across NATS.
		await waitReady(nodes[1], url, key).catch(err => {
			throw new Error(`${(err as Error).message}\n--- ${nodes[0].name}\n${nodes[0].output()}`);
		});
	});

	afterAll(async () => {
		await Promise.all(nodes.map(n => n.kill("SIGKILL")));
		await store?.close();
	});

	it("calls resume and no deploy is lost", async () => {
		const ns = await request(`${url}/api/v1/k8s/namespaces`, { method: "POST", key, body: { name: namespace, quota: { cpu: "16", memory: "16Gi", pods: 50 } } });
		expect({ status: ns.status, body: ns.body }).toMatchObject({ status: 201 });
		const want = Object.fromEntries(Array.from({ length: DEPLOYS }, (_, i) => [`web-${i}`, 1]));

		// Clients start a create every 400 ms, whatever the previous ones are doing: some are in flight
		// when nats-server dies, some start while it is down, some after it is back.
		const outcomes: CreateOutcome[] = [];
		let launched = 0;
		const clients = (async () => {
			const running: Promise<unknown>[] = [];
			for (const name of Object.keys(want)) {
				running.push(createDeployment(() => url, key, { name, namespace, image: "nginx", replicas: 1 }, { retryGoneRoute: true }).then(o => outcomes.push(o)));
				launched++;
				await sleep(400);
			}
			await Promise.all(running);
		})();

		// A probe lists deployments every 200 ms (each call gives up after 2 s): when do calls answer again?
		const probes: { sentAt: number; ms: number; status: number | string }[] = [];
		let probing = true;
		const probe = (async () => {
			while (probing) {
				const sentAt = Date.now();
				const res = await fetch(`${url}/api/v1/k8s/deployments?namespace=${namespace}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(2_000) }).then(
					r => r.status,
					(err: Error) => err.name,
				);
				probes.push({ sentAt, ms: Date.now() - sentAt, status: res });
				await sleep(200);
			}
		})();

		let killedAt = 0;
		let upAt = 0;
		let inFlightAtKill = 0;
		try {
			await waitFor(() => launched >= 4 && outcomes.length >= 2, "the first creates", 60_000, 20);
			const pid = natsPid();
			process.kill(pid, "SIGKILL");
			killedAt = Date.now();
			inFlightAtKill = launched - outcomes.length;
			await waitFor(() => !fs.existsSync(`/proc/${pid}`), "nats-server to exit", 10_000, 20);
			await sleep(DOWN_MS);
			await clusterScriptAsync("up.sh", "--only", "nats");
			upAt = Date.now();
			await clients;
		} finally {
			probing = false;
			await probe;
		}
		if (process.env.FAULTS_DEBUG) {
			process.stdout.write(probes.map(p => `${p.sentAt - killedAt} ${p.ms} ${p.status}`).join("\n") + "\n");
			process.stdout.write(nodes.map(n => `--- ${n.name}\n${n.output()}`).join("\n"));
		}

		// Calls resume: the first probe sent after the restart that answers.
		const resumed = probes.find(p => p.sentAt >= upAt && p.status === 200);
		expect(resumed).toBeDefined();
		const recoveryMs = resumed!.sentAt + resumed!.ms - upAt;
		let audit = await auditDeployments(namespace, want, fromMongo(await store.docs("deployments")));
		const deadline = Date.now() + 90_000;
		while ((audit.lostObjects || audit.lostStatuses) && Date.now() < deadline) {
			await sleep(250);
			audit = await auditDeployments(namespace, want, fromMongo(await store.docs("deployments")));
		}
		const settledMs = Date.now() - upAt;
		const { lost, duplicated } = auditTotal(audit);
		const failed = outcomes.flatMap(o => o.failures);
		// Not a lost deploy (the client retried), but a wrong answer: a 503 would say "try again".
		const goneRoute = failed.filter(f => f.startsWith("404")).length;
		// Every name is this client's own: a 409 is a create whose answer was lost with nats-server, retried
		// (by moleculer after requestTimeout, or by the client) and found stored. Not lost, but misleading.
		const ownConflicts = outcomes.filter(o => o.status === 409).length;
		if (goneRoute) process.stdout.write(`[faults] restart nats-server: ${goneRoute} create(s) answered 404 Not found while the worker was unreachable (the gateway dropped its routes)\n`);
		report({
			scenario: "restart nats-server",
			recoveryMs,
			lost,
			duplicated,
			detail: { deployments: DEPLOYS, inFlightAtKill, downMs: upAt - killedAt, lastAnswerMs: Math.max(...outcomes.map(o => o.doneAt)) - upAt, allSettledMs: settledMs, failedAttempts: failed.length, answered404: goneRoute, answered409ToOwnCreate: ownConflicts, failures: [...new Set(failed)].slice(0, 4), answers: outcomes.map(o => `${o.name}:${o.status}@${o.attempts}`).join(" ") },
		});
		expect(audit.problems).toEqual([]);
		expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
	});
});
