import { hashKey, issueKey, keyFromHeaders, prefixOf } from "../../lib/keys";
import { isKeyUsable } from "../../services/keys.service";

describe("API keys", () => {
	it("issues keys whose prefix finds them and whose hash proves them", () => {
		const issued = issueKey();
		expect(prefixOf(issued.key)).toBe(issued.prefix);
		expect(issued.hash).toBe(hashKey(issued.key));
		expect(issued.hash).not.toContain(issued.key);
	});

	it.each([
		[{ authorization: "Bearer abc" }, "abc"],
		[{ authorization: "abc" }, "abc"],
		[{ "x-api-key": "abc" }, "abc"],
		[{}, undefined],
	])("reads the key from %j", (headers, expected) => {
		expect(keyFromHeaders(headers)).toBe(expected);
	});

	it("refuses revoked and expired keys", () => {
		expect(isKeyUsable({})).toBe(true);
		expect(isKeyUsable({ revokedAt: new Date().toISOString() })).toBe(false);
		expect(isKeyUsable({ expiresAt: new Date(Date.now() - 1000).toISOString() })).toBe(false);
		expect(isKeyUsable({ expiresAt: new Date(Date.now() + 60_000).toISOString() })).toBe(true);
	});
});
