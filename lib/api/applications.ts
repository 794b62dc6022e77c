/**
 * The contract of v1.k8s.applications (ephemeral applications, the binder deploy API): what its
 * actions take and answer, and their validator rules. The service, the typed client and the CLI
 * import these; the binder routes' shapes are the seed's, field for field.
 */
import type { CatalogResources } from "./images";
import { idRule } from "./rules";

/** The statuses of the binder protocol. */
export type ApplicationStatus = "deploying" | "running" | "deleted" | "failed";

/**
 * Why an instance ended: culled (`idle`, `max-age`), deleted on `requested`, or failed:
 * `start-timeout`, `cannot-start` (its container cannot start: a bad image, a crash loop),
 * `rejected` (the apiserver refused its objects), `interrupted` (the node that took the launch
 * stopped before admitting it).
 */
export type EndReason = "idle" | "max-age" | "requested" | "start-timeout" | "cannot-start" | "rejected" | "interrupted";

/** What the binder routes answer, field for field (`GET /applications/:template/:id`). */
export interface BinderView {
	id: string;
	"template-name": string;
	/** `<PUBLIC_HOST>/user/<id>` once a pod is Ready; null before. */
	location: string | null;
	status: ApplicationStatus;
}

/** `POST /applications/:template`: the instance id at once; the instance comes up afterwards. */
export interface LaunchedApplication {
	id: string;
}

/** Berth's own answer (`/api/v1/k8s/applications`): the binder fields and the instance's bookkeeping. */
export interface ApplicationView extends BinderView {
	/** The Kubernetes namespace the instance runs in. */
	namespace: string;
	/** The caller who launched it, or "anonymous". */
	owner: string;
	reason?: EndReason;
	message?: string;
	/** Objects are still being deleted (status deleted or failed). */
	terminating?: boolean;
	lastActivityAt: string;
	/** When the instance will be culled if nothing happens (active instances only). */
	cullAt?: string;
	readyAt?: string;
	endedAt?: string;
	createdAt: string;
	updatedAt: string;
}

/** A template as clients choose one: what it runs, what it serves, whether it needs a key. */
export interface TemplateView {
	/** The catalog image's id. */
	id: string;
	name: string;
	description: string;
	image: string;
	public: boolean;
	ports: { name: string; port: number; protocol: string }[];
	/** cpu in millicores, memory in Mi, as the catalog writes them. */
	resources: CatalogResources;
}

/** The owner of instances launched without a key. */
export const ANONYMOUS = "anonymous";

// ---------------------------------------------------------------------------------------------
// Params and their rules

export interface TemplateParams {
	template: string;
}
export interface LaunchParams {
	/** A launchable catalog image, by id or name. */
	template: string;
}
export interface TemplateNameParams {
	name: string;
}
export interface InstanceParams {
	template: string;
	id: string;
}
export interface ListParams {
	template?: string;
	status?: ApplicationStatus;
}
export interface ActivityParams {
	ids: string[];
}
export type { IdParams } from "./rules";

const templateRule = { type: "string", min: 1, max: 253 } as const;
/** Any string is taken as an instance id: one that is not 32 hex characters is simply not found. */
const instanceIdRule = idRule;

export const templateParams = { template: templateRule };
export const templateNameParams = { name: templateRule };
export const instanceParams = { template: templateRule, id: instanceIdRule };
export const idParams = { id: instanceIdRule };
export const listParams = {
	template: { ...templateRule, optional: true },
	status: { type: "enum", values: ["deploying", "running", "deleted", "failed"], optional: true },
};
export const activityParams = { ids: { type: "array", items: instanceIdRule, min: 1, max: 1000 } };
