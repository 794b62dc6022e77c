import { decodeDeployment, encodeChange, withChanges, type StoredDeployment } from "../../lib/deployments/store";
import { diffStates, encodeState, envToRestore, restoreChanges, revisionView, stateOf, type StoredRevision } from "../../lib/revisions/spec";

const dep = (extra: Record<string, unknown> = {}) => ({ id: "d1", name: "web", namespace: "n1", namespaceName: "team-a", image: "img-nginx", imageName: "nginx", replicas: 2, vHosts: [], volumes: [], owner: "alice", members: [], status: { phase: "Running" }, ...extra });
const envs = [
	{ key: "B", type: "secret" as const, value: "", secretValue: "s3cret-value" },
	{ key: "A", type: "as-is" as const, value: "one" },
];

describe("revision states (lib/revisions/spec.ts)", () => {
	it("holds the spec without identity, status or replicas, and the env set sorted with secret values apart", () => {
		const state = stateOf(dep({ configMap: { name: "files", data: { "default.conf": "x" } } }), envs);
		expect(state.spec).toEqual({ image: "img-nginx", imageName: "nginx", vHosts: [], volumes: [], configMap: { name: "files", data: { "default.conf": "x" } } });
		expect(state.env).toEqual([
			{ key: "A", type: "as-is", value: "one" },
			{ key: "B", type: "secret", value: "" },
		]);
		expect(state.secrets).toEqual({ B: "s3cret-value" });
		expect(envToRestore(state)).toEqual([
			{ key: "A", type: "as-is", value: "one" },
			{ key: "B", type: "secret", value: "s3cret-value" },
		]);
	});

	it("summarizes scalars with old and new values, lists and secrets by name only; a scale or a restart alone is no change", () => {
		const before = stateOf(dep(), envs);
		expect(diffStates(before, stateOf(dep({ replicas: 5, restartedAt: "2026-01-01T00:00:00Z" }), envs))).toEqual([]);
		const after = stateOf(dep({ image: "img-redis", imageName: "redis", ports: [{ port: 6379 }] }), [
			{ key: "A", type: "as-is", value: "two" },
			{ key: "B", type: "secret", value: "", secretValue: "other-value" },
			{ key: "C", type: "as-is", value: "new" },
		]);
		expect(diffStates(before, after)).toEqual([
			{ field: "image", old: "nginx", new: "redis" },
			{ field: "ports" },
			{ field: "env.A", old: "one", new: "two" },
			{ field: "env.B" },
			{ field: "env.C", old: null, new: "new" },
		]);
		expect(diffStates(undefined, after)).toEqual([]);
	});

	it("shows a stored revision with secret values masked", () => {
		const stored = { id: "r1", deployment: "d1", revision: 1, by: "alice", cause: "created", changes: [], createdAt: "2026-01-01T00:00:00Z", ...encodeState(stateOf(dep(), envs)) } as StoredRevision;
		const view = revisionView(stored);
		expect(JSON.stringify(view)).not.toContain("s3cret-value");
		expect(view.env).toEqual([
			{ key: "A", type: "as-is", value: "one" },
			{ key: "B", type: "secret", value: "********" },
		]);
	});

	it("restores a spec: fields the revision lacked are cleared, stored as null and read back absent", () => {
		const changes = restoreChanges({ image: "img-nginx", imageName: "nginx", vHosts: [], volumes: [] }) as Partial<StoredDeployment>;
		const current = dep({ ports: [{ port: 80 }], resources: { limits: { cpu: "1" } } }) as unknown as StoredDeployment;
		const draft = withChanges(current, changes);
		expect(draft).not.toHaveProperty("ports");
		expect(draft).not.toHaveProperty("resources");
		const set = encodeChange(changes);
		expect(set).toMatchObject({ ports: null, resources: null, configMap: null });
		const read = decodeDeployment({ ...current, ...set, id: "d1" });
		expect(read).not.toHaveProperty("ports");
		expect(read).not.toHaveProperty("resources");
		expect(read).not.toHaveProperty("configMap");
	});
});
