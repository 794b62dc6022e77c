/** A fixed-window counter per key: small, in-memory, per gateway node. */
export class FixedWindowLimiter {
	private windowStart = Date.now();
	private counts = new Map<string, number>();

	constructor(
		readonly limit: number,
		readonly windowMs: number,
		private readonly now: () => number = Date.now,
	) {}

	/** Counts one hit; returns 0 when allowed, else the seconds until the window resets. */
	hit(key: string): number {
		const t = this.now();
		if (t - this.windowStart >= this.windowMs) {
			this.windowStart = t;
			this.counts.clear();
		}
		const n = (this.counts.get(key) ?? 0) + 1;
		this.counts.set(key, n);
		return n > this.limit ? Math.max(1, Math.ceil((this.windowStart + this.windowMs - t) / 1000)) : 0;
	}
}
