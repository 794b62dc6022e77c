/** Waits for the long operations: polling with retries, and when a rollout, a job or a launch is over. */
import { BerthTimeoutError, BerthWaitError, isRetryable } from "./errors";
import type * as T from "./types";

export interface WaitOptions<S> {
	/** Give up after this long. */
	timeoutMs?: number;
	/** Between two polls. Default 1 s. */
	intervalMs?: number;
	signal?: AbortSignal;
	/** Called with every state polled: progress for a spinner. */
	onProgress?: (state: S) => void;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export const sleep = (ms: number, signal?: AbortSignal) =>
	new Promise<void>((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const timer = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});

/**
 * Polls `read` until `done` says it is over. Transient failures (5xx, 429, the network) are polled
 * through, up to five in a row; any other error ends the wait with that error.
 */
export async function poll<S>(read: () => Promise<S>, done: (state: S) => "ok" | "failed" | false, what: string, opts: WaitOptions<S> = {}): Promise<S> {
	const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
	let last: S | undefined;
	let failures = 0;
	for (;;) {
		try {
			last = await read();
			failures = 0;
			opts.onProgress?.(last);
			const verdict = done(last);
			if (verdict === "ok") return last;
			if (verdict === "failed") throw new BerthWaitError(`${what} failed`, last);
		} catch (err) {
			if (!isRetryable(err) || ++failures > 5) throw err;
		}
		if (Date.now() >= deadline) throw new BerthTimeoutError(`${what}: still not done after ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s`, last);
		await sleep(Math.min(opts.intervalMs ?? 1000, Math.max(0, deadline - Date.now())), opts.signal);
	}
}

/** Whether a deployment's rollout is over: every wanted replica updated and ready (or scaled to zero). */
export function rolloutVerdict(status: T.StatusView, expectReplicas?: number): "ok" | "failed" | false {
	if (status.phase === "Failed") return "failed";
	if (expectReplicas !== undefined && status.replicas !== expectReplicas) return false;
	return status.phase === "Running" || status.phase === "Scaled to zero" ? "ok" : false;
}

export function jobVerdict(status: Pick<T.JobStatusView, "phase">): "ok" | "failed" | false {
	if (status.phase === "Complete") return "ok";
	if (status.phase === "Failed" || status.phase === "Deleted") return "failed";
	return false;
}

export function applicationVerdict(app: T.Application): "ok" | "failed" | false {
	if (app.status === "running" && app.location) return "ok";
	if (app.status === "failed" || app.status === "deleted") return "failed";
	return false;
}
