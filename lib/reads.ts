/**
 * Bounds on what one read may cost this node: how many bytes of pod logs one answer may hold
 * (LOG_LIMIT_BYTES) and how many streams (followed logs, status streams) one API key may keep
 * open at once (MAX_STREAMS_PER_KEY).
 */
import { Errors } from "moleculer";
import { loadConfig } from "./config";
import { ErrorTypes } from "./errors";

/**
 * The `limitBytes` of each pod's log read when `pods` logs make one answer of at most `total`
 * bytes: an even share, at least 1 byte (the apiserver refuses 0).
 */
export function logLimitPerPod(total: number, pods: number): number {
	return Math.max(1, Math.floor(total / Math.max(1, pods)));
}

/** Who a stream counts against: the API key, else (a keyless compat caller) the user. */
export function streamOwner(meta: { keyID?: string; userID?: string } | undefined): string {
	return meta?.keyID ? `key:${meta.keyID}` : `user:${meta?.userID ?? "anonymous"}`;
}

/** Open streams per owner on this node; a slot is taken before a stream opens and given back once when it closes. */
export class StreamSlots {
	private readonly open = new Map<string, number>();

	constructor(private readonly limit: () => number) {}

	/** Takes a slot for `owner`, or throws 429 TOO_MANY_STREAMS; the returned function gives it back (once, however often called). */
	acquire(owner: string): () => void {
		const used = this.open.get(owner) ?? 0;
		const limit = this.limit();
		if (used >= limit)
			throw new Errors.MoleculerClientError(`This API key already has ${limit} open streams (MAX_STREAMS_PER_KEY); close one and retry`, 429, ErrorTypes.TooManyStreams, { limit });
		this.open.set(owner, used + 1);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const left = (this.open.get(owner) ?? 1) - 1;
			if (left > 0) this.open.set(owner, left);
			else this.open.delete(owner);
		};
	}

	/** Streams `owner` has open now. */
	count(owner: string): number {
		return this.open.get(owner) ?? 0;
	}
}

/** This node's stream slots: the status streams and the followed logs share them. */
export const streamSlots = new StreamSlots(() => loadConfig().maxStreamsPerKey);
