import { isPlainAnswer, serializedBody } from "../../lib/api/serialized";
import { Readable } from "node:stream";

describe("the gateway's serialized answers", () => {
	it("serializes an answer object once: the same body and ETag for the same object", () => {
		const page = [{ id: "a", name: "web" }];
		const first = serializedBody(page);
		expect(JSON.parse(first.body.toString("utf8"))).toEqual(page);
		expect(serializedBody(page)).toBe(first);
		expect(first.etag).toMatch(/^W\/"[0-9a-f]+-[\w-]+"$/);
	});

	it("gives equal content the same ETag and other content another", () => {
		expect(serializedBody({ a: 1 }).etag).toBe(serializedBody({ a: 1 }).etag);
		expect(serializedBody({ a: 1 }).etag).not.toBe(serializedBody({ a: 2 }).etag);
		expect(serializedBody({ s: "é" }).body.length).toBe(Buffer.byteLength('{"s":"é"}'));
	});

	it("takes plain objects and arrays only, never Buffers, streams or class instances", () => {
		expect(isPlainAnswer({ a: 1 })).toBe(true);
		expect(isPlainAnswer([1])).toBe(true);
		expect(isPlainAnswer(Object.create(null))).toBe(true);
		expect(isPlainAnswer(Buffer.from("x"))).toBe(false);
		expect(isPlainAnswer(Readable.from(["x"]))).toBe(false);
		expect(isPlainAnswer(new Date())).toBe(false);
		expect(isPlainAnswer("text")).toBe(false);
		expect(isPlainAnswer(null)).toBe(false);
	});
});
