import { request } from "../helpers/mesh";
import type { NodeProcess } from "../helpers/nodes";
import { countEvents, faultRun, holderIs, kube, leaseHolder, nodeMetrics, processState, report, sleep, startNodes, Store, waitFor } from "./harness";

const SERVICES = "api,health,keys,k8s.namespaces,k8s.images,k8s.deployments,k8s.envs,k8s.jobs,k8s.applications";
const LEASE_MS = 3_000;
const JOBS = 4;
const INSTANCES = 3;
/** What a stale leader could do twice: finish a job, end an instance. */
const ONCE_EVENTS = ["k8s.jobs.completed", "k8s.jobs.failed", "k8s.applications.culled", "k8s.applications.deleted", "k8s.applications.failed"];

/**
 * Two full nodes over NATS sharing FerretDB, with jobs finishing and instances due to be culled. The
 * leader is frozen with SIGSTOP for twice its lease; the other takes the Lease over and does the
 * work; meanwhile a Service of Berth's is deleted behind its back (the frozen node's watch buffers
 * the event). Then the frozen node is woken with SIGCONT. It must write nothing (its apiserver writes
 * after waking: GET /health/metrics), never hold the Lease again, and no job or instance may be
 * finished or culled twice (every such event, counted on the mesh).
 */
describe("pause the leader past its lease", () => {
	const { run, key, uri, namespace } = faultRun("faults-pause");
	const lease = `berth-faults-${run}`;
	const appsNamespace = `faults-apps-${run}`;
	let nodes: { node: NodeProcess; url: string }[] = [];
	let store: Store;
	let events: Awaited<ReturnType<typeof countEvents>>;

	beforeAll(async () => {
		store = await Store.open(uri);
		events = await countEvents(run, ONCE_EVENTS);
		const env = { SERVICES, MONGO_URI: uri, APPS_NAMESPACE: appsNamespace, APPS_IDLE_SECONDS: "4", APPS_QUOTA_CPU: "8", APPS_QUOTA_MEMORY: "8Gi", RESYNC_SECONDS: "2" };
		nodes = await startNodes(run, key, env, [{}, {}]);
	});

	afterAll(async () => {
		for (const { node } of nodes) if (node.proc.pid) process.kill(node.proc.pid, "SIGCONT");
		await Promise.all(nodes.map(n => n.node.kill("SIGKILL")));
		await events?.stop();
		await store?.close();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: appsNamespace }).catch(() => undefined);
	});

	it("the woken node writes nothing, and nothing is finished or culled twice", async () => {
		let holder: string | undefined;
		await waitFor(async () => Boolean((holder = await leaseHolder(lease)) && nodes.some(n => holderIs(holder, n.node))), "a node to hold the controller Lease");
		const leader = nodes.find(n => holderIs(holder, n.node))!;
		const survivor = nodes.find(n => n !== leader)!;
		const call = (path: string, body?: unknown) => request(`${survivor.url}/api/v1/k8s/${path}`, { method: body ? "POST" : "GET", key, body });
		expect((await call("namespaces", { name: namespace, quota: { cpu: "8", memory: "8Gi", pods: 40 } })).status).toBe(201);
		const web = await call("deployments", { name: "web", namespace, image: "nginx", replicas: 1 });
		expect(web.status).toBe(201);

		// Work the leader is about to do: jobs that finish, instances that fall idle 4 s after launch.
		const jobs = await Promise.all(Array.from({ length: JOBS }, () => call("jobs", { namespace, cmd: "echo done" })));
		const apps = await Promise.all(Array.from({ length: INSTANCES }, () => call("applications", { template: "jupyter-notebook" })));
		expect([...jobs, ...apps].map(r => r.status)).toEqual(Array(JOBS + INSTANCES).fill(201));

		const pid = leader.node.proc.pid!;
		const stoppedAt = Date.now();
		process.kill(pid, "SIGSTOP");
		await waitFor(() => processState(pid) === "T", "the leader to stop", 5_000, 20);
		// Behind Berth's back while the leader is frozen: its watch holds the event for when it wakes.
		await kube().delete({ apiVersion: "v1", kind: "Service", name: "web-service", namespace });
		await waitFor(async () => holderIs(await leaseHolder(lease), survivor.node), "the other node to take the Lease", 30_000);
		const takeoverMs = Date.now() - stoppedAt;

		// Done when every job is finished, every instance ended and cleaned up, and the Service is back;
		// the frozen node is woken after twice its lease, done or not.
		const pending = async () => {
			const unfinished = (await store.docs("jobs")).filter(j => !j.finished).length;
			const unculled = (await store.docs("applications")).filter(a => a.cleanup !== "done").length;
			const service = await kube().get({ apiVersion: "v1", kind: "Service", name: "web-service", namespace });
			return unfinished + unculled + (service ? 0 : 1);
		};
		let wokeAt = 0;
		let doneAt = 0;
		let left = Infinity;
		while (!(wokeAt && doneAt) && Date.now() < stoppedAt + 60_000) {
			if (!wokeAt && Date.now() >= stoppedAt + 2 * LEASE_MS) {
				wokeAt = Date.now();
				process.kill(pid, "SIGCONT");
			}
			left = await pending();
			if (!left && !doneAt) doneAt = Date.now();
			await sleep(200);
		}
		const recoveryMs = (doneAt || Date.now()) - stoppedAt;
		// Two more leases for whatever the woken node would still do, watching the Lease meanwhile.
		let leaseBack = 0;
		const settleUntil = Math.max(Date.now(), wokeAt) + 2 * LEASE_MS;
		while (Date.now() < settleUntil) {
			if (holderIs(await leaseHolder(lease), leader.node)) leaseBack++;
			await sleep(200);
		}
		const woken = await nodeMetrics(leader.url, wokeAt);
		const twice = events.twice();
		const lost = left;
		const late = woken.apiserver.writesSince ?? [];
		const writesAfterWaking = late.length;
		report({
			scenario: "pause the leader past its lease",
			recoveryMs,
			lost,
			duplicated: twice.length,
			detail: { pausedMs: wokeAt - stoppedAt, takeoverMs, writesAfterWaking, lateWrites: late.map(w => `${w.verb} ${w.kind} +${w.at - wokeAt} ms`), leaseBackSamples: leaseBack, wokenLeads: woken.leading, jobs: JOBS, instances: INSTANCES, events: Object.fromEntries([...events.counts].map(([e, byId]) => [e, byId.size])), twice },
		});
		expect({ lost, duplicated: twice.length, writesAfterWaking, leaseBack, wokenLeads: woken.leading }).toEqual({ lost: 0, duplicated: 0, writesAfterWaking: 0, leaseBack: 0, wokenLeads: false });
		// The scenario only tests something if the work was done by the node that took over.
		expect(takeoverMs).toBeLessThan(2 * LEASE_MS + 1_000);
		expect(events.counts.get("k8s.jobs.completed")!.size + events.counts.get("k8s.jobs.failed")!.size).toBe(JOBS);
	});
});
