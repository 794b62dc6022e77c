import { checkSameNamespace, entityIdFor, hasPayload, namespaceFor, recordOf } from "../../lib/specs/external";

describe("lib/specs/external: the KITeGG routes' caller-chosen ids", () => {
	it("tells a PUT with the seed's record from one without a body", () => {
		expect(hasPayload({ id: "x" })).toBe(false);
		expect(hasPayload({ id: "x", namespace: "ns" })).toBe(false);
		expect(hasPayload({ id: "x", name: "n" })).toBe(true);
		expect(hasPayload({ id: "x", exposed_port: 80 })).toBe(true);
	});

	it("takes the whole record: the exposure left out is cleared; name and deployment are required", () => {
		expect(recordOf({ id: "x", name: "n", deployment: "d" })).toEqual({ name: "n", deployment: "d", exposed_service: null, exposed_port: null });
		expect(() => recordOf({ id: "x", exposed_port: 80 })).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "name" }), expect.objectContaining({ field: "deployment" })] }));
	});

	it("places a new record by ?namespace=, else by a key confined to exactly one namespace", () => {
		expect(namespaceFor("team", ["other"])).toBe("team");
		expect(namespaceFor(undefined, ["only"])).toBe("only");
		for (const confined of [undefined, [], ["a", "b"]]) expect(() => namespaceFor(undefined, confined)).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "namespace", type: "required" })] }));
	});

	it("keeps a record in its namespace", () => {
		const doc = { namespace: "6b12", namespaceName: "team" };
		expect(() => checkSameNamespace(undefined, doc)).not.toThrow();
		expect(() => checkSameNamespace("team", doc)).not.toThrow();
		expect(() => checkSameNamespace("6b12", doc)).not.toThrow();
		expect(() => checkSameNamespace("elsewhere", doc)).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "namespace", type: "immutable" })] }));
	});

	it("resolves an id by externalId first, else takes it as an entity id", async () => {
		expect(await entityIdFor("llp-1", async id => (id === "llp-1" ? "e1" : undefined))).toBe("e1");
		expect(await entityIdFor("e2", async () => undefined)).toBe("e2");
	});
});
