/**
 * The contract of v1.k8s.volumes (docs/api/volumes.md): the entity, the params of its actions with
 * their validator rules.
 */
import { LABEL_MESSAGE } from "./namespaces";
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, idRule, type IdParams } from "./rules";

export const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

/** 1–999 Gi or Mi, as volumes are offered. */
export const VOLUME_SIZE = /^([1-9][0-9]{0,2})(Gi|Mi)$/;

export interface VolumeStatus {
	/** The claim's phase (Pending, Bound, Lost), or "Missing" when it is not in the cluster. */
	phase: string;
	/** What was provisioned ("1Gi"), once bound. */
	capacity: string | null;
}

export interface VolumeEntity {
	id: string;
	/** The namespace entity's id. */
	namespace: string;
	/** Also the PersistentVolumeClaim's name. */
	name: string;
	type: "persistentVolumeClaim";
	mountPath: string;
	size: string;
	accessModes: AccessMode[];
	storageClass?: string;
	status: VolumeStatus;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

export interface CreateVolumeParams {
	namespace: string;
	name: string;
	type?: "persistentVolumeClaim";
	mountPath: string;
	size?: string;
	accessModes?: AccessMode[];
	storageClass?: string;
}
export type VolumeIdParams = IdParams;

/**
 * A volume's mount path: absolute, no NUL. Looser than rules.ts's ABSOLUTE_PATH (which also refuses
 * ':'), as volumes and the image catalog have always accepted it.
 */
export const VOLUME_MOUNT_PATH = /^\/[^\0]*$/;

export const createVolumeParams = {
	namespace: { type: "string", min: 1, max: 64 },
	name: { type: "string", pattern: DNS1123_LABEL, min: 1, max: 63, messages: { stringPattern: LABEL_MESSAGE } },
	type: { type: "enum", values: ["persistentVolumeClaim"], optional: true },
	mountPath: { type: "string", pattern: VOLUME_MOUNT_PATH, max: 255, messages: { stringPattern: "The '{field}' field must be an absolute path." } },
	size: { type: "string", pattern: VOLUME_SIZE, optional: true, messages: { stringPattern: "The '{field}' field must be 1–999 followed by Gi or Mi, such as 1Gi or 500Mi." } },
	accessModes: { type: "array", items: { type: "enum", values: [...ACCESS_MODES] }, min: 1, max: ACCESS_MODES.length, unique: true, optional: true },
	storageClass: { type: "string", pattern: DNS1123_SUBDOMAIN, max: 253, optional: true },
};
export const listVolumesParams = { namespace: { type: "string", min: 1, max: 64, optional: true } };
export const volumeIdParams = { id: idRule };
