/**
 * Long-lived answers (status streams, followed logs) re-check the caller's access while they run:
 * every few seconds (STREAM_RECHECK_SECONDS) and at once when membership or keys change anywhere
 * (`pokeAccessWatches`, called on the `access.changed` and `keys.revoked` broadcasts). When a
 * check says no, or fails with a client error (the entity is gone, the key revoked), the answer ends.
 */
const open = new Set<AccessWatch>();

export class AccessWatch {
	private timer?: NodeJS.Timeout;
	private checking = false;
	private stopped = false;

	/** `check` answers whether the caller still has access; `onLost` ends the answer. */
	constructor(
		private readonly check: () => Promise<boolean>,
		private readonly onLost: (reason: string) => void,
		private readonly everyMs: number,
	) {}

	start(): this {
		open.add(this);
		this.timer = setInterval(() => void this.poke(), this.everyMs);
		this.timer.unref?.();
		return this;
	}

	stop(): void {
		this.stopped = true;
		open.delete(this);
		clearInterval(this.timer);
	}

	/** Checks now (a check already running is not doubled). */
	async poke(): Promise<void> {
		if (this.checking || this.stopped) return;
		this.checking = true;
		let reason: string | undefined;
		try {
			if (!(await this.check())) reason = "access ended";
		} catch (err) {
			const code = (err as { code?: number }).code ?? 500;
			// A client error is an answer (gone, revoked, no longer a member); anything else is a hiccup: check again later.
			if (code >= 400 && code < 500) reason = (err as Error).message || "access ended";
		} finally {
			this.checking = false;
		}
		if (reason && !this.stopped) {
			this.stop();
			this.onLost(reason);
		}
	}
}

/** Re-checks every open answer on this node now (membership or keys changed somewhere). */
export function pokeAccessWatches(): void {
	for (const watch of open) void watch.poke();
}

/** How many answers this node is watching (for tests and metrics). */
export function openAccessWatches(): number {
	return open.size;
}

/** Whether the API key a request came with (if any) still works: revoked or expired keys end what they opened. */
export async function keyStillUsable(ctx: { meta: unknown; call<T, P>(action: string, params: P): Promise<T> }): Promise<boolean> {
	const keyID = (ctx.meta as { keyID?: string } | undefined)?.keyID;
	return !keyID || (await ctx.call<boolean, { id: string }>("v1.keys.usable", { id: keyID }));
}
