import { clientAddress, trustedProxies } from "../../lib/client-address";

describe("the client's address behind trusted proxies", () => {
	const proxies = trustedProxies(["10.0.0.0/8", "127.0.0.1", "fd00::/8"]);

	it("believes X-Forwarded-For only from a trusted peer", () => {
		expect(clientAddress("10.1.2.3", "203.0.113.7", proxies)).toBe("203.0.113.7");
		expect(clientAddress("198.51.100.9", "203.0.113.7", proxies)).toBe("198.51.100.9");
		expect(clientAddress("10.1.2.3", "203.0.113.7", trustedProxies([]))).toBe("10.1.2.3");
	});

	it("reads the chain from the right and stops at the first address that is not a trusted proxy", () => {
		// The client forged the leftmost entry; the proxies appended the rest.
		expect(clientAddress("127.0.0.1", "1.1.1.1, 203.0.113.7, 10.9.9.9", proxies)).toBe("203.0.113.7");
		expect(clientAddress("127.0.0.1", ["1.1.1.1", "203.0.113.7, 10.9.9.9"], proxies)).toBe("203.0.113.7");
	});

	it("treats an IPv4 peer on a dual-stack socket as IPv4, and handles IPv6", () => {
		expect(clientAddress("::ffff:127.0.0.1", "203.0.113.7", proxies)).toBe("203.0.113.7");
		expect(clientAddress("fd00::1", "2001:db8::5", proxies)).toBe("2001:db8::5");
	});

	it("stops at a malformed entry, and keeps the proxy when the header is missing or all proxies", () => {
		expect(clientAddress("10.1.2.3", "203.0.113.7, not-an-ip", proxies)).toBe("10.1.2.3");
		expect(clientAddress("10.1.2.3", undefined, proxies)).toBe("10.1.2.3");
		expect(clientAddress("10.1.2.3", "10.2.2.2", proxies)).toBe("10.2.2.2");
		expect(clientAddress(undefined, "203.0.113.7", proxies)).toBe("unknown");
	});

	it("refuses an entry that is neither an address nor a CIDR, naming it", () => {
		for (const bad of ["10.0.0.0/33", "nope", "10.0.0.0/8/1", "::1/129", "10.0.0.0/x"]) expect(() => trustedProxies([bad])).toThrow(`TRUSTED_PROXIES: "${bad}"`);
	});
});
