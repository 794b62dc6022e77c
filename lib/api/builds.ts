/**
 * The contract of v1.k8s.builds (and of v1.k8s.images.build, which delegates to it): its entity,
 * params, settings and validator rules. The service, the typed client and the CLI import them from here.
 */
import type { JobResources, ResourcesInput } from "./jobs";
import { DNS1123_LABEL, idRule, integerRule } from "./rules";

export type BuildStatus = "pending" | "running" | "succeeded" | "failed";

export interface BuildsSettings {
	rest: string;
	/** BUILDER_IMAGE: the kaniko executor the build Jobs run. */
	builderImage: string;
	/** BUILD_REGISTRY: where built images are pushed, `host[:port][/path]`; unset: builds are refused. */
	registry?: string;
	/** BUILD_REGISTRY_SECRET: a kubernetes.io/dockerconfigjson Secret, `name` (in BERTH_NAMESPACE) or `namespace/name`. */
	registrySecret?: { namespace: string; name: string };
	/** BUILD_REGISTRY_INSECURE: the registry speaks plain HTTP. */
	registryInsecure: boolean;
	defaultTimeoutSeconds: number;
	maxTimeoutSeconds: number;
	ttlSecondsAfterFinished: number;
	/** Captured logs are cut to their last this many bytes (JOBS_MAX_LOG_BYTES, as for jobs). */
	maxLogBytes: number;
	/** A build may ask for at most this much. */
	maxResources: { cpu: string; memory: string };
}

export interface CreateBuildParams {
	/** The repository to build: an https:// or http:// Git URL, without credentials. */
	git: string;
	/** A branch, `refs/heads/…`, `refs/tags/…`; default: the repository's default branch. */
	ref?: string;
	/** The build context: a directory of the repository (default its root). */
	context?: string;
	/** The Dockerfile, relative to the context (default `Dockerfile`). */
	dockerfile?: string;
	/** The image's name; default: the repository's name. */
	name?: string;
	tag?: string;
	description?: string;
	/** The Berth namespace, by id or name; the caller needs `edit` in it. */
	namespace: string;
	resources?: ResourcesInput;
	timeoutSeconds?: number;
}

export interface ListBuildsParams {
	namespace?: string;
}

export interface BuildIdParams {
	id: string;
}

export interface BuildLogsParams extends BuildIdParams {
	/** Stream the output as it is written until the build ends (text/plain). */
	follow?: boolean;
	maxSeconds?: number;
}

export interface BuildEntity {
	id: string;
	/** The Kubernetes Job's name. */
	jobName: string;
	namespace: string;
	namespaceName: string;
	git: string;
	ref?: string;
	context?: string;
	dockerfile: string;
	name: string;
	tag: string;
	description?: string;
	/** Where the image is pushed: `<BUILD_REGISTRY>/<namespace>/<name>:<tag>`. */
	destination: string;
	resources: JobResources;
	timeoutSeconds: number;
	status: BuildStatus;
	/** Once succeeded: `<registry>/<namespace>/<name>@sha256:…`. */
	image?: string;
	digest?: string;
	/** Why it failed, or what it waits for. */
	reason?: string;
	message?: string;
	/** The catalog entry the image became (v1.k8s.images), once succeeded. */
	imageId?: string;
	/** Why the image could not join the catalog, when it could not. */
	catalogError?: string;
	finishedAt?: string;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

export const BUILD_FIELDS = [
	"jobName", "namespace", "namespaceName", "git", "ref", "context", "dockerfile", "name", "tag", "description", "destination",
	"resources", "timeoutSeconds", "status", "image", "digest", "reason", "message", "imageId", "catalogError", "finishedAt", "owner", "members",
];

/** A path inside the repository: relative, no `..`, no odd characters. */
const REPO_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\-/]+$/;
/** A Git ref name (git check-ref-format, roughly): no spaces, `..`, `~^:?*[\`, no leading `-`. */
const GIT_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._\-/]+$/;
const quantityRule = { type: "string", optional: true, max: 32 } as const;
const resourceListRule = { type: "object", optional: true, strict: "remove", props: { cpu: quantityRule, memory: quantityRule } } as const;

export const createBuildParams = {
	git: { type: "url", max: 2048 },
	ref: { type: "string", min: 1, max: 255, pattern: GIT_REF, optional: true },
	context: { type: "string", min: 1, max: 1024, pattern: REPO_PATH, optional: true },
	dockerfile: { type: "string", min: 1, max: 1024, pattern: REPO_PATH, optional: true },
	name: { type: "string", min: 1, max: 63, pattern: DNS1123_LABEL, optional: true },
	tag: { type: "string", min: 1, max: 128, pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, optional: true },
	description: { type: "string", max: 1024, optional: true },
	namespace: idRule,
	resources: { type: "object", optional: true, strict: "remove", props: { requests: resourceListRule, limits: resourceListRule } },
	timeoutSeconds: integerRule(1, 24 * 3600),
} as const;

export const listBuildsParams = { namespace: { ...idRule, optional: true } } as const;
export const buildIdParams = { id: idRule } as const;
export const buildLogsParams = { id: idRule, follow: { type: "boolean", optional: true, convert: true }, maxSeconds: integerRule(1, 3600) } as const;
