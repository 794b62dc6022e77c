import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Errors, ServiceBroker, type ServiceSchema } from "moleculer";
import brokerConfig from "../../moleculer.config";
import { clusterUnavailable } from "../../lib/errors";
import ApiService from "../../services/api.service";

/**
 * Found by the fault suite (test/faults): what a client sees while the cluster or a service is out
 * of reach. Retryable failures must reach it as 503 "try again", never as 404, and an unreachable
 * cluster must not open the circuit breaker of the only endpoint there is.
 */
describe("the gateway and the broker while something is out of reach", () => {
	let broker: ServiceBroker;
	let url = "";
	let calls = 0;

	beforeAll(async () => {
		broker = new ServiceBroker({ ...brokerConfig, logger: false });
		broker.createService({ ...ApiService, settings: { ...ApiService.settings, port: 0 } } as ServiceSchema);
		broker.createService({
			name: "flaky",
			version: 1,
			settings: { rest: "/v1/flaky" },
			actions: {
				unreachable: {
					rest: "GET /unreachable",
					public: true,
					handler() {
						calls++;
						throw clusterUnavailable("Kubernetes cluster unreachable");
					},
				},
				// What a call answers when the action it makes has no endpoint right now (nodes gone, breaker open).
				gone: {
					rest: "GET /gone",
					public: true,
					handler() {
						throw new Errors.ServiceNotAvailableError({ action: "v1.elsewhere.go" });
					},
				},
				broken: {
					handler() {
						throw new Errors.MoleculerServerError("bug", 500, "INTERNAL_ERROR");
					},
				},
			},
		} as ServiceSchema);
		await broker.start();
		url = `http://127.0.0.1:${((broker.getLocalService("api") as unknown as { server: Server }).server.address() as AddressInfo).port}`;
	});

	afterAll(() => broker?.stop());

	it("answers 503 for an unreachable cluster, after the broker's retries of the call, not of the request", async () => {
		calls = 0;
		const res = await fetch(`${url}/api/v1/flaky/unreachable`);
		expect({ status: res.status, body: await res.json() }).toEqual({
			status: 503,
			body: { name: "MoleculerRetryableError", message: "Kubernetes cluster unreachable", code: 503, type: "K8S_UNAVAILABLE" },
		});
		expect(calls).toBe(1 + (brokerConfig.retryPolicy?.retries ?? 0));
	});

	it("answers 503 when a service has no endpoint it can call right now", async () => {
		const res = await fetch(`${url}/api/v1/flaky/gone`);
		expect({ status: res.status, body: await res.json() }).toEqual({ status: 503, body: expect.objectContaining({ code: 503, type: "SERVICE_UNAVAILABLE" }) });
	});

	it("keeps the circuit closed through an unreachable cluster, and opens it for a failing node", async () => {
		const outcomes = async (action: string) => {
			const types = new Set<string>();
			for (let i = 0; i < 30; i++) await broker.call(action, {}, { retries: 0 }).catch((err: { type?: string }) => types.add(err.type ?? "?"));
			return [...types].sort();
		};
		expect(await outcomes("v1.flaky.unreachable")).toEqual(["K8S_UNAVAILABLE"]);
		expect(await outcomes("v1.flaky.broken")).toEqual(["INTERNAL_ERROR", "SERVICE_NOT_AVAILABLE"]);
	});
});
