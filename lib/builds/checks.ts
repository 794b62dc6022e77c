/**
 * Every rule about a build's fields, in one place, pure: the settings from the environment, the
 * Git URL, the image's name and destination, and its resources (the request's, else the
 * namespace's LimitRange defaults, checked as a job's are).
 */
import type { BuildsSettings, CreateBuildParams } from "../api/builds";
import type { JobResources } from "../api/jobs";
import { DNS1123_LABEL } from "../api/rules";
import { loadConfig } from "../config";
import { invalidField } from "../errors";
import { normalizeResources } from "../jobs/checks";
import type { V1LimitRange } from "../k8s";

/** Pinned: the last release of gcr.io/kaniko-project/executor. */
export const DEFAULT_BUILDER_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2";
/** A build's resources when neither the request nor the namespace's LimitRange says. */
const FALLBACK_RESOURCES: JobResources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } };

function positiveInt(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** `name` (in BERTH_NAMESPACE) or `namespace/name`. */
export function parseSecretRef(value: string | undefined, defaultNamespace: string): { namespace: string; name: string } | undefined {
	const v = value?.trim();
	if (!v) return undefined;
	const [namespace, name] = v.includes("/") ? v.split("/", 2) : [defaultNamespace, v];
	if (!DNS1123_LABEL.test(namespace) || !/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(name)) throw new Error(`BUILD_REGISTRY_SECRET must be a Secret's name or namespace/name (got "${value}")`);
	return { namespace, name };
}

/** The settings from the environment (read when a broker creates the service). */
export function buildsSettings(env: NodeJS.ProcessEnv = process.env): Omit<BuildsSettings, "rest"> {
	const registry = env.BUILD_REGISTRY?.trim().replace(/\/+$/, "");
	return {
		builderImage: env.BUILDER_IMAGE?.trim() || DEFAULT_BUILDER_IMAGE,
		registry: registry || undefined,
		registrySecret: parseSecretRef(env.BUILD_REGISTRY_SECRET, loadConfig(env).tenantPolicy.berthNamespace),
		registryInsecure: env.BUILD_REGISTRY_INSECURE === "true",
		defaultTimeoutSeconds: positiveInt(env.BUILD_TIMEOUT_SECONDS, 1800),
		maxTimeoutSeconds: 24 * 3600,
		ttlSecondsAfterFinished: 3600,
		maxLogBytes: positiveInt(env.JOBS_MAX_LOG_BYTES, 1024 * 1024),
		maxResources: { cpu: "4", memory: "8Gi" },
	};
}

/** A Git URL Berth may hand to the builder: http(s), a host, a path, and no credentials (they would be stored and shown). */
export function checkGitUrl(git: string): URL {
	let url: URL;
	try {
		url = new URL(git);
	} catch {
		throw invalidField("git", "git must be an https:// (or http://) URL of a Git repository", git);
	}
	if (url.protocol !== "https:" && url.protocol !== "http:") throw invalidField("git", "git must be an https:// (or http://) URL", git);
	if (url.username || url.password) throw invalidField("git", "git may not hold credentials; only public repositories build", "<credentials removed>");
	if (url.hash) throw invalidField("git", "Name the branch or tag in `ref`, not in the URL", git);
	if (url.pathname.length < 2) throw invalidField("git", "git needs the repository's path", git);
	return url;
}

/** The image's name when the request gives none: the repository's last path segment, as a DNS label. */
export function imageNameOf(params: Pick<CreateBuildParams, "name" | "git">): string {
	if (params.name) return params.name;
	const last = new URL(params.git).pathname.split("/").filter(Boolean).pop() ?? "";
	const name = last.replace(/\.git$/, "").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
	if (!DNS1123_LABEL.test(name)) throw invalidField("name", "Give the image a name: none can be made from the repository's", params.git);
	return name;
}

/** Where the image is pushed: the tenant's own path under BUILD_REGISTRY. */
export function destinationOf(registry: string, namespaceName: string, name: string, tag: string): string {
	return `${registry}/${namespaceName}/${name}:${tag}`;
}

/** The container defaults of the namespace's LimitRange, as a build's resources. */
export function limitRangeDefaults(limitRange: V1LimitRange | undefined): JobResources {
	const item = limitRange?.spec?.limits?.find(l => l.type === "Container");
	const d = item?._default ?? {};
	const r = item?.defaultRequest ?? {};
	return {
		requests: { cpu: String(r.cpu ?? FALLBACK_RESOURCES.requests.cpu), memory: String(r.memory ?? FALLBACK_RESOURCES.requests.memory) },
		limits: { cpu: String(d.cpu ?? FALLBACK_RESOURCES.limits.cpu), memory: String(d.memory ?? FALLBACK_RESOURCES.limits.memory) },
	};
}

/** The request's resources over the namespace's defaults; each checked as a job's (lib/jobs/checks.ts). */
export function buildResources(params: Pick<CreateBuildParams, "resources">, defaults: JobResources, settings: Pick<BuildsSettings, "maxResources">): JobResources {
	return normalizeResources(params.resources, { defaultResources: defaults, maxResources: settings.maxResources });
}
