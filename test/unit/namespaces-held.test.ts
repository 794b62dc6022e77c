import { HELD_DEFAULT, heldDefaultDoc, heldDefaultRefused, isHeldDefault } from "../../lib/namespaces/held";

describe("lib/namespaces/held: the cluster's default namespace, held by the system identity", () => {
	it("is the entity named default whose owner is the system identity, and nothing else", () => {
		expect(isHeldDefault({ name: HELD_DEFAULT, owner: "system" }, "system")).toBe(true);
		expect(isHeldDefault({ name: HELD_DEFAULT, owner: "alice" }, "system")).toBe(false);
		expect(isHeldDefault({ name: "team", owner: "system" }, "system")).toBe(false);
	});

	it("is stored without members or a quota, with the live namespace's phase and uid", () => {
		expect(heldDefaultDoc({ metadata: { name: "default", uid: "u-1" }, status: { phase: "Active" } }, "system")).toEqual({ name: "default", owner: "system", members: [], quota: null, phase: "Active", uid: "u-1" });
		expect(heldDefaultDoc({ metadata: { name: "default" } }, "system")).toMatchObject({ phase: "Active", uid: null });
	});

	it("refuses changes with 403", () => {
		expect(heldDefaultRefused()).toMatchObject({ code: 403 });
	});
});
