import { Validators } from "moleculer";
import { createDataObjectParams } from "../../lib/api/data-objects";
import { mountsRule } from "../../lib/api/mounts";
import { dataObjectManifest, holdsData } from "../../lib/manifests/data-object";

/** The validator the broker runs (Moleculer's fastest-validator, new-style custom checks). */
function check(schema: Record<string, unknown>, params: Record<string, unknown>): true | { field: string; type: string; message: string }[] {
	const validator = new Validators.Fastest();
	validator.init({ logger: { debug: () => undefined, info: () => undefined, warn: () => undefined } } as never);
	return validator.compile(schema as never)(params) as never;
}

describe("deployments' mounts rule", () => {
	const rule = { mounts: mountsRule };

	it("takes mount_path and sub_path for mountPath and subPath, and stores Berth's names", () => {
		const params = { mounts: [{ configMap: "app", mount_path: "/etc/app", sub_path: "app.conf" }, { type: "secret", name: "tls", mountPath: "/tls" }] };
		expect(check(rule, params)).toBe(true);
		expect(params.mounts).toEqual([{ configMap: "app", mountPath: "/etc/app", subPath: "app.conf" }, { type: "secret", name: "tls", mountPath: "/tls" }]);
	});

	it("checks the aliases as the fields they stand for", () => {
		const res = check(rule, { mounts: [{ secret: "s", mount_path: "relative" }] });
		expect(res).toEqual([expect.objectContaining({ field: "mounts[0].mount_path", type: "stringPattern" })]);
	});

	it("refuses a mount without a path, with two targets, or an alias that disagrees, naming the field", () => {
		const fields = (params: Record<string, unknown>) => (check(rule, params) as { field: string }[]).map(e => e.field);
		expect(fields({ mounts: [{ configMap: "a" }] })).toEqual(["mounts[0].mountPath"]);
		expect(fields({ mounts: [{ mountPath: "/a" }] })).toEqual(["mounts[0]"]);
		expect(fields({ mounts: [{ configMap: "a", secret: "b", mountPath: "/a" }] })).toEqual(["mounts[0]"]);
		expect(fields({ mounts: [{ configMap: "a", type: "configMap", name: "a", mountPath: "/a" }] })).toEqual(["mounts[0]"]);
		expect(fields({ mounts: [{ type: "configMap", mountPath: "/a" }] })).toEqual(["mounts[0].name"]);
		expect(fields({ mounts: [{ configMap: "a", mountPath: "/a", mount_path: "/b" }] })).toEqual(["mounts[0].mount_path"]);
		expect(check(rule, { mounts: [{ configMap: "a", mountPath: "/a", bogus: 1 }] })).toEqual([expect.objectContaining({ field: "mounts[0]", type: "objectStrict" })]);
	});
});

describe("ConfigMap and Secret entities", () => {
	it("refuses a value that is not a string, naming data.<key>", () => {
		const res = check(createDataObjectParams, { namespace: "n", name: "app", data: { ok: "1", port: 8080 } });
		expect(res).toEqual([expect.objectContaining({ field: "data.port", type: "string" })]);
		expect(check(createDataObjectParams, { namespace: "n", name: "app", data: { "no spaces": "x" } })).toEqual([expect.objectContaining({ field: "data.no spaces" })]);
	});

	it("builds labelled objects, a Secret's data in base64, and compares live data", () => {
		const cm = dataObjectManifest("ConfigMap", { id: "e1", name: "app", namespace: "team", data: { a: "1" } });
		expect(cm).toMatchObject({ kind: "ConfigMap", data: { a: "1" }, metadata: { labels: { "app.kubernetes.io/component": "configmap", "berth.dev/id": "e1" }, annotations: { "berth.dev/id": "e1" } } });
		const secret = dataObjectManifest("Secret", { id: "e2", name: "tls", namespace: "team", data: { key: "s3cr3t" } });
		expect(secret).toMatchObject({ kind: "Secret", type: "Opaque", data: { key: Buffer.from("s3cr3t").toString("base64") } });
		expect(holdsData("Secret", secret, { key: "s3cr3t" })).toBe(true);
		expect(holdsData("Secret", secret, { key: "other" })).toBe(false);
		expect(holdsData("ConfigMap", cm, { a: "1", b: "2" })).toBe(false);
	});
});
