import { toMoleculerError } from "../../lib/k8s/errors";

function apiError(code: number, body: unknown): Error & { code: number; body: unknown } {
	return Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify(body) });
}

describe("Kubernetes error mapping", () => {
	it("maps 404 to a not-found client error", () => {
		const err = toMoleculerError(apiError(404, { message: 'deployments.apps "x" not found', details: { name: "x", kind: "deployments" } })) as Error & { code: number; type: string };
		expect(err.code).toBe(404);
		expect(err.type).toBe("NOT_FOUND");
	});

	it("maps 409 to conflict", () => {
		const err = toMoleculerError(apiError(409, { message: "already exists", reason: "AlreadyExists" })) as Error & { code: number; type: string };
		expect([err.code, err.type]).toEqual([409, "CONFLICT"]);
	});

	it("maps 422 to invalid with the apiserver's causes as fields", () => {
		const err = toMoleculerError(apiError(422, { message: "invalid", details: { causes: [{ field: "metadata.name", message: "must be a DNS label", reason: "FieldValueInvalid" }] } })) as Error & { code: number; data: unknown };
		expect(err.code).toBe(422);
		expect(err.data).toEqual([{ field: "metadata.name", message: "must be a DNS label", type: "FieldValueInvalid" }]);
	});

	it("maps the 422 of an apiserver whose IP allocator is not ready yet (just restarted) to retryable 503", () => {
		const body = { message: 'Service "e-service" is invalid: spec.clusterIPs: Invalid value: [""]: failed to allocate IP: allocator not ready', details: { causes: [{ field: "spec.clusterIPs", message: 'Invalid value: [""]: failed to allocate IP: allocator not ready', reason: "FieldValueInvalid" }] } };
		const err = toMoleculerError(apiError(422, body)) as Error & { retryable: boolean; code: number; type: string };
		expect([err.retryable, err.code, err.type]).toEqual([true, 503, "K8S_UNAVAILABLE"]);
	});

	it.each([429, 500, 503])("maps %i to retryable", code => {
		const err = toMoleculerError(apiError(code, { message: "busy" })) as Error & { retryable: boolean; code: number };
		expect(err.retryable).toBe(true);
		expect(err.code).toBe(503);
	});

	it("maps a refused connection to retryable 503", () => {
		const err = toMoleculerError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" })) as Error & { retryable: boolean; code: number; type: string };
		expect([err.retryable, err.code, err.type]).toEqual([true, 503, "K8S_UNAVAILABLE"]);
	});
});
