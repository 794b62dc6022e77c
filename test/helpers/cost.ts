import type { Middleware } from "moleculer";
import { apiserverRequests } from "../../lib/k8s";

interface Call {
	action: string;
	requestID?: string;
}

/** Records every action handler a broker runs (name and request id): what a request costs in mesh calls. */
export function callCounter(): { middleware: Middleware; calls: Call[] } {
	const calls: Call[] = [];
	const middleware = {
		name: "CallCounter",
		localAction(next: (ctx: { requestID?: string }) => Promise<unknown>, action: { name: string }) {
			return (ctx: { requestID?: string }) => {
				calls.push({ action: action.name, requestID: ctx.requestID });
				return next(ctx);
			};
		},
	} as unknown as Middleware;
	return { middleware, calls };
}

export interface Cost {
	/** Every action run while `fn` ran, background reconcile passes included. */
	mesh: Record<string, number>;
	/** Only the calls of the request that ran `action` (its own call tree, what the caller waits on). */
	request: Record<string, number>;
	/** lib/k8s's counter while `fn` ran, by verb. */
	apiserver: Record<string, number>;
}

function tally(calls: Call[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const c of [...calls].sort((a, b) => a.action.localeCompare(b.action))) out[c.action] = (out[c.action] ?? 0) + 1;
	return out;
}

/** The mesh calls and apiserver requests `fn` makes, printed as a small table. `action` names the request's root. */
export async function measure(label: string, counter: { calls: Call[] }, action: string, fn: () => Promise<void>): Promise<Cost> {
	counter.calls.length = 0;
	apiserverRequests.reset();
	await fn();
	const calls = [...counter.calls];
	const root = calls.find(c => c.action === action)?.requestID;
	const cost: Cost = { mesh: tally(calls), request: tally(calls.filter(c => root !== undefined && c.requestID === root)), apiserver: Object.fromEntries([...apiserverRequests.byVerb].sort()) };
	const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
	const rows = [
		...Object.entries(cost.mesh).map(([k, n]) => `  mesh       ${k.padEnd(40)} ${String(n).padStart(3)}  (${cost.request[k] ?? 0} in the request)`),
		...Object.entries(cost.apiserver).map(([k, n]) => `  apiserver  ${k.padEnd(40)} ${String(n).padStart(3)}`),
	];
	console.log(`${label}: ${total(cost.mesh)} mesh calls (${total(cost.request)} in the request's own tree), ${total(cost.apiserver)} apiserver requests\n${rows.join("\n")}`);
	return cost;
}

/**
 * The write path of issue #17: a create looks the image and the namespace up once and hands envs
 * its target (no call back into deployments while deployments waits on envs); a scale checks the
 * quota but neither the image, the references nor the apiserver's dry run. Both hold the namespace's
 * admission around their quota check and store (issue #18): one mesh call more than reading the quota.
 */
export function expectLeanWritePath(create: Cost, scale: Cost): void {
	expect(create.request["v1.k8s.images.resolve"] ?? 0).toBeLessThanOrEqual(1);
	expect(create.request["v1.k8s.namespaces.lookup"] ?? 0).toBeLessThanOrEqual(1);
	expect(create.mesh["v1.k8s.deployments.lookup"]).toBeUndefined();
	expect(create.request["v1.k8s.envs.createEnv"]).toBe(1);
	// The quota is read under the namespace's admission: one hold (which answers the quota) and one release.
	for (const cost of [create, scale]) {
		expect(cost.request["v1.k8s.namespaces.holdAdmission"]).toBe(1);
		expect(cost.request["v1.k8s.namespaces.releaseAdmission"]).toBe(1);
		expect(cost.request["v1.k8s.namespaces.resourcequota"]).toBeUndefined();
	}
	expect(scale.request["v1.k8s.images.resolve"]).toBeUndefined();
	expect(scale.request["v1.k8s.images.resolveName"]).toBeUndefined();
	expect(scale.apiserver["dry-run"]).toBeUndefined();
	expect(scale.apiserver.apply).toBeGreaterThan(0);
}
