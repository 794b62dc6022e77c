import type { BrokerOptions } from "moleculer";
import { auditMiddleware } from "./lib/audit/middleware";
import { loadConfig } from "./lib/config";
import { metricsOption, registerBerthMetrics } from "./lib/metrics";
import { ErrorTypes } from "./lib/errors";
import { meshMiddleware } from "./lib/mesh/middleware";
import { transporterFor } from "./lib/mesh/transporter";
import { BerthValidator } from "./lib/validator";

const config = loadConfig();

/** Errors worth retrying: the ones Berth marks retryable (cluster unreachable, 429, 5xx). */
const isRetryable = (err: Error): boolean => Boolean((err as Error & { retryable?: boolean }).retryable);
/**
 * The breaker counts server-side failures only; a caller's 4xx says nothing about a node's health,
 * and neither does an unreachable cluster, which every node shares: counting it opened the breaker of
 * the only endpoint there was, and its callers were refused for a while after the cluster came back.
 */
const isServerFailure = (err: Error): boolean => {
	const e = err as Error & { code?: number; type?: string };
	return (e.code ?? 500) >= 500 && e.type !== ErrorTypes.ClusterUnavailable;
};

/**
 * Broker options, all driven by the environment (see lib/config.ts and the README).
 * Without TRANSPORTER every service runs in this one process.
 */
const brokerConfig: BrokerOptions = {
	// Nodes see each other only within one namespace: separate installations can share a NATS server.
	namespace: process.env.BROKER_NAMESPACE || "berth",
	nodeID: config.nodeID,
	// nats://[user:password@|token@]host:4222 as NATS options with its credentials (lib/mesh/transporter.ts).
	transporter: transporterFor(config.transporter),
	// MESH_SECRET seals every packet between nodes; one without it can neither read nor send (lib/mesh).
	middlewares: config.meshSecret ? [meshMiddleware(config.meshSecret)] : [],
	// LOG_FORMAT=json: one object per line ({time, level, message, nodeID, mod, svc, …}) for log collectors.
	logger: { type: "Console", options: { level: config.logLevel as "info", formatter: config.logFormat === "json" ? "jsonext" : "short", colors: config.logFormat === "text" && process.stdout.isTTY } },
	logLevel: config.logLevel as "info",
	requestTimeout: 30_000,
	// A killed node is noticed after heartbeatTimeout; its pending requests are then retried elsewhere.
	heartbeatInterval: Number(process.env.HEARTBEAT_INTERVAL || 2),
	heartbeatTimeout: Number(process.env.HEARTBEAT_TIMEOUT || 6),
	retryPolicy: { enabled: true, retries: 3, delay: 200, maxDelay: 2_000, factor: 2, check: isRetryable },
	circuitBreaker: { enabled: true, threshold: 0.5, minRequestCount: 20, windowTime: 60, halfOpenTime: 10_000, check: isServerFailure },
	registry: { strategy: "RoundRobin", preferLocal: true },
	// A getter: a validator instance belongs to one broker. Unknown fields of strict params are named (lib/validator.ts).
	get validator() {
		return new BerthValidator();
	},
	// METRICS_PORT: Prometheus at /metrics there (lib/metrics.ts). A getter, so that every broker made
	// from this object (tests make many) gets a reporter of its own.
	get metrics() {
		return metricsOption(config);
	},
	tracing: false,
	// The audit trail's recorder, added after the broker's own middlewares so it wraps them: a call
	// the validator or a before-hook refuses is recorded too (lib/audit/middleware.ts).
	created(broker) {
		broker.middlewares.add(auditMiddleware);
		registerBerthMetrics(broker);
	},
};

export = brokerConfig;
