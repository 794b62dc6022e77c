/** An error answer of the gateway: `{name, message, code, type, data}` (docs/api/README.md, "Errors"). */
export class BerthApiError extends Error {
	override readonly name = "BerthApiError";

	constructor(
		/** The HTTP status. */
		readonly status: number,
		/** The stable constant to branch on: `NOT_FOUND`, `VALIDATION_ERROR`, `CONFLICT`, ... */
		readonly type: string,
		message: string,
		readonly data?: unknown,
		/** `METHOD path` of the request that failed. */
		readonly request?: string,
		/** Seconds the gateway asked to wait (429). */
		readonly retryAfter?: number,
	) {
		super(message);
	}

	/** 5xx and 429: worth trying again later. */
	get retryable(): boolean {
		return this.status >= 500 || this.status === 429;
	}
}

/** The gateway could not be reached at all (refused, reset, DNS, timed out). */
export class BerthConnectionError extends Error {
	override readonly name = "BerthConnectionError";

	constructor(
		readonly url: string,
		override readonly cause: unknown,
	) {
		super(`Cannot reach Berth at ${url}: ${describeCause(cause)}`);
	}

	get retryable(): boolean {
		return true;
	}
}

/** A wait (rollout, job, application) that ran out of time before reaching an end. */
export class BerthTimeoutError extends Error {
	override readonly name = "BerthTimeoutError";

	constructor(
		message: string,
		/** The last state seen. */
		readonly last?: unknown,
	) {
		super(message);
	}
}

function describeCause(cause: unknown): string {
	const err = cause as { code?: string; message?: string; cause?: { code?: string; message?: string } };
	const inner = err?.cause;
	if (inner?.message) return inner.message;
	if (inner?.code) return inner.code;
	if (err?.code) return err.code;
	return err?.message ?? String(cause);
}

/** Whether an error is worth retrying: a transient gateway or network failure. */
export function isRetryable(err: unknown): boolean {
	return (err instanceof BerthApiError || err instanceof BerthConnectionError) && err.retryable;
}

/** A wait that reached an end other than the one hoped for: a failed rollout, job or application. */
export class BerthWaitError extends Error {
	override readonly name = "BerthWaitError";

	constructor(
		message: string,
		/** The final state seen. */
		readonly last?: unknown,
	) {
		super(message);
	}
}
