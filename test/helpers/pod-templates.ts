import { loadCatalog } from "../../lib/catalog";
import type { V1Pod, V1PodTemplateSpec } from "../../lib/k8s";
import { applicationDeployment } from "../../lib/manifests/application";
import { deploymentManifest, type CatalogImage } from "../../lib/manifests/deployment";
import { jobFor } from "../../lib/manifests/job";
import { specDeployment } from "../../lib/manifests/spec";
import { DEFAULT_GPU_OPTIONS, parseSpec } from "../../lib/specs/parse";
import { SEED_YAML } from "./seed-spec";

/** One pod template Berth generates, named by what generated it. */
export interface GeneratedTemplate {
	what: string;
	/** The catalog image it comes from, if any. */
	image?: CatalogImage;
	template: V1PodTemplateSpec;
}

/**
 * Every kind of pod template Berth generates: a deployment and an application instance of each
 * starter catalog image, the seed's service spec (its GPU left out: the local cluster has none), and a job.
 */
export function generatedTemplates(namespace: string): GeneratedTemplate[] {
	const out: GeneratedTemplate[] = [];
	for (const entry of loadCatalog()) {
		const image: CatalogImage = { ...(entry as unknown as CatalogImage), id: `img-${entry.name}` };
		const deployment = deploymentManifest({
			image,
			deployment: {
				id: `dep-${entry.name}`, name: entry.name, namespace: "ns-id", namespaceName: namespace, image: image.id, replicas: 1, vHosts: [], owner: "o", members: [],
				volumes: entry.volumes.map(v => ({ ...v, persistentVolumeClaim: { claimName: v.name } })),
			},
		});
		out.push({ what: `deployment of ${entry.name}`, image, template: deployment.spec!.template });
		const app = applicationDeployment({ id: "a".repeat(32), namespace, template: image });
		out.push({ what: `application of ${entry.name}`, image, template: app.spec!.template });
	}
	const parsed = parseSpec(SEED_YAML.replace("    gpu: 'nvidia/gpu'", ""), { gpuOptions: DEFAULT_GPU_OPTIONS });
	if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
	const spec = specDeployment({ id: "spec-1", resourceName: "seed-spec", namespaceName: namespace }, parsed.spec, { gpuOptions: DEFAULT_GPU_OPTIONS, baseDomain: "example.test" });
	out.push({ what: "service spec", template: spec.spec!.template });
	const job = jobFor({ id: "job-1", name: "job-1", command: ["true"], image: "python:3.12-slim", env: [], resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } }, timeoutSeconds: 60, backoffLimit: 0, ttlSecondsAfterFinished: 60 }, namespace);
	out.push({ what: "job", template: job.spec!.template });
	return out;
}

/** The template as a bare Pod in `namespace`, what the PodSecurity admission plugin judges. */
export function podOf(template: V1PodTemplateSpec, name: string, namespace: string): V1Pod {
	return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec: template.spec };
}
