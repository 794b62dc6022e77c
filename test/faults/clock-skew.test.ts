import { freePort, startNode, type NodeProcess } from "../helpers/nodes";
import { adminKey, holderIs, leaseHolder, nodeEnv, nodeMetrics, report, runId, sleep, waitFor, waitReady, type NodeMetricsView } from "./harness";

/** Only the elector matters here: the namespaces service runs a controller, so each node campaigns. */
const SERVICES = "api,health,keys,k8s.namespaces";
const LEASE_MS = 3_000;
const HOUR_MS = 3_600_000;

interface Term {
	node: string;
	from: number;
	to: number;
}

/**
 * Two nodes campaign for one Lease; one of them has its elector's clock an hour ahead (a test-only
 * injected clock, BERTH_TEST_CLOCK_SKEW_MS), so every renewTime it writes is an hour off. The skewed
 * node leads first and is killed: the other must take over within a lease, not an hour later. The
 * skewed node comes back and must not take the Lease from the leader it finds (its clock says the
 * leader's renewTime is an hour old). Then the leader is killed, and the skewed node takes over.
 * Exactly one leader at a time: the nodes' own records of when they led never overlap.
 */
describe("clock skew", () => {
	const run = runId();
	const key = adminKey(run);
	const lease = `berth-faults-${run}`;
	type Entry = { node: NodeProcess; url: string; last?: NodeMetricsView; killedAt?: number };
	const nodes: Entry[] = [];

	const start = async (name: string, skewMs: number) => {
		const port = await freePort();
		const node = startNode(`${name}-${run}`, nodeEnv(run, { SERVICES, PORT: String(port), BERTH_ADMIN_KEY: key, BERTH_TEST_CLOCK_SKEW_MS: String(skewMs) }));
		const entry: Entry = { node, url: `http://127.0.0.1:${port}` };
		nodes.push(entry);
		await waitReady(node, entry.url, key, ["k8s/namespaces"]);
		return entry;
	};
	/** Reads every live node's terms (a killed node's stay as last read). */
	const sample = async () => {
		for (const n of nodes) if (!n.killedAt) n.last = await nodeMetrics(n.url);
	};
	const kill = async (n: Entry) => {
		await sample();
		n.killedAt = Date.now();
		await n.node.kill("SIGKILL");
	};
	const takeover = async (by: Entry, since: number) => {
		await waitFor(async () => holderIs(await leaseHolder(lease), by.node), `${by.node.name} to take the Lease`, 30_000, 100);
		return Date.now() - since;
	};

	afterAll(async () => {
		await Promise.all(nodes.map(n => n.node.kill("SIGKILL")));
	});

	it("keeps exactly one leader at a time", async () => {
		const ahead = await start("ahead", HOUR_MS);
		await waitFor(async () => holderIs(await leaseHolder(lease), ahead.node), "the skewed node to lead", 30_000);
		const honest = await start("honest", 0);
		await sleep(LEASE_MS);
		expect(holderIs(await leaseHolder(lease), ahead.node)).toBe(true);

		await kill(ahead);
		const firstTakeoverMs = await takeover(honest, ahead.killedAt!);
		const back = await start("ahead-again", HOUR_MS);
		// Three leases of a leader whose renewTime the skewed node's clock calls an hour old.
		const stolen: number[] = [];
		for (const until = Date.now() + 3 * LEASE_MS; Date.now() < until; await sleep(200)) if (!holderIs(await leaseHolder(lease), honest.node)) stolen.push(Date.now());
		await kill(honest);
		const secondTakeoverMs = await takeover(back, honest.killedAt!);
		await sleep(LEASE_MS);
		await sample();

		// Every node's terms, a killed node's open term ending at its kill.
		const terms: Term[] = nodes.flatMap(n => (n.last?.leadership ?? []).map(t => ({ node: n.node.name, from: t.from, to: t.to ?? n.killedAt ?? Date.now() })));
		const overlaps = terms.flatMap((a, i) => terms.slice(i + 1).filter(b => b.node !== a.node && a.from < b.to && b.from < a.to).map(b => `${a.node} and ${b.node} for ${Math.min(a.to, b.to) - Math.max(a.from, b.from)} ms`));
		const slow = [firstTakeoverMs, secondTakeoverMs].filter(ms => ms > 2 * LEASE_MS).length;
		report({
			scenario: "clock skew (one node an hour ahead)",
			recoveryMs: Math.max(firstTakeoverMs, secondTakeoverMs),
			lost: slow,
			duplicated: overlaps.length + stolen.length,
			detail: { skewMs: HOUR_MS, firstTakeoverMs, secondTakeoverMs, terms: terms.length, overlaps, stolenSamples: stolen.length },
		});
		expect({ overlaps, stolen: stolen.length, slow }).toEqual({ overlaps: [], stolen: 0, slow: 0 });
		expect(terms.map(t => t.node)).toEqual(expect.arrayContaining([ahead.node.name, honest.node.name, back.node.name]));
	});
});
