import { Kinds } from "../../lib/k8s";
import { LABEL_ID, MANAGED_SELECTOR } from "../../lib/manifests/labels";
import { request } from "../helpers/mesh";
import type { NodeProcess } from "../helpers/nodes";
import { auditDeployments, auditTotal, fromMongo } from "./audit";
import { faultRun, kube, nodeMetrics, report, sleep, startNodes, Store } from "./harness";

const SERVICES = "api,health,keys,k8s.namespaces,k8s.images,k8s.deployments,k8s.envs";
const RACES = 4;
/** How long the slow node waits before each apply (BERTH_TEST_APPLY_DELAY_MS). */
const APPLY_DELAY_MS = 3_000;

/**
 * Two nodes over NATS sharing FerretDB; one of them applies slowly (a test-only delay before each
 * apply). Deployments are scaled through the slow node and, while its apply waits, deleted through
 * the other: the delete's teardown runs before the slow apply lands. No resync and no orphan sweep
 * run, so only the tombstone (the slow pass reads the entity again after its applies and deletes
 * what it applied) can clean up. Nothing of the deleted deployments may be left behind.
 */
describe("delete during another node's apply", () => {
	const { run, key, uri, namespace } = faultRun("faults-race");
	let nodes: { node: NodeProcess; url: string }[] = [];
	let store: Store;

	beforeAll(async () => {
		store = await Store.open(uri);
		nodes = await startNodes(run, key, { SERVICES, MONGO_URI: uri, RESYNC_SECONDS: "3600", ORPHAN_SWEEP_SECONDS: "0" }, [{}, { BERTH_TEST_APPLY_DELAY_MS: String(APPLY_DELAY_MS) }]);
	});

	afterAll(async () => {
		await Promise.all(nodes.map(n => n.node.kill("SIGKILL")));
		await store?.close();
	});

	it("leaves no object behind", async () => {
		const [fast, slow] = nodes;
		const via = (node: { url: string }, path: string, method = "GET", body?: unknown) => request(`${node.url}/api/v1/k8s/${path}`, { method, key, body });
		expect((await via(fast, "namespaces", "POST", { name: namespace, quota: { cpu: "16", memory: "16Gi", pods: 50 } })).status).toBe(201);
		const names = [...Array.from({ length: RACES }, (_, i) => `race-${i}`), "kept"];
		const ids: Record<string, string> = {};
		for (const name of names) {
			const res = await via(fast, "deployments", "POST", { name, namespace, image: "nginx", replicas: 1, env: [{ key: "MODE", value: name }] });
			expect(res.status).toBe(201);
			ids[name] = res.body.id;
		}

		// Each race: a scale on the slow node (its pass now waits before applying), a delete on the fast one.
		const scales = names.map(name => via(slow, `deployments/${ids[name]}/scale`, "POST", { replicas: 2 }));
		await sleep(APPLY_DELAY_MS / 4);
		const deletes = await Promise.all(names.filter(n => n !== "kept").map(name => via(fast, `deployments/${ids[name]}`, "DELETE")));
		const deletedAt = Date.now();
		expect(deletes.map(d => d.status)).toEqual(Array(RACES).fill(200));
		const scaled = await Promise.all(scales);
		// The slow node applied after the deletes had torn everything down, and withdrew it again.
		const lateWrites = (await nodeMetrics(slow.url, deletedAt)).apiserver.writesSince?.length ?? 0;

		const raceIds = new Set(names.filter(n => n !== "kept").map(n => ids[n]));
		const leftBehind = async () => {
			const out: string[] = [];
			for (const kind of [Kinds.Deployment, Kinds.Service, Kinds.Ingress, Kinds.ConfigMap, Kinds.Secret, Kinds.ServiceAccount])
				for (const o of await kube().list(kind, { namespace, labelSelector: MANAGED_SELECTOR })) if (raceIds.has(o.metadata?.labels?.[LABEL_ID] ?? "")) out.push(`${kind.kind}/${o.metadata?.name}`);
			return out;
		};
		let left = await leftBehind();
		while (left.length && Date.now() < deletedAt + 30_000) {
			await sleep(250);
			left = await leftBehind();
		}
		const recoveryMs = Date.now() - deletedAt;
		let audit = await auditDeployments(namespace, { kept: 2 }, fromMongo(await store.docs("deployments")));
		while ((audit.lostObjects || audit.lostStatuses) && Date.now() < deletedAt + 60_000) {
			await sleep(250);
			audit = await auditDeployments(namespace, { kept: 2 }, fromMongo(await store.docs("deployments")));
		}
		await sleep(2_000); // a late apply would show up now
		left = await leftBehind();
		audit = await auditDeployments(namespace, { kept: 2 }, fromMongo(await store.docs("deployments")));
		const { lost, duplicated } = auditTotal(audit);
		report({
			scenario: "delete during another node's apply",
			recoveryMs,
			lost,
			duplicated,
			detail: { races: RACES, applyDelayMs: APPLY_DELAY_MS, slowNodeWritesAfterDeletes: lateWrites, leftBehind: left, scaleAnswers: scaled.map(s => s.status).join(" ") },
		});
		expect(audit.problems).toEqual([]);
		expect(left).toEqual([]);
		expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
		// Only a test of the race if the slow node's applies did land after the deletes.
		expect(lateWrites).toBeGreaterThan(0);
	});
});
