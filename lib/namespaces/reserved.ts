/**
 * Names no tenant may create a namespace under: Kubernetes' own (`kube-*`, `default`, …), Berth's
 * fixed ones (`berth`, `berth-system`), the namespaces Berth keeps for itself (the seed jobs'
 * JOBS_COMPAT_NAMESPACE, the applications' APPS_NAMESPACE) and RESERVED_NAMESPACES. Only Berth's
 * system identity creates its own; nobody creates Kubernetes'. Pure.
 */
import type { BerthConfig } from "../config";
import { isSystemNamespace } from "../manifests/namespace";
import { DNS1123_LABEL } from "../api/rules";

export type Reservation = "kubernetes" | "berth" | "configured" | undefined;

/** Why `name` is reserved, or undefined when a tenant may take it. */
export function reservationOf(name: string, config: Pick<BerthConfig, "ownNamespaces" | "reservedNamespaces">): Reservation {
	if (Object.values(config.ownNamespaces).includes(name)) return "berth";
	if (isSystemNamespace(name)) return "kubernetes";
	if (config.reservedNamespaces.includes(name)) return "configured";
	return undefined;
}

/** Whether `user` may create a namespace of that reservation: Berth's own, by Berth's system identity only. */
export function mayCreateReserved(reservation: Reservation, user: string | undefined, systemUser: string): boolean {
	return reservation === undefined || (reservation === "berth" && user === systemUser);
}

/** Why `user` may not create a namespace of that name (not a label, or reserved), or undefined. */
export function nameRefusal(name: string, user: string | undefined, systemUser: string, config: Pick<BerthConfig, "ownNamespaces" | "reservedNamespaces">): string | undefined {
	if (name.length > 63 || !DNS1123_LABEL.test(name)) return "Not an RFC 1123 label (lower-case letters, digits and '-', at most 63)";
	if (!mayCreateReserved(reservationOf(name, config), user, systemUser)) return `${name} is a reserved namespace`;
	return undefined;
}
