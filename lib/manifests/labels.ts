/**
 * Labels and annotations shared by every object Berth generates. Selectors use only labels
 * that never change for an object's life (name and instance), never versions or images.
 */
export const LABEL_PREFIX = "berth.dev";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "berth" } as const;
export const ANNOTATION_ID = `${LABEL_PREFIX}/id`;
export const ANNOTATION_KIND = `${LABEL_PREFIX}/kind`;
export const LABEL_ID = `${LABEL_PREFIX}/id`;
export const LABEL_COMPONENT = "app.kubernetes.io/component";

/** The label selector of everything Berth manages. */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=berth";

/** Labels of one object that belongs to entity `id` of `kind` (e.g. "deployment"), named `name`. */
export function managedLabels(kind: string, id: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
	return {
		...MANAGED_BY,
		"app.kubernetes.io/name": name,
		"app.kubernetes.io/instance": name,
		[LABEL_COMPONENT]: kind,
		[LABEL_ID]: id,
		...extra,
	};
}

/** Annotations that map an object back to its entity. */
export function entityAnnotations(kind: string, id: string, extra: Record<string, string> = {}): Record<string, string> {
	return { [ANNOTATION_ID]: id, [ANNOTATION_KIND]: kind, ...extra };
}

/** The stable selector labels of a workload named `name`. */
export function selectorLabels(name: string): Record<string, string> {
	return { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name };
}

/** Whether a live object was made by Berth (provenance for the inventory). */
export function isManaged(labels: Record<string, string> | undefined): boolean {
	return labels?.["app.kubernetes.io/managed-by"] === "berth";
}
