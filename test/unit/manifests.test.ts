import { scaledShortfalls as quotaShortfalls } from "../../lib/quota";

describe("quota counts", () => {
	it("reads a pods quota the apiserver reports as a quantity (10000 is \"10k\")", () => {
		const quota = { hard: { pods: "10k" }, used: { pods: "3" } };
		expect(quotaShortfalls(quota, { replicas: 2, perPod: { pods: 1 } })).toEqual([]);
		expect(quotaShortfalls({ hard: { pods: "4" }, used: { pods: "3" } }, { replicas: 2, perPod: { pods: 1 } })).toEqual([
			expect.objectContaining({ resource: "pods", hard: "4", used: "3", requested: "2" }),
		]);
	});
});
