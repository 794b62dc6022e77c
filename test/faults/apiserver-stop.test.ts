import type { V1Deployment } from "../../lib/k8s";
import { request } from "../helpers/mesh";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";
import { auditDeployments, auditTotal, fromMongo, type Audit } from "./audit";
import {
	apiserverPid,
	componentAlive,
	faultRun,
	killApiserver,
	kube,
	nodeEnv,
	processState,
	report,
	respawnApiserver,
	sleep,
	Store,
	thawApiserver,
	untilAnswered,
	waitFor,
	waitReady,
	type ProcessSpec,
} from "./harness";

const DOWN_MS = 15_000;

/** One way of taking the apiserver away and giving it back. */
interface Outage {
	scenario: string;
	begin(): Promise<void>;
	end(): Promise<void>;
}

/** SIGSTOP: connections stay open and hang, as behind a dead network path; nothing errors. */
function frozen(): Outage {
	let pid = 0;
	return {
		scenario: "stop the apiserver for 15 s mid-watch",
		async begin() {
			pid = apiserverPid();
			process.kill(pid, "SIGSTOP");
			// The kernel stops every thread of a busy process asynchronously: give it a moment to show "T".
			try {
				await waitFor(() => processState(pid) === "T", `kube-apiserver ${pid} to stop`, 5_000, 20);
			} catch (err) {
				process.kill(pid, "SIGCONT");
				throw err;
			}
		},
		async end() {
			process.kill(pid, "SIGCONT");
		},
	};
}

/** SIGKILL, then the same command again: every connection breaks, watches and lease renewals fail. */
function killed(): Outage {
	let spec: ProcessSpec | undefined;
	return {
		scenario: "kill the apiserver, start it 15 s later",
		async begin() {
			spec = await killApiserver();
		},
		async end() {
			respawnApiserver(spec!);
			await waitFor(async () => Boolean(await kube().version().catch(() => undefined)), "the restarted kube-apiserver to answer", 60_000, 200);
		},
	};
}

/**
 * The apiserver goes away for 15 s while Berth watches its deployments. A scale and a create are
 * asked for meanwhile (by a client that retries what fails); right after it is back, someone deletes
 * a Deployment and a Service and scales another by hand. The informers must see that (the periodic
 * resync is an hour away), nothing asked for may be lost, and every stored status must end up saying
 * what the cluster says.
 */
describe("the apiserver goes away for 15 s mid-watch", () => {
	const { run, key, uri } = faultRun("faults-apiserver");
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

	const scenario = async (outage: Outage, namespace: string) => {
		const audit = async (want: Record<string, number>): Promise<Audit> => auditDeployments(namespace, want, fromMongo(await store.docs("deployments")));
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
		const watchFailuresBefore = (node.output().match(/watch failed/g) ?? []).length;

		await outage.begin();
		const downAt = Date.now();
		let backAt = 0;
		let driftMs = 0;
		let scaled, created;
		try {
			// Asked for while the apiserver is away: they wait or fail and are retried; either way, not lost.
			await sleep(1_000);
			const scaling = untilAnswered(() => api(`/deployments/${ids.d}/scale`, { method: "POST", body: { replicas: 2 } }));
			const creating = untilAnswered(() => api("/deployments", { method: "POST", body: { name: "e", namespace, image: "nginx", replicas: 1 } }));
			await sleep(DOWN_MS - (Date.now() - downAt));
			await outage.end();
			backAt = Date.now();

			// Drift by hand, the moment it is back: the watches have to see it.
			const k = kube();
			await k.delete({ apiVersion: "apps/v1", kind: "Deployment", name: "a", namespace });
			const b = (await k.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "b", namespace }))!;
			await k.replace<V1Deployment>({ ...b, apiVersion: "apps/v1", kind: "Deployment", spec: { ...b.spec!, replicas: 3 } });
			await k.delete({ apiVersion: "v1", kind: "Service", name: "c-service", namespace });
			driftMs = Date.now() - backAt;
			[scaled, created] = await Promise.all([scaling, creating]);
		} finally {
			thawApiserver();
		}
		if (scaled.status !== 200) throw new Error(`scale d asked for while the apiserver was away: ${scaled.status} ${scaled.text}`);
		// 409: a create that timed out at the gateway had been stored after all; it must exist once.
		if (![201, 409].includes(created.status)) throw new Error(`create e asked for while the apiserver was away: ${created.status} ${created.text}`);
		for (const c of ["kube-controller-manager", "kube-scheduler", "kwok-controller"])
			if (!componentAlive(c)) throw new Error(`${c} of the fault instance exited while the apiserver was away: the cluster cannot converge (is KUBE_LEADER_ELECT=false in effect?)`);

		// Berth's part is done when the objects are as wanted again; the statuses follow as the cluster's
		// own controllers (which lost the apiserver too) catch up.
		const want = { a: 1, b: 1, c: 1, d: 2, e: 1 };
		const k = kube();
		const repaired = async () => {
			const [a, b, c, d, e] = await Promise.all([
				k.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "a", namespace }),
				k.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "b", namespace }),
				k.get({ apiVersion: "v1", kind: "Service", name: "c-service", namespace }),
				k.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "d", namespace }),
				k.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "e", namespace }),
			]);
			return Boolean(a && b?.spec?.replicas === 1 && c && d?.spec?.replicas === 2 && e);
		};
		let repairedMs = 0;
		let after = await audit(want);
		while ((after.lostObjects || after.lostStatuses) && Date.now() - backAt < 120_000) {
			if (!repairedMs && (await repaired())) repairedMs = Date.now() - backAt;
			await sleep(250);
			after = await audit(want);
		}
		repairedMs ||= Date.now() - backAt;
		if (process.env.FAULTS_DEBUG) process.stdout.write(`--- back at ${new Date(backAt).toISOString()}, repaired +${repairedMs} ms, settled +${Date.now() - backAt} ms\n--- ${node.name}\n${node.output()}\n`);
		const recoveryMs = Date.now() - backAt;
		await sleep(2_000); // a late second rollout or pod would show up now
		after = await audit(want);
		const { lost, duplicated } = auditTotal(after);
		const watchRestarts = (node.output().match(/watch failed/g) ?? []).length - watchFailuresBefore;
		report({
			scenario: outage.scenario,
			recoveryMs,
			lost,
			duplicated,
			detail: { downMs: backAt - downAt, driftMadeWithinMs: driftMs, objectsRepairedMs: repairedMs, askedWhileDown: `scale d to 2: ${scaled.status} after ${scaled.failedAttempts} failed attempts; create e: ${created.status} after ${created.failedAttempts}`, watchRestarts },
		});
		expect(after.problems).toEqual([]);
		expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
	};

	it("frozen (SIGSTOP): informers recover, no status is lost, drift is repaired", () => scenario(frozen(), `faults-freeze-${run}`));

	it("killed and started again: informers reconnect, no status is lost, drift is repaired", () => scenario(killed(), `faults-kill-${run}`));
});
