import type { IncomingMessage, ServerResponse } from "node:http";
import { MetricReporters, type BrokerOptions, type ServiceBroker } from "moleculer";
import type { BerthConfig } from "./config";
import { apiserverRequests } from "./k8s";

/**
 * Berth's own metrics beside Moleculer's (requests and latency per action): what its controllers and
 * its apiserver client do. Served by Moleculer's Prometheus reporter on METRICS_PORT at /metrics.
 */
export const BERTH_METRICS = {
	apiserverRequests: "berth.apiserver.requests.total",
	apiserverErrors: "berth.apiserver.errors.total",
	reconcileQueue: "berth.reconcile.queue.depth",
	reconcileSeconds: "berth.reconcile.duration.seconds",
	informerLagSeconds: "berth.informer.lag.seconds",
	resyncSeconds: "berth.reconcile.resync.seconds",
	resyncKeys: "berth.reconcile.resync.keys",
	resyncs: "berth.reconcile.resyncs.total",
} as const;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Registers Berth's metrics on a broker that has metrics on (METRICS_PORT set); a no-op otherwise. */
export function registerBerthMetrics(broker: ServiceBroker): void {
	if (!broker.isMetricsEnabled()) return;
	const m = broker.metrics;
	m.register({ type: "counter", name: BERTH_METRICS.apiserverRequests, labelNames: ["verb"], description: "Requests this node sent to the kube-apiserver" });
	m.register({ type: "counter", name: BERTH_METRICS.apiserverErrors, labelNames: ["verb", "code"], description: "Requests to the kube-apiserver that failed, by the status of the error Berth made of it (503: no answer)" });
	m.register({ type: "gauge", name: BERTH_METRICS.reconcileQueue, labelNames: ["controller"], description: "Keys queued, running or waiting out a backoff in a reconciler" });
	m.register({ type: "histogram", name: BERTH_METRICS.reconcileSeconds, labelNames: ["controller", "outcome"], buckets: SECONDS_BUCKETS, quantiles: [0.5, 0.9, 0.99], unit: "seconds", description: "How long one reconcile pass took" });
	m.register({ type: "gauge", name: BERTH_METRICS.resyncSeconds, labelNames: ["controller"], unit: "seconds", description: "The last full resync: from listing every key until each had been reconciled once" });
	m.register({ type: "gauge", name: BERTH_METRICS.resyncKeys, labelNames: ["controller"], description: "The keys of the last full resync" });
	m.register({ type: "counter", name: BERTH_METRICS.resyncs, labelNames: ["controller"], description: "Full resyncs completed" });
	m.register({ type: "histogram", name: BERTH_METRICS.informerLagSeconds, labelNames: ["kind"], buckets: SECONDS_BUCKETS, quantiles: [0.5, 0.9, 0.99], unit: "seconds", description: "From the apiserver's write of an object (its managedFields time, 1 s resolution) to its watch event reaching Berth" });
}

/** Per broker, what is read at each scrape (the reconcilers' queue depths). */
const scrapeSources = new WeakMap<ServiceBroker, Set<() => void>>();

/** Runs `read` before every scrape of this broker's metrics; returns the function that stops it. */
export function onScrape(broker: ServiceBroker, read: () => void): () => void {
	const sources = scrapeSources.get(broker) ?? new Set();
	scrapeSources.set(broker, sources);
	sources.add(read);
	return () => sources.delete(read);
}

/** Brings the values kept elsewhere (the apiserver counts, the queues) into the registry. */
function refresh(broker: ServiceBroker): void {
	for (const [verb, n] of apiserverRequests.byVerb) broker.metrics.set(BERTH_METRICS.apiserverRequests, n, { verb });
	for (const [key, n] of apiserverRequests.errors) {
		const [verb, code] = key.split(" ");
		broker.metrics.set(BERTH_METRICS.apiserverErrors, n, { verb, code });
	}
	for (const read of scrapeSources.get(broker) ?? []) read();
}

export function setQueueDepth(broker: ServiceBroker, controller: string, depth: number): void {
	if (broker.isMetricsEnabled()) broker.metrics.set(BERTH_METRICS.reconcileQueue, depth, { controller });
}

export function observeReconcile(broker: ServiceBroker, controller: string, seconds: number, ok: boolean): void {
	if (broker.isMetricsEnabled()) broker.metrics.observe(BERTH_METRICS.reconcileSeconds, seconds, { controller, outcome: ok ? "ok" : "error" });
}

export function observeResync(broker: ServiceBroker, controller: string, keys: number, seconds: number): void {
	if (!broker.isMetricsEnabled()) return;
	broker.metrics.set(BERTH_METRICS.resyncSeconds, seconds, { controller });
	broker.metrics.set(BERTH_METRICS.resyncKeys, keys, { controller });
	broker.metrics.increment(BERTH_METRICS.resyncs, { controller });
}

/** `writtenAt`: when the apiserver wrote the object the event is about (lib/k8s/informer.ts). */
export function observeInformerLag(broker: ServiceBroker, kind: string, writtenAt: number | undefined, now = Date.now()): void {
	if (writtenAt !== undefined && broker.isMetricsEnabled()) broker.metrics.observe(BERTH_METRICS.informerLagSeconds, Math.max(0, (now - writtenAt) / 1000), { kind });
}

/** Moleculer's Prometheus reporter, reading Berth's kept values into the registry before each scrape. */
class BerthPrometheusReporter extends MetricReporters.Prometheus {
	override handler(req: IncomingMessage, res: ServerResponse): void {
		refresh((this as unknown as { registry: { broker: ServiceBroker } }).registry.broker);
		(MetricReporters.Prometheus.prototype as unknown as { handler(req: IncomingMessage, res: ServerResponse): void }).handler.call(this, req, res);
	}
}

/**
 * The broker's metrics option: off without METRICS_PORT; otherwise Moleculer's metrics with the
 * Prometheus reporter at http://HOST:METRICS_PORT/metrics. A fresh reporter per broker (each listens).
 */
export function metricsOption(config: Pick<BerthConfig, "metricsPort" | "host">): BrokerOptions["metrics"] {
	if (config.metricsPort === undefined) return false;
	return { enabled: true, reporter: [new BerthPrometheusReporter({ port: config.metricsPort, host: config.host, path: "/metrics" } as never) as never] };
}
