import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject } from "../../lib/k8s";
import { kube, repoRoot } from "../helpers/cluster";

/** Berth's own manifests must be accepted by a real apiserver (server-side dry-run: nothing is stored). */
describe("manifests for running Berth in a cluster", () => {
	const file = path.join(repoRoot, "deploy", "kubernetes", "berth.yaml");
	const objects = parseAllDocuments(fs.readFileSync(file, "utf8")).map(d => d.toJSON() as KubernetesObject);

	it("holds a ServiceAccount, least-privilege roles, a Deployment and a Service", () => {
		const kinds = objects.map(o => o.kind);
		expect(kinds).toEqual(expect.arrayContaining(["ServiceAccount", "ClusterRole", "Role", "Deployment", "Service"]));
		const clusterRole = objects.find(o => o.kind === "ClusterRole") as KubernetesObject & { rules: { verbs: string[]; resources: string[] }[] };
		expect(clusterRole.rules.flatMap(r => r.verbs)).not.toContain("*");
		expect(clusterRole.rules.flatMap(r => r.resources)).not.toContain("*");
	});

	it("passes a server-side dry-run", async () => {
		// Namespaced objects are validated inside their namespace, so the namespace must exist.
		const ns = objects.find(o => o.kind === "Namespace")!;
		const existed = Boolean(await kube().get({ apiVersion: "v1", kind: "Namespace", name: ns.metadata!.name! }));
		if (!existed) await kube().apply(ns);
		try {
			for (const obj of objects.filter(o => o.kind !== "Namespace")) {
				const res = await kube().apply(obj, { dryRun: true });
				expect(res.metadata?.name).toBe(obj.metadata?.name);
			}
			expect(await kube().get({ apiVersion: "apps/v1", kind: "Deployment", name: "berth", namespace: "berth-system" })).toBeUndefined();
		} finally {
			if (!existed) await kube().delete({ apiVersion: "v1", kind: "Namespace", name: ns.metadata!.name! });
		}
	});
});
