import { FixedWindowLimiter } from "../../lib/rate-limit";

describe("the fixed-window rate limiter", () => {
	let now = 0;
	const limiter = () => new FixedWindowLimiter(3, 60_000, () => now);

	beforeEach(() => {
		now = 1_000_000;
	});

	it("allows the limit, then refuses with the seconds left in the window", () => {
		const l = limiter();
		expect([1, 2, 3].map(() => l.hit("k").allowed)).toEqual([true, true, true]);
		now += 15_000;
		expect(l.hit("k")).toEqual({ allowed: false, remaining: 0, retryAfter: 45 });
	});

	it("counts each key apart", () => {
		const l = limiter();
		for (let i = 0; i < 3; i++) l.hit("a");
		expect(l.hit("a").allowed).toBe(false);
		expect(l.hit("b")).toEqual({ allowed: true, remaining: 2, retryAfter: 0 });
	});

	it("starts afresh when the window ends", () => {
		const l = limiter();
		for (let i = 0; i < 4; i++) l.hit("a");
		now += 60_000;
		expect(l.hit("a").allowed).toBe(true);
	});

	it("never tells a refused caller to retry in less than a second", () => {
		const l = limiter();
		for (let i = 0; i < 3; i++) l.hit("a");
		now += 59_999;
		expect(l.hit("a").retryAfter).toBe(1);
	});
});
