/** The pure rules about instances: which ids exist, which templates a caller may launch, what a launch stores, how an end is told. */
import { ANONYMOUS } from "../api/applications";
import type { CatalogImage } from "../catalog";
import { notFound, unauthorized } from "../errors";
import { applicationFootprint, type ApplicationTemplate } from "../manifests/application";
import type { CullDecision, CullPolicy } from "./culling";
import type { StoredApplication } from "./store";

/** A catalog image as v1.k8s.images answers it. */
export type TemplateImage = CatalogImage & { id: string };

const APP_ID = /^[0-9a-f]{32}$/;

/** Only 32 hex characters can name an instance; anything else is simply not found. */
export function isAppId(id: string): boolean {
	return APP_ID.test(id);
}

/**
 * Without a key only public templates launch: any other catalog image is 401. A catalog image that
 * is not launchable is 404, key or not, like a name the catalog does not have.
 */
export function checkTemplate(image: TemplateImage, ref: string, withKey: boolean): TemplateImage {
	if (!withKey && !(image.launchable && image.public)) throw unauthorized(`Only public templates launch without an API key, and "${image.name}" is not one`);
	if (!image.launchable) throw notFound("Template", ref);
	return image;
}

const SNAPSHOT_FIELDS = ["id", "name", "image", "registry", "repository", "tag", "digest", "imagePullPolicy", "imagePullSecrets", "ports", "env", "volumes", "resources", "command", "args", "runAsUser", "runAsGroup", "capabilities", "launchToken"] as const;

/** What an instance keeps of its catalog entry: it runs the same thing even if the catalog changes. */
export function snapshot(image: TemplateImage): ApplicationTemplate {
	const from = image as unknown as Record<string, unknown>;
	const out: Record<string, unknown> = {};
	for (const f of SNAPSHOT_FIELDS) if (from[f] !== undefined) out[f] = from[f];
	out.id = String(image.id);
	return out as unknown as ApplicationTemplate;
}

/** The record of a new launch: pending until the limits admit it. */
export function newInstance(image: TemplateImage, namespaceName: string, appId: string, userID: string | undefined, now = new Date().toISOString(), idleMs?: number): Omit<StoredApplication, "id"> {
	const spec = snapshot(image);
	const anonymous = !userID;
	return {
		...(idleMs ? { idleMs } : {}),
		appId,
		template: image.name,
		templateId: spec.id,
		spec,
		namespaceName,
		status: "pending",
		location: null,
		cleanup: "none",
		footprint: Object.entries(applicationFootprint(spec)).map(([resource, amount]) => ({ resource, amount })),
		owner: anonymous ? ANONYMOUS : (userID as string),
		members: [],
		anonymous,
		lastActivityAt: now,
		createdAt: now,
		updatedAt: now,
	};
}

/** The message recorded with a cull or a start timeout. */
export function endMessage(decision: Exclude<CullDecision, { action: "keep" }>, policy: CullPolicy): string {
	if (decision.action === "fail") return `Not Ready within ${policy.startTimeoutMs / 1000} s of the launch`;
	return decision.reason === "idle" ? `No activity for ${policy.idleMs / 1000} s` : `Older than ${policy.maxAgeMs / 1000} s`;
}

/** The event that announces an ended instance once its objects are gone. */
export function endEvent(doc: Pick<StoredApplication, "status" | "reason">): "failed" | "culled" | "deleted" {
	if (doc.status === "failed") return "failed";
	return doc.reason === "idle" || doc.reason === "max-age" ? "culled" : "deleted";
}
