import type { V1ConfigMap, V1Secret } from "../k8s";
import type { DataObjectKind } from "../api/data-objects";
import { entityAnnotations, managedLabels } from "./labels";
import { secretData, secretValues } from "./secret";

/** `app.kubernetes.io/component` of the objects Berth makes for v1.k8s.configmaps and v1.k8s.secrets. */
export const DATA_OBJECT_COMPONENT: Record<DataObjectKind, string> = { ConfigMap: "configmap", Secret: "secret" };

/** The label selector of every object Berth made for an entity of `kind`. */
export function dataObjectSelector(kind: DataObjectKind): string {
	return `app.kubernetes.io/managed-by=berth,app.kubernetes.io/component=${DATA_OBJECT_COMPONENT[kind]}`;
}

/** What the manifest needs of the entity; `namespace` is the Kubernetes namespace's name. */
export interface DataObjectSpec {
	id: string;
	name: string;
	namespace: string;
	data: Record<string, string>;
}

/**
 * The ConfigMap or Secret of an entity. A Secret's values go in `data` (base64) rather than
 * stringData, so that server-side apply owns each key and a removed key goes.
 */
export function dataObjectManifest(kind: DataObjectKind, spec: DataObjectSpec): V1ConfigMap | V1Secret {
	const component = DATA_OBJECT_COMPONENT[kind];
	const metadata = { name: spec.name, namespace: spec.namespace, labels: managedLabels(component, spec.id, spec.name), annotations: entityAnnotations(component, spec.id) };
	if (kind === "ConfigMap") return { apiVersion: "v1", kind, metadata, data: { ...spec.data } };
	return { apiVersion: "v1", kind, type: "Opaque", metadata, data: secretData(spec.data) };
}

/** Whether a live object holds exactly `data` (a Secret's base64 decoded). */
export function holdsData(kind: DataObjectKind, live: Pick<V1ConfigMap, "data"> | undefined, data: Record<string, string>): boolean {
	const have = kind === "Secret" ? secretValues(live) : (live?.data ?? {});
	const keys = Object.keys(data);
	return keys.length === Object.keys(have).length && keys.every(k => have[k] === data[k]);
}
