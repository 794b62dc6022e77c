import type { V1Container, V1Deployment, V1ObjectMeta } from "../../lib/k8s";

type PodSpec = NonNullable<NonNullable<V1Deployment["spec"]>["template"]["spec"]>;

/**
 * The Deployment the adoption tests find "made with kubectl": `legacy`, selecting `app: legacy`,
 * with the replicas, pod spec and any further metadata (namespace, labels) a test gives it.
 */
export function legacyDeployment(opts: { metadata?: V1ObjectMeta; replicas: number; pod: PodSpec }): V1Deployment {
	return {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name: "legacy", labels: { app: "legacy" }, ...opts.metadata },
		spec: {
			replicas: opts.replicas,
			selector: { matchLabels: { app: "legacy" } },
			template: { metadata: { labels: { app: "legacy" } }, spec: opts.pod },
		},
	};
}

/** Its usual container: `server`, nginx serving http on 80, with what a test adds or replaces. */
export function legacyServer(extra: Partial<V1Container> = {}): V1Container {
	return { name: "server", image: "nginx:1.27", ports: [{ name: "http", containerPort: 80 }], ...extra };
}
