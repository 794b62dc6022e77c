import * as fs from "node:fs/promises";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type mongoose from "mongoose";
import { readinessView, type Liveness, type NodeMetrics, type NodeView, type Readiness, type ReadinessCheck, type ServingCheckName } from "../lib/api/health";
import { loadConfig } from "../lib/config";
import { apiserverRequests, getKubeClient } from "../lib/k8s";
import { currentLeaderElector } from "../lib/leader";
import { loadMongoose } from "../lib/mongo";
import { isAdmin, type CallerMeta } from "../mixins/membership.mixin";

type Check = ReadinessCheck;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)));
	try {
		return await Promise.race([p, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

let mongoProbe: mongoose.Connection | undefined;

async function checkDb(): Promise<Check> {
	const config = loadConfig();
	if (config.mongoUri) {
		mongoProbe ??= loadMongoose().createConnection(config.mongoUri, { serverSelectionTimeoutMS: 2000 });
		await withTimeout(mongoProbe.asPromise(), 2500, "MongoDB connection");
		await withTimeout(mongoProbe.db!.admin().ping(), 2000, "MongoDB ping");
		return { ok: true, detail: "mongodb" };
	}
	if (process.env.DATA_DIR === ":memory:") return { ok: true, detail: "nedb in memory" };
	await fs.mkdir(config.dataDir, { recursive: true });
	await fs.access(config.dataDir, fs.constants.W_OK);
	return { ok: true, detail: `nedb in ${config.dataDir}` };
}

async function checkCluster(): Promise<Check> {
	const version = await withTimeout(getKubeClient().version(), 3000, "Kubernetes apiserver");
	return { ok: true, detail: `kube-apiserver ${version}` };
}

async function settle(check: () => Promise<Check>): Promise<Check> {
	try {
		return await check();
	} catch (err) {
		return { ok: false, detail: (err as Error).message };
	}
}

/** What this node needs to serve, the apiserver aside: its services started, the transporter, the database. */
async function servingChecks(broker: ServiceBroker): Promise<Record<ServingCheckName, Check>> {
	// The gateway listens before every service has started (and so before their routes exist).
	const services: Check = broker.started ? { ok: true, detail: "started" } : { ok: false, detail: "starting" };
	const transit = broker.transit;
	const transporter: Check = transit ? { ok: Boolean(transit.connected), detail: transit.connected ? "connected" : "disconnected" } : { ok: true, detail: "in-process" };
	return { services, db: await settle(checkDb), transporter };
}

/**
 * Liveness and readiness: GET /, /health/live and /health/ready through the gateway; /health/serving
 * is readiness without the apiserver, for a Service's readiness probe (an apiserver blip must not
 * take every replica out of it).
 */
const HealthService: ServiceSchema = {
	name: "health",
	actions: {
		live: {
			public: true,
			handler(): Liveness {
				return { status: "alive" };
			},
		},
		/** Which node answered: lets tests and operators see calls balance across nodes. */
		node: {
			visibility: "public",
			public: true,
			handler(this: { broker: { nodeID: string } }): NodeView {
				return { nodeID: this.broker.nodeID };
			},
		},
		/** Whether this node leads, and what it sent to the apiserver (GET /health/metrics). */
		metrics: {
			public: true,
			params: { since: { type: "number", optional: true, convert: true } },
			handler(this: { broker: { nodeID: string } }, ctx: Context<{ since?: number }>): NodeMetrics {
				const elector = process.env.LEADER_ELECTION === "false" ? undefined : currentLeaderElector();
				const since = ctx.params.since;
				return {
					nodeID: this.broker.nodeID,
					leading: elector ? elector.isLeader : null,
					leadership: elector?.terms ?? [],
					apiserver: {
						byVerb: Object.fromEntries(apiserverRequests.byVerb),
						writes: apiserverRequests.writes.count,
						...(since === undefined ? {} : { writesSince: apiserverRequests.writesSince(since) }),
					},
				};
			},
		},
		serving: {
			public: true,
			async handler(this: { broker: ServiceBroker }, ctx: Context<unknown, { $statusCode?: number }>): Promise<Readiness<ServingCheckName>> {
				const view = readinessView(await servingChecks(this.broker), false);
				if (view.status !== "ready") ctx.meta.$statusCode = 503;
				return view;
			},
		},
		ready: {
			public: true,
			async handler(ctx: Context<unknown, CallerMeta & { $statusCode?: number }>): Promise<Readiness> {
				const [serving, cluster] = await Promise.all([servingChecks(this.broker), settle(checkCluster)]);
				const view = readinessView({ ...serving, cluster }, isAdmin(ctx.meta));
				if (view.status !== "ready") ctx.meta.$statusCode = 503;
				return view;
			},
		},
	},
	async stopped() {
		await mongoProbe?.close().catch(() => undefined);
		mongoProbe = undefined;
	},
};

export default HealthService;
