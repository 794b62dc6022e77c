/**
 * Image references that are not catalog entries (`registry/repo:tag`, `…@sha256:…`) and the
 * IMAGE_POLICY that says which of them a deployment may run. Pure functions; the policy is read
 * from the environment at each call, like IMAGES_DIR.
 */

/** A pullable reference with a tag or a digest: `nginx:1.27`, `ghcr.io/acme/app:v2`, `…@sha256:<64 hex>`. */
const REFERENCE = /^(?:(?<registry>[a-z0-9]([-a-z0-9.]*[a-z0-9])?(?::\d+)?)\/)?(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

export interface ImageReference {
	/** As given. */
	raw: string;
	/** The registry host, `docker.io` when the reference names none. */
	registry: string;
	/** The repository path within the registry (`library/nginx` for Docker Hub's official images). */
	repository: string;
	tag?: string;
	digest?: string;
	/** registry/repository[:tag][@digest]: what IMAGE_POLICY's patterns are matched against. */
	canonical: string;
}

/** The registry part of `a/b`: a host only if it has a dot or a port, or is localhost (Docker's rule). */
function isRegistryHost(part: string): boolean {
	return part.includes(".") || part.includes(":") || part === "localhost";
}

/**
 * The reference `ref` names, or undefined when it is not one: it must carry a tag or a digest, so a
 * misspelt catalog name (`ngnix`) is not taken for Docker Hub's `ngnix:latest`.
 */
export function parseImageReference(ref: string): ImageReference | undefined {
	if (ref.length > 512) return undefined;
	const m = REFERENCE.exec(ref);
	if (!m?.groups) return undefined;
	const { tag, digest } = m.groups;
	if (!tag && !digest) return undefined;
	let registry = m.groups.registry;
	let repository = m.groups.path;
	if (registry && !isRegistryHost(registry)) {
		repository = `${registry}/${repository}`;
		registry = undefined as unknown as string;
	}
	registry ??= "docker.io";
	if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
	const canonical = `${registry}/${repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
	return { raw: ref, registry, repository, tag, digest, canonical };
}

/** IMAGE_POLICY's entries: registries (`ghcr.io`) or patterns with `*` (`ghcr.io/acme/*`); none: any image. */
export function imagePolicy(env: NodeJS.ProcessEnv = process.env): string[] {
	return (env.IMAGE_POLICY ?? "").split(",").map(s => s.trim()).filter(Boolean);
}

function globMatches(pattern: string, value: string): boolean {
	const source = pattern.split("*").map(part => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*");
	return new RegExp(`^${source}$`).test(value);
}

/** Whether one policy entry admits the reference (a bare registry admits everything it serves). */
function entryAdmits(entry: string, ref: ImageReference): boolean {
	if (entry.includes("*")) return globMatches(entry, ref.canonical) || globMatches(entry, ref.raw);
	if (entry.includes("/")) return ref.canonical === entry || ref.canonical.startsWith(`${entry}:`) || ref.canonical.startsWith(`${entry}@`) || ref.canonical.startsWith(`${entry}/`);
	return ref.registry === entry;
}

/** Why the policy refuses `ref`, or undefined when it admits it. */
export function policyRefusal(ref: ImageReference, policy: string[] = imagePolicy()): string | undefined {
	if (!policy.length || policy.some(entry => entryAdmits(entry, ref))) return undefined;
	return `Image "${ref.raw}" is not allowed here: IMAGE_POLICY admits only ${policy.join(", ")}`;
}

/**
 * The same for a field that takes any reference, a tag optional (a job's `image`: `busybox` is
 * `busybox:latest`). With a policy, what cannot be read as a reference is refused too.
 */
export function referenceRefusal(ref: string, policy: string[] = imagePolicy()): string | undefined {
	if (!policy.length) return undefined;
	const parsed = parseImageReference(ref) ?? parseImageReference(`${ref}:latest`);
	if (!parsed) return `Image "${ref}" is not an image reference IMAGE_POLICY can check`;
	return policyRefusal(parsed, policy);
}
