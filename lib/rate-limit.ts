export interface RateDecision {
	allowed: boolean;
	/** Requests left in the current window (0 once over). */
	remaining: number;
	/** Seconds until the window resets; 0 while allowed. */
	retryAfter: number;
}

/**
 * A fixed-window counter per subject (an API key, or a client address): small, in-memory, per
 * gateway node. Every subject shares one window, so the map is dropped whole when it ends and
 * never grows past one window's worth of subjects.
 */
export class FixedWindowLimiter {
	private windowStart: number;
	private counts = new Map<string, number>();

	constructor(
		readonly limit: number,
		readonly windowMs: number,
		private readonly now: () => number = Date.now,
	) {
		this.windowStart = now();
	}

	/** Counts one request of `subject` and says whether it may go on. */
	hit(subject: string): RateDecision {
		const t = this.now();
		if (t - this.windowStart >= this.windowMs) {
			this.windowStart = t;
			this.counts.clear();
		}
		const n = (this.counts.get(subject) ?? 0) + 1;
		this.counts.set(subject, n);
		if (n <= this.limit) return { allowed: true, remaining: this.limit - n, retryAfter: 0 };
		return { allowed: false, remaining: 0, retryAfter: Math.max(1, Math.ceil((this.windowStart + this.windowMs - t) / 1000)) };
	}
}
