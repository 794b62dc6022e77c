import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from "../api/rules";
import type { V1RoleBinding } from "../k8s";
import { entityAnnotations, managedLabels } from "./labels";
import { NAMESPACE_KIND } from "./namespace";
import type { ServiceAccountRef, WriterAccess } from "./security";

/**
 * Berth's write access to the namespaces it manages: a RoleBinding in each that binds the writer
 * ClusterRole (RBAC_ROLE) to Berth's own ServiceAccount (RBAC_SERVICE_ACCOUNT). Cluster-wide Berth
 * only reads and makes namespaces (deploy/kubernetes/berth.yaml). Pure builders.
 */

/** Fixed name: an apply replaces the binding rather than adding one. */
export const WRITER_BINDING_NAME = "berth-writer";
export const DEFAULT_RBAC_ROLE = "berth-tenant-writer";

/** `<namespace>:<name>` → the ServiceAccount; unset or blank: none. A malformed value throws, so a node does not start without the access it was meant to give itself. */
export function parseServiceAccount(value: string | undefined): ServiceAccountRef | undefined {
	const text = value?.trim();
	if (!text) return undefined;
	const [namespace, name, ...rest] = text.split(":");
	if (rest.length || !DNS1123_LABEL.test(namespace ?? "") || !DNS1123_SUBDOMAIN.test(name ?? "") || namespace.length > 63 || name.length > 253)
		throw new Error(`RBAC_SERVICE_ACCOUNT must be <namespace>:<name> of a ServiceAccount (got "${value}")`);
	return { namespace, name };
}

/** The writer RoleBinding of a namespace Berth manages; undefined when no ServiceAccount is configured. */
export function writerBindingManifest(ns: { id: string; name: string }, rbac: WriterAccess | undefined): V1RoleBinding | undefined {
	if (!rbac?.serviceAccount) return undefined;
	return {
		apiVersion: "rbac.authorization.k8s.io/v1",
		kind: "RoleBinding",
		metadata: { name: WRITER_BINDING_NAME, namespace: ns.name, labels: managedLabels("writer-binding", ns.id, WRITER_BINDING_NAME), annotations: entityAnnotations(NAMESPACE_KIND, ns.id) },
		roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: rbac.role },
		subjects: [{ kind: "ServiceAccount", name: rbac.serviceAccount.name, namespace: rbac.serviceAccount.namespace }],
	};
}

/** On the Namespace: which binding it got, so a reconcile sees a namespace made before (or under other RBAC settings) and binds it again. */
export const WRITER_ANNOTATION = "berth.dev/writer-binding";

/** The annotation's value for these settings; undefined when no binding is made. */
export function writerMark(rbac: WriterAccess | undefined): string | undefined {
	const sa = rbac?.serviceAccount;
	return sa && `${rbac.role}=${sa.namespace}:${sa.name}`;
}
