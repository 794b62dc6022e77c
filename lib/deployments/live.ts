/**
 * What a deployment looks like in the cluster right now: status, pods, events, logs (once or
 * followed) and usage from the metrics API. Reads only; the apiserver client is passed in.
 */
import { PassThrough, Writable, type Readable } from "node:stream";
import type { EventView, LogsParams, PodLogs, StatusView, TopView } from "../api/deployments";
import { invalidField, notFound } from "../errors";
import { Kinds, type CoreV1Event, type KubeClient, type V1Deployment, type V1Pod, type V1ReplicaSet, type V1Service } from "../k8s";
import { deploymentStatus, objectNames, type DeploymentEntity } from "../manifests/deployment";
import { effectiveHosts } from "../manifests/ingress";
import { assignedNodePorts } from "../manifests/joint";
import { LABEL_ID } from "../manifests/labels";
import { bytes, cpuMillis } from "../quantity";
import { withNodePorts } from "./checks";
import { AccessWatch } from "../access-watch";
import { loadConfig } from "../config";
import { logLimitPerPod, streamSlots } from "../reads";

/** The deployment's pods that are not going away, by name. */
export async function podsOf(kube: KubeClient, doc: DeploymentEntity): Promise<V1Pod[]> {
	const pods = await kube.list<V1Pod>(Kinds.Pod, { namespace: doc.namespaceName, labelSelector: `${LABEL_ID}=${doc.id}` });
	return pods.filter(p => !p.metadata?.deletionTimestamp).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

export async function liveStatus(kube: KubeClient, baseDomain: string, doc: DeploymentEntity): Promise<StatusView> {
	const names = objectNames(doc);
	const [live, service] = await Promise.all([
		kube.get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: names.deployment, namespace: doc.namespaceName }),
		kube.get<V1Service>({ apiVersion: "v1", kind: "Service", name: names.service, namespace: doc.namespaceName }),
	]);
	const applied = doc.status?.conditions.find(c => c.type === "Applied");
	const status = withNodePorts(deploymentStatus(live, { ok: applied?.status !== "False", reason: applied?.reason, message: applied?.message }, doc.status?.conditions, new Date().toISOString()), assignedNodePorts(service));
	return { id: doc.id, name: doc.name, namespace: doc.namespaceName, hosts: effectiveHosts(doc, baseDomain), ...status };
}

/** The events of the deployment's objects, its pods and ReplicaSets, oldest first. */
export async function deploymentEvents(kube: KubeClient, doc: DeploymentEntity): Promise<EventView[]> {
	const names = objectNames(doc);
	const [pods, replicaSets, events] = await Promise.all([
		podsOf(kube, doc),
		kube.list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace: doc.namespaceName, labelSelector: `${LABEL_ID}=${doc.id}` }),
		kube.list<CoreV1Event>(Kinds.Event, { namespace: doc.namespaceName }),
	]);
	const objects = new Set<string>([
		`Deployment/${names.deployment}`,
		`Service/${names.service}`,
		`Ingress/${names.ingress}`,
		...(names.configMap ? [`ConfigMap/${names.configMap}`] : []),
		...pods.map(p => `Pod/${p.metadata?.name}`),
		...replicaSets.map(r => `ReplicaSet/${r.metadata?.name}`),
	]);
	const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
	const iso = (t: Date | string | undefined) => (t ? new Date(t).toISOString() : undefined);
	return events
		.filter(e => objects.has(`${e.involvedObject?.kind}/${e.involvedObject?.name}`))
		.sort((a, b) => time(a) - time(b))
		.map(e => ({
			type: e.type,
			reason: e.reason,
			message: e.message,
			object: { kind: e.involvedObject?.kind, name: e.involvedObject?.name },
			count: e.count ?? 1,
			firstTimestamp: iso(e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp),
			lastTimestamp: iso(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp),
		}));
}

/** Usage of the deployment's pods: cpu in millicores, memory in bytes (501 without a metrics API). */
export async function deploymentTop(kube: KubeClient, doc: DeploymentEntity): Promise<TopView> {
	const pods = (await kube.podMetrics(doc.namespaceName, `${LABEL_ID}=${doc.id}`)).map(item => ({
		pod: item.metadata?.name ?? "",
		containers: (item.containers ?? []).map(c => ({ name: c.name, cpu: cpuMillis(c.usage?.cpu ?? "0"), memory: bytes(c.usage?.memory ?? "0") })),
	}));
	const total = { cpu: 0, memory: 0 };
	for (const p of pods) for (const c of p.containers) (total.cpu += c.cpu), (total.memory += c.memory);
	return { pods, total };
}

/**
 * The pods whose log a logs request reads (`pod` names one) and their container: 422 for a
 * container the pods do not have, 404 for a pod that is not the deployment's. Pods that have not
 * started the container have no log to read.
 */
export async function logPods(kube: KubeClient, doc: DeploymentEntity, params: Pick<LogsParams, "pod" | "container">): Promise<{ pods: V1Pod[]; container: string }> {
	const own = objectNames(doc).container;
	const container = params.container ?? own;
	if (container !== own) throw invalidField("container", `The pods of this deployment have one container, "${own}"`, params.container);
	let pods = await podsOf(kube, doc);
	if (params.pod) {
		pods = pods.filter(p => p.metadata?.name === params.pod);
		if (!pods.length) throw notFound("Pod", params.pod);
	}
	return { pods: pods.filter(p => p.status?.containerStatuses?.some(c => c.name === container && (c.state?.running || c.state?.terminated))), container };
}

/** The pods' logs, at most LOG_LIMIT_BYTES in all: each pod's read is limited to its share. */
export async function readLogs(kube: KubeClient, doc: DeploymentEntity, pods: V1Pod[], opts: { container: string; tail?: number; since?: number }): Promise<PodLogs[]> {
	const limitBytes = logLimitPerPod(loadConfig().logLimitBytes, pods.length);
	return Promise.all(
		pods.map(async p => ({ pod: p.metadata?.name as string, container: opts.container, log: await kube.podLogs(doc.namespaceName, p.metadata?.name as string, { container: opts.container, tailLines: opts.tail, sinceSeconds: opts.since, limitBytes }) })),
	);
}

/**
 * Splits a pod's log stream into lines, each prefixed, written to `out`. While `out` is full (the
 * reader is slow), a write is not done until it drains: the apiserver's stream piped in here waits,
 * so a slow reader holds no more than the streams' buffers.
 */
function lineSink(out: PassThrough, prefix: string, isClosed: () => boolean, onEnd: () => void): Writable {
	let partial = "";
	return new Writable({
		write(chunk: Buffer, _enc, done) {
			if (isClosed()) return done();
			const lines = (partial + chunk.toString("utf8")).split("\n");
			partial = lines.pop() ?? "";
			if (!lines.length || out.write(lines.map(l => `${prefix}${l}\n`).join(""))) return done();
			const resume = () => {
				out.off("drain", resume).off("close", resume);
				done();
			};
			out.on("drain", resume).on("close", resume);
		},
		final(done) {
			if (partial && !isClosed()) out.write(`${prefix}${partial}\n`);
			onEnd();
			done();
		},
	});
}

/**
 * The pods' logs as one text stream, each line prefixed with its pod when there are several.
 * Ends when every pod's log ends (or has sent LOG_LIMIT_BYTES), after maxSeconds, when the reader
 * goes away, or when `recheck` says the caller's access is gone (checked every `recheckMs` and on
 * every access change). It holds one of `owner`'s stream slots while open (429 when none is free).
 */
export async function followLogs(kube: KubeClient, doc: Pick<DeploymentEntity, "namespaceName">, pods: V1Pod[], params: LogsParams & { since?: number }, access?: { recheck: () => Promise<boolean>; recheckMs: number; owner: string }): Promise<Readable> {
	const release = access ? streamSlots.acquire(access.owner) : () => {};
	const limitBytes = loadConfig().logLimitBytes;
	const out = new PassThrough();
	// Each pod's sink waits on `out` (drain, close) while the reader is slow.
	out.setMaxListeners(2 * pods.length + 10);
	const controllers: AbortController[] = [];
	let open = pods.length;
	let closed = false;
	const watch = access && new AccessWatch(access.recheck, reason => {
		if (!closed) out.write(`[berth: access ended: ${reason}]\n`);
		finish();
	}, access.recheckMs).start();
	const finish = () => {
		if (closed) return;
		closed = true;
		release();
		watch?.stop();
		clearTimeout(timer);
		for (const c of controllers) c.abort();
		out.end();
	};
	const timer = setTimeout(finish, (params.maxSeconds ?? 3600) * 1000);
	timer.unref?.();
	out.on("close", finish);
	if (!pods.length) {
		out.write("No running pods to follow\n");
		finish();
		return out;
	}
	const ended = () => {
		if (--open === 0) finish();
	};
	for (const pod of pods) {
		const name = pod.metadata?.name as string;
		const prefix = pods.length > 1 ? `[${name}] ` : "";
		const sink = lineSink(out, prefix, () => closed, ended);
		// client-node pipes the response into `sink` but leaves the response stream without an error
		// listener: aborting it (when the reader goes away) would otherwise be an uncaught error.
		sink.on("pipe", (source: Readable) => source.on("error", () => sink.end()));
		try {
			controllers.push(await kube.followLogs(doc.namespaceName, name, sink, { container: params.container, tailLines: params.tail, sinceSeconds: params.since, limitBytes }));
		} catch (err) {
			out.write(`${prefix}[berth: cannot follow ${name}: ${(err as Error).message}]\n`);
			ended();
		}
	}
	return out;
}
