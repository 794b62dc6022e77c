import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Errors, ServiceBroker, type ServiceSchema } from "moleculer";
import brokerConfig from "../../moleculer.config";
import ApiService from "../../services/api.service";

/**
 * Found by the fault suite: with the broker's retry policy on every action, a retryable failure
 * (the cluster unreachable) also re-ran the gateway's own `api.rest`, on a request it had already
 * consumed, and the client got 404 Not found instead of the 503 that tells it to try again.
 */
describe("gateway under retryable failures", () => {
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
				go: {
					rest: "GET /",
					public: true,
					handler() {
						calls++;
						throw new Errors.MoleculerRetryableError("Kubernetes cluster unreachable", 503, "CLUSTER_UNREACHABLE");
					},
				},
			},
		} as ServiceSchema);
		await broker.start();
		url = `http://127.0.0.1:${((broker.getLocalService("api") as unknown as { server: Server }).server.address() as AddressInfo).port}`;
	});

	afterAll(() => broker?.stop());

	it("answers 503 with the error, after the broker's retries of the call, not of the request", async () => {
		const res = await fetch(`${url}/api/v1/flaky`);
		expect({ status: res.status, body: await res.json() }).toEqual({
			status: 503,
			body: { name: "MoleculerRetryableError", message: "Kubernetes cluster unreachable", code: 503, type: "CLUSTER_UNREACHABLE" },
		});
		expect(calls).toBe(1 + (brokerConfig.retryPolicy?.retries ?? 0));
	});
});
