import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_EGRESS_EXCEPT_CIDRS, loadConfig } from "../../lib/config";
import { CatalogError, validateImage, type CatalogImage } from "../../lib/catalog";
import { snapshot } from "../../lib/applications/checks";
import { applicationsNamespaceManifests } from "../../lib/manifests/application";
import { NETWORK_POLICY_NAME, namespaceManifest, networkPolicyManifest } from "../../lib/manifests/namespace";
import { hasPodSecurityLabels, workloadSecurity, type TenantPolicy } from "../../lib/manifests/security";
import { generatedTemplates } from "../helpers/pod-templates";

const policy: TenantPolicy = { podSecurityLevel: "baseline", ingressNamespace: "ingress-nginx", berthNamespace: "berth-system", egressExceptCidrs: ["10.0.0.0/8", "fd00::/8"] };
const quota = { cpu: "1", memory: "1Gi", storage: "1Gi", pods: 5, gpu: 0 };

describe("tenant policy settings", () => {
	it("defaults to baseline, ingress-nginx, berth-system and the private ranges", () => {
		expect(loadConfig({}).tenantPolicy).toEqual({ podSecurityLevel: "baseline", ingressNamespace: "ingress-nginx", berthNamespace: "berth-system", egressExceptCidrs: DEFAULT_EGRESS_EXCEPT_CIDRS, writer: { role: "berth-tenant-writer" } });
	});

	it("reads each setting; an empty EGRESS_EXCEPT_CIDRS excepts nothing", () => {
		const env = { POD_SECURITY_LEVEL: "restricted", INGRESS_NAMESPACE: "traefik", BERTH_NAMESPACE: "platform", EGRESS_EXCEPT_CIDRS: "" };
		expect(loadConfig(env).tenantPolicy).toEqual({ podSecurityLevel: "restricted", ingressNamespace: "traefik", berthNamespace: "platform", egressExceptCidrs: [], writer: { role: "berth-tenant-writer" } });
	});

	it("refuses a level that is not one of the three, rather than quietly using another", () => {
		expect(() => loadConfig({ POD_SECURITY_LEVEL: "restrict" })).toThrow(/POD_SECURITY_LEVEL must be one of privileged, baseline, restricted/);
	});
});

describe("namespace policy objects", () => {
	it("labels the Namespace: the configured level enforced, restricted warned", () => {
		const ns = namespaceManifest({ id: "n1", name: "team-a", owner: "alice", quota }, "restricted");
		expect(ns.metadata?.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted", "berth.dev/id": "n1" });
		expect(hasPodSecurityLabels(ns.metadata?.labels, { podSecurityLevel: "restricted" })).toBe(true);
		expect(hasPodSecurityLabels(ns.metadata?.labels, { podSecurityLevel: "baseline" })).toBe(false);
		expect(hasPodSecurityLabels({ "berth.dev/id": "n1" }, { podSecurityLevel: "baseline" })).toBe(false);
	});

	it("lets in the namespace's own pods and the ingress controller's, and lets out everywhere but Berth's namespace", () => {
		const np = networkPolicyManifest({ id: "n1", name: "team-a" }, policy);
		expect(np.metadata).toMatchObject({ name: NETWORK_POLICY_NAME, namespace: "team-a", labels: { "app.kubernetes.io/managed-by": "berth", "berth.dev/id": "n1" } });
		expect(np.spec?.podSelector).toEqual({});
		expect(np.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
		expect(np.spec?.ingress).toEqual([{ _from: [{ podSelector: {} }, { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ingress-nginx"] }] } }] }]);
		const [pods, dns, outside] = np.spec?.egress ?? [];
		expect(pods.to).toEqual([{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["berth-system"] }] } }]);
		expect(pods.ports).toBeUndefined();
		expect(dns).toEqual({ to: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["kube-system"] }] } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] });
		// Each family's exceptions in its own block: the apiserver refuses an IPv4 exception inside ::/0.
		expect(outside.to).toEqual([{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }, { ipBlock: { cidr: "::/0", except: ["fd00::/8"] } }]);
		expect(networkPolicyManifest({ id: "n1", name: "team-a" }, { ...policy, egressExceptCidrs: [] }).spec?.egress?.[2].to).toEqual([{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }]);
	});

	it("gives the applications namespace the same labels and NetworkPolicy", () => {
		const [ns, , , np] = applicationsNamespaceManifests("berth-apps", quota, policy);
		expect(ns.metadata?.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" });
		expect(np).toEqual(networkPolicyManifest({ id: "applications", name: "berth-apps" }, policy));
	});
});

describe("workloadSecurity", () => {
	it("drops every capability and escalation and uses RuntimeDefault seccomp; never runAsNonRoot for an image that starts as root", () => {
		expect(workloadSecurity()).toEqual({
			pod: { seccompProfile: { type: "RuntimeDefault" } },
			container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
		});
	});

	it("runs an image that declares its user as that user, its group as fsGroup, and adds back the capabilities it names", () => {
		expect(workloadSecurity({ runAsUser: 1000, runAsGroup: 100 }).pod).toEqual({ seccompProfile: { type: "RuntimeDefault" }, runAsNonRoot: true, runAsUser: 1000, runAsGroup: 100, fsGroup: 100 });
		expect(workloadSecurity({ capabilities: ["SETUID", "SETGID"] }).container.capabilities).toEqual({ drop: ["ALL"], add: ["SETUID", "SETGID"] });
	});

	it("is in every generated pod template, with the image's user where the catalog declares one", () => {
		for (const { what, image, template } of generatedTemplates("team-a")) {
			const pod = template.spec!;
			expect({ what, pod: pod.securityContext }).toEqual({ what, pod: workloadSecurity(image).pod });
			for (const c of pod.containers) expect({ what, container: c.securityContext }).toEqual({ what, container: workloadSecurity(image).container });
		}
	});

	it("goes with an application's template snapshot, so an instance runs as its image's user", () => {
		const jupyter = generatedTemplates("x").find(t => t.what === "application of jupyter-notebook")!.image!;
		expect(snapshot(jupyter as never)).toMatchObject({ runAsUser: 1000, runAsGroup: 100 });
	});
});

describe("catalog fields for the image's user", () => {
	const valid: CatalogImage = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "images", "php-8-1-0-fpm.json"), "utf8"));
	const fieldOf = (patch: Record<string, unknown>): string | undefined => {
		try {
			validateImage({ ...valid, ...patch }, "images/x.json");
		} catch (err) {
			if (err instanceof CatalogError) return err.field;
			throw err;
		}
		return undefined;
	};

	it("accepts a non-root user, its group and capabilities baseline allows", () => {
		expect(fieldOf({ runAsUser: 1000, runAsGroup: 0, capabilities: ["CHOWN", "NET_BIND_SERVICE"] })).toBeUndefined();
	});

	it("refuses root, a group without a user, and capabilities baseline refuses", () => {
		expect(fieldOf({ runAsUser: 0 })).toBe("runAsUser");
		expect(fieldOf({ runAsGroup: 100 })).toBe("runAsGroup");
		expect(fieldOf({ capabilities: ["SYS_ADMIN"] })).toBe("capabilities[0]");
		expect(fieldOf({ capabilities: ["NET_RAW"] })).toBe("capabilities[0]");
	});
});
