import { QueryCache } from "../../mixins/db.mixin";

describe("the DB mixin's query cache", () => {
	it("keeps an answer until the collection changes", () => {
		const cache = new QueryCache();
		cache.set("k", [1, 2], cache.generation);
		expect(cache.get("k")).toEqual({ value: [1, 2] });
		cache.clear();
		expect(cache.get("k")).toBeUndefined();
	});

	it("does not keep an answer loaded while a write happened", () => {
		const cache = new QueryCache();
		const startedAt = cache.generation;
		cache.clear(); // a write lands while the read is in flight
		cache.set("k", "stale", startedAt);
		expect(cache.get("k")).toBeUndefined();
	});

	it("stays bounded", () => {
		const cache = new QueryCache(2);
		for (const k of ["a", "b", "c"]) cache.set(k, k, cache.generation);
		expect(["a", "b", "c"].filter(k => cache.get(k))).toEqual(["c"]);
	});
});
