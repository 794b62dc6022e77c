import type { V1Namespace } from "../../lib/k8s";
import { ANNOTATION_ID } from "../../lib/manifests/labels";
import { isEntitysNamespace, namespaceVerdict, namespaceWrite } from "../../lib/namespaces/identity";
import { isTombstoned, withdrawIfDeleted } from "../../lib/tombstones";

const live = (name: string, uid: string, id?: string, extra: Partial<NonNullable<V1Namespace["metadata"]>> = {}): V1Namespace => ({
	apiVersion: "v1",
	kind: "Namespace",
	metadata: { name, uid, ...(id ? { annotations: { [ANNOTATION_ID]: id } } : {}), ...extra },
});

describe("namespace identity (pure)", () => {
	const bound = { namespace: "ns-entity", namespaceName: "team-a", namespaceUid: "uid-1" };

	it("admits the Namespace the entity was made in", () => {
		expect(namespaceVerdict(live("team-a", "uid-1", "ns-entity"), bound)).toEqual({ ok: true, uid: "uid-1" });
	});

	it("refuses a missing, a terminating and a made-again Namespace, with the reason", () => {
		expect(namespaceVerdict(undefined, bound)).toMatchObject({ ok: false, reason: "NamespaceMissing" });
		expect(namespaceVerdict(live("team-a", "uid-1", "ns-entity", { deletionTimestamp: new Date() }), bound)).toMatchObject({ ok: false, reason: "NamespaceTerminating" });
		// Made again outside Berth: another uid, no annotation.
		expect(namespaceVerdict(live("team-a", "uid-2"), bound)).toMatchObject({ ok: false, reason: "NamespaceReplaced" });
		// A copy of Berth's annotation does not make it the same namespace.
		expect(namespaceVerdict(live("team-a", "uid-2", "ns-entity"), bound)).toMatchObject({ ok: false, reason: "NamespaceReplaced" });
		// Made again by Berth for another namespace entity.
		expect(namespaceVerdict(live("team-a", "uid-1", "other-entity"), bound)).toMatchObject({ ok: false, reason: "NamespaceReplaced" });
	});

	it("binds an entity made before binding by the annotation alone, and the held default by its uid alone", () => {
		const unbound = { namespace: "ns-entity", namespaceName: "team-a" };
		expect(namespaceVerdict(live("team-a", "uid-9", "ns-entity"), unbound)).toEqual({ ok: true, uid: "uid-9" });
		expect(namespaceVerdict(live("team-a", "uid-9"), unbound)).toMatchObject({ ok: false, reason: "NamespaceReplaced" });
		const inDefault = { namespace: "held", namespaceName: "default", namespaceUid: "d-1" };
		expect(namespaceVerdict(live("default", "d-1"), inDefault)).toEqual({ ok: true, uid: "d-1" });
		expect(namespaceVerdict(live("default", "d-2"), inDefault)).toMatchObject({ ok: false, reason: "NamespaceReplaced" });
	});

	it("says whether a live Namespace is a namespace entity's: its annotation, and its uid once recorded", () => {
		expect(isEntitysNamespace(live("a", "u1", "e1"), { id: "e1", uid: "u1" })).toBe(true);
		expect(isEntitysNamespace(live("a", "u1", "e1"), { id: "e1", uid: null })).toBe(true);
		expect(isEntitysNamespace(live("a", "u2", "e1"), { id: "e1", uid: "u1" })).toBe(false);
		expect(isEntitysNamespace(live("a", "u1"), { id: "e1", uid: "u1" })).toBe(false);
		expect(isEntitysNamespace(undefined, { id: "e1" })).toBe(false);
	});

	it("creates what is missing, applies Berth's with its uid as precondition, and refuses anyone else's", () => {
		const entity = { id: "e1", name: "a", uid: "u1" };
		expect(namespaceWrite(undefined, entity)).toEqual({ action: "create" });
		expect(namespaceWrite(live("a", "u1", "e1"), entity)).toEqual({ action: "apply", uid: "u1" });
		expect(namespaceWrite(live("a", "u2"), entity)).toMatchObject({ action: "refuse" });
		expect(namespaceWrite(live("a", "u2", "e1"), entity)).toMatchObject({ action: "refuse" });
	});
});

describe("tombstones (pure)", () => {
	it("treats a missing or marked entity as one no pass may apply", () => {
		expect(isTombstoned(undefined)).toBe(true);
		expect(isTombstoned({ deleting: true })).toBe(true);
		expect(isTombstoned({ deleting: false })).toBe(false);
		expect(isTombstoned({})).toBe(false);
	});

	it("undoes an apply only when the entity went meanwhile", async () => {
		const undone: string[] = [];
		expect(await withdrawIfDeleted(async () => ({ deleting: false }), isTombstoned, async () => undone.push("kept"))).toBe(false);
		expect(await withdrawIfDeleted(async () => undefined, isTombstoned, async () => undone.push("gone"))).toBe(true);
		expect(undone).toEqual(["gone"]);
	});
});
