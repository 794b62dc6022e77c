/** A job's logs: read from its pods while it runs, captured once it has finished. */
import { isNotFound, Kinds, type KubeClient, type V1Pod } from "../k8s";
import { JOB_CONTAINER, jobPodSelector } from "../manifests/job";
import { loadConfig } from "../config";
import { logLimitPerPod } from "../reads";

/** Cuts captured logs to their last `max` bytes, at a line start when one is near. */
export function tailBytes(logs: string, max: number): string {
	const buf = Buffer.from(logs);
	if (buf.length <= max) return logs;
	let tail = buf.subarray(buf.length - max).toString();
	const nl = tail.indexOf("\n");
	if (nl >= 0 && nl < 1024) tail = tail.slice(nl + 1);
	return `[berth: earlier output truncated, ${buf.length} bytes in all]\n${tail}`;
}

/**
 * The logs of every pod of a Job, oldest pod first; with retries, each attempt under a header.
 * Of each pod's `container` (a job's by default). A pod whose container never started has no logs and is skipped. Each pod's read is limited to
 * its share of LOG_LIMIT_BYTES (the apiserver sends a log's beginning), then the whole is cut to
 * its last `maxBytes`.
 */
export async function readJobLogs(kube: KubeClient, namespace: string, name: string, maxBytes: number, container = JOB_CONTAINER): Promise<string> {
	const pods = (await kube.list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(name) })).sort(
		(a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime(),
	);
	const limitBytes = logLimitPerPod(loadConfig().logLimitBytes, pods.length);
	const parts: { pod: string; logs: string }[] = [];
	for (const pod of pods) {
		const podName = pod.metadata?.name as string;
		try {
			parts.push({ pod: podName, logs: await kube.podLogs(namespace, podName, { container, limitBytes }) });
		} catch (err) {
			if (isNotFound(err) || (err as { code?: number }).code === 422) continue;
			throw err;
		}
	}
	const logs = parts.length === 1 ? parts[0].logs : parts.map(p => `==> pod ${p.pod} <==\n${p.logs}`).join("\n");
	return tailBytes(logs, maxBytes);
}
