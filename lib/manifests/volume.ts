import type { V1PersistentVolumeClaim } from "../k8s";
import { ACCESS_MODES, VOLUME_SIZE, type AccessMode } from "../api/volumes";
import { entityAnnotations, managedLabels } from "./labels";

export const VOLUME_KIND = "volume";
export { ACCESS_MODES, VOLUME_SIZE, type AccessMode };
export const DEFAULT_VOLUME_SIZE = "1Gi";

/** What the manifest needs of a volume entity; `namespace` is the Kubernetes namespace's name. */
export interface VolumeSpec {
	id: string;
	name: string;
	namespace: string;
	size: string;
	accessModes: AccessMode[];
	storageClass?: string;
}

/** The label selector of every PVC Berth made for a volume. */
export const VOLUME_SELECTOR = `app.kubernetes.io/managed-by=berth,app.kubernetes.io/component=${VOLUME_KIND}`;

export function pvcManifest(volume: VolumeSpec): V1PersistentVolumeClaim {
	return {
		apiVersion: "v1",
		kind: "PersistentVolumeClaim",
		metadata: {
			name: volume.name,
			namespace: volume.namespace,
			labels: managedLabels(VOLUME_KIND, volume.id, volume.name),
			annotations: entityAnnotations(VOLUME_KIND, volume.id),
		},
		spec: {
			accessModes: [...volume.accessModes],
			resources: { requests: { storage: volume.size } },
			// Omitted rather than empty: "" would mean "no class" and disable dynamic provisioning.
			...(volume.storageClass ? { storageClassName: volume.storageClass } : {}),
		},
	};
}
