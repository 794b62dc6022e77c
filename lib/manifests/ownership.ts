/**
 * Who holds an object in a namespace, read from the labels and annotations Berth puts on what it
 * makes (labels.ts), and whether applying a desired object over it is allowed. Pure: lib/ownership.ts
 * reads the live objects and applies. The desired object says who it is for by its own labels, so
 * no owner is passed around: an apply may only land on an object of the same holder.
 */
import type { KubernetesObject } from "../k8s";
import { ANNOTATION_ID, ANNOTATION_KIND, LABEL_COMPONENT, LABEL_ID, isManaged } from "./labels";

/**
 * `entity`: the object of one Berth entity (its id and component: "deployment", "deployment-env",
 * "service-spec", "volume", "job", "application"); `shared`: made by Berth for no one entity (a
 * shared ServiceAccount); `external`: not made by Berth.
 */
export type Holder = { kind: "entity"; component: string; id: string } | { kind: "shared"; component: string } | { kind: "external" };

/** What the labels (or, for an id, the annotations) of `obj` say about who holds it. */
export function holderOf(obj: Pick<KubernetesObject, "metadata">): Holder {
	const labels = obj.metadata?.labels;
	if (!isManaged(labels)) return { kind: "external" };
	const annotations = obj.metadata?.annotations;
	const component = labels?.[LABEL_COMPONENT] ?? annotations?.[ANNOTATION_KIND] ?? "";
	const id = labels?.[LABEL_ID] ?? annotations?.[ANNOTATION_ID];
	return id ? { kind: "entity", component, id } : { kind: "shared", component };
}

function sameHolder(a: Holder, b: Holder): boolean {
	if (a.kind === "entity") return b.kind === "entity" && a.id === b.id && a.component === b.component;
	if (a.kind === "shared") return b.kind === "shared" && a.component === b.component;
	return b.kind === "external";
}

export interface HoldOptions {
	/**
	 * The caller takes over objects Berth did not make: an adoption through the inventory, whose plan
	 * lists them. Never another entity's.
	 */
	adopt?: boolean;
}

/**
 * The holder that keeps `desired` from being applied over `live`, or undefined when the apply may
 * go ahead: nothing is there, it is the same holder's, or it is external and the apply adopts it.
 * A shared object (a ServiceAccount deployments share by name) may land on an external one, as its
 * docs offer, but never on an entity's. An object without Berth's labels is not guarded.
 */
export function blockingHolder(desired: Pick<KubernetesObject, "metadata">, live: Pick<KubernetesObject, "metadata"> | undefined, opts: HoldOptions = {}): Holder | undefined {
	if (!live) return undefined;
	const want = holderOf(desired);
	const have = holderOf(live);
	if (want.kind === "external" || sameHolder(want, have)) return undefined;
	if (have.kind === "external" && (want.kind === "shared" || opts.adopt)) return undefined;
	return have;
}

/** Whether applying `desired` over `live` takes an external object over (an adoption's claim). */
export function takesOver(desired: Pick<KubernetesObject, "metadata">, live: Pick<KubernetesObject, "metadata"> | undefined): boolean {
	return live !== undefined && holderOf(desired).kind === "entity" && holderOf(live).kind === "external";
}

/** One object Berth would not apply, and who holds it, as far as the caller may be told. */
export interface HeldObject {
	kind: string;
	name: string;
	/** The holder's component ("deployment", "service-spec", …), "shared", or "external"; never an id or an owner. */
	heldBy: string;
}

export function heldObject(desired: KubernetesObject, holder: Holder): HeldObject {
	return { kind: desired.kind as string, name: desired.metadata?.name as string, heldBy: holder.kind === "external" ? "external" : holder.kind === "shared" ? "shared" : holder.component };
}

/** The condition reason (and error `data.reason`) of an apply refused because an object is held by another. */
export const HELD_REASON = "ObjectHeld";

/** One sentence per held object, for an error message or a status condition. */
export function heldMessage(namespace: string, held: HeldObject[]): string {
	return held
		.map(h =>
			h.heldBy === "external"
				? `${h.kind} "${h.name}" in namespace "${namespace}" was not made by Berth; Berth does not overwrite it (adopt its workload through the inventory, or choose another name)`
				: `${h.kind} "${h.name}" in namespace "${namespace}" belongs to another Berth ${h.heldBy}; Berth does not overwrite it`,
		)
		.join("; ");
}
