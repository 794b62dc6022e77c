/**
 * Berth's write access to a namespace it manages: the RoleBinding `berth-writer`
 * (lib/manifests/rbac.ts), applied right after the Namespace and before anything else in it. Under
 * least-privilege RBAC (deploy/kubernetes/berth.yaml) every later write in the namespace rests on
 * it; with no RBAC_SERVICE_ACCOUNT (a dev cluster where Berth is admin) nothing is bound.
 */
import type { KubeClient, KubernetesObject } from "../k8s";
import { writerBindingManifest } from "../manifests/rbac";
import type { TenantPolicy } from "../manifests/security";

/** Berth's 403 (lib/k8s/errors.ts). */
function isForbidden(err: unknown): boolean {
	return (err as { type?: unknown })?.type === "K8S_FORBIDDEN";
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/**
 * Runs `write`, again while the apiserver refuses it for permission, a few seconds at most: a
 * RoleBinding just applied counts once the apiserver's authorizer cache has seen it.
 */
export async function whileBindingSettles<T>(write: () => Promise<T>, attempts = 10, pause: (ms: number) => Promise<void> = sleep): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await write();
		} catch (err) {
			if (!isForbidden(err) || attempt >= attempts) throw err;
			await pause(Math.min(1000, 25 * 2 ** attempt));
		}
	}
}

/**
 * Applies the writer RoleBinding of the namespace `ns` (already applied), then `objects` into it:
 * those wait for the binding to count when this call made one.
 */
export async function applyWithWriterBinding(kube: Pick<KubeClient, "apply">, ns: { id: string; name: string }, policy: Pick<TenantPolicy, "writer">, objects: KubernetesObject[]): Promise<void> {
	const binding = writerBindingManifest(ns, policy.writer);
	if (binding) await kube.apply(binding);
	for (const obj of objects) await (binding ? whileBindingSettles(() => kube.apply(obj)) : kube.apply(obj));
}
