import {
	ANNOTATION_CONFIG_CHECKSUM,
	ANNOTATION_ENV_CHECKSUM,
	ANNOTATION_RESTARTED_AT,
	deploymentManifest,
	deploymentManifests,
	podFootprint,
	podResources,
	invalidResourceFields,
	type CatalogImage,
	type DeploymentEntity,
} from "../../lib/manifests/deployment";
import { scaledShortfalls as quotaShortfalls } from "../../lib/quota";
import { serviceManifest } from "../../lib/manifests/service";
import { defaultHost, ingressManifest } from "../../lib/manifests/ingress";
import { dataChecksum, envConfigMap, filesConfigMap } from "../../lib/manifests/configmap";
import { envSecret, secretValues } from "../../lib/manifests/secret";
import { SEED_PHP } from "../helpers/images";

const php: CatalogImage = { id: "img-php", name: "php-8-1-0-fpm", ...structuredClone(SEED_PHP) };

const nginx: CatalogImage = {
	id: "img-nginx",
	name: "nginx",
	image: "nginx:1.27",
	ports: [{ name: "http", port: 80, protocol: "TCP" }],
	configMountPath: "/etc/nginx/conf.d",
	resources: { limits: { cpu: 200, memory: 128 }, requests: { cpu: 50, memory: 32 } },
};

function entity(overrides: Partial<DeploymentEntity> = {}): DeploymentEntity {
	return {
		id: "dep123",
		name: "my-app-php",
		namespace: "ns-entity-id",
		namespaceName: "team-a",
		image: php.id,
		replicas: 1,
		vHosts: [],
		volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: "my-app-nginx-php-data" } }],
		owner: "alice",
		members: [],
		...overrides,
	};
}

describe("deployment manifests", () => {
	it("builds the php-fpm Deployment of the seed: image, port, shared volume, resources from the image, envFrom", () => {
		const d = deploymentManifest({ deployment: entity(), image: php, envChecksum: "abc" });
		expect(d.metadata).toMatchObject({ name: "my-app-php", namespace: "team-a", labels: { "app.kubernetes.io/managed-by": "berth", "berth.dev/id": "dep123" }, annotations: { "berth.dev/id": "dep123" } });
		expect(d.spec?.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "my-app-php", "app.kubernetes.io/instance": "my-app-php" });
		const pod = d.spec!.template;
		expect(pod.metadata?.labels).toMatchObject(d.spec!.selector.matchLabels!);
		expect(pod.metadata?.annotations?.[ANNOTATION_ENV_CHECKSUM]).toBe("abc");
		const [c] = pod.spec!.containers;
		expect(c).toMatchObject({
			name: "my-app-php",
			image: "php:8.1.0-fpm",
			imagePullPolicy: "IfNotPresent",
			ports: [{ name: "php", containerPort: 9000, protocol: "TCP" }],
			resources: { limits: { cpu: "500m", memory: "500Mi" }, requests: { cpu: "100m", memory: "20Mi" } },
			volumeMounts: [{ name: "php-data", mountPath: "/var/www/html" }],
			envFrom: [{ configMapRef: { name: "my-app-php-env", optional: true } }, { secretRef: { name: "my-app-php-env", optional: true } }],
		});
		expect(pod.spec?.volumes).toEqual([{ name: "php-data", persistentVolumeClaim: { claimName: "my-app-nginx-php-data" } }]);
	});

	it("mounts the configMap's files where the image says and rolls on file changes", () => {
		const dep = entity({ name: "my-app-nginx", image: nginx.id, configMap: { name: "nginx-config", data: { "default.conf": "server {}" } } });
		const d = deploymentManifest({ deployment: dep, image: nginx, configChecksum: "c1" });
		const pod = d.spec!.template.spec!;
		expect(pod.volumes).toContainEqual({ name: "nginx-config", configMap: { name: "my-app-nginx-nginx-config" } });
		expect(pod.containers[0].volumeMounts).toContainEqual({ name: "nginx-config", mountPath: "/etc/nginx/conf.d", readOnly: true });
		expect(d.spec!.template.metadata?.annotations?.[ANNOTATION_CONFIG_CHECKSUM]).toBe("c1");
		const cm = filesConfigMap(dep)!;
		expect(cm.metadata).toMatchObject({ name: "my-app-nginx-nginx-config", namespace: "team-a", labels: { "berth.dev/id": "dep123" } });
		expect(cm.data).toEqual({ "default.conf": "server {}" });
		// an explicit mountPath wins over the image's
		const explicit = deploymentManifest({ deployment: { ...dep, configMap: { ...dep.configMap!, mountPath: "/conf" } }, image: nginx });
		expect(explicit.spec!.template.spec!.containers[0].volumeMounts).toContainEqual({ name: "nginx-config", mountPath: "/conf", readOnly: true });
	});

	it("sets the rollout-restart annotation only once a restart was asked for", () => {
		expect(deploymentManifest({ deployment: entity(), image: php }).spec!.template.metadata?.annotations?.[ANNOTATION_RESTARTED_AT]).toBeUndefined();
		const d = deploymentManifest({ deployment: entity({ restartedAt: "2024-01-01T00:00:00.000Z" }), image: php });
		expect(d.spec!.template.metadata?.annotations?.[ANNOTATION_RESTARTED_AT]).toBe("2024-01-01T00:00:00.000Z");
	});

	it("lets the deployment override resources and ports, and caps requests at limits", () => {
		const d = deploymentManifest({ deployment: entity({ resources: { limits: { cpu: "250m" }, requests: { cpu: 400, memory: "64Mi" } }, ports: [{ name: "web", port: 8080 }] }), image: php });
		const c = d.spec!.template.spec!.containers[0];
		expect(c.resources).toEqual({ limits: { cpu: "250m", memory: "500Mi" }, requests: { cpu: "250m", memory: "64Mi" } });
		expect(c.ports).toEqual([{ name: "web", containerPort: 8080, protocol: "TCP" }]);
	});

	it("emits no undefined fields (server-side apply would reject them)", () => {
		const text = JSON.stringify(deploymentManifest({ deployment: entity({ volumes: [] }), image: { id: "x", name: "busybox", image: "busybox:1.36" } }));
		expect(text).not.toContain("null");
		const c = JSON.parse(text).spec.template.spec.containers[0];
		expect(c.ports).toBeUndefined();
		expect(c.volumeMounts).toBeUndefined();
	});

	it("builds the Service the seed's nginx config reaches php-fpm through", () => {
		const svc = serviceManifest(entity(), php)!;
		expect(svc.metadata).toMatchObject({ name: "my-app-php-service", namespace: "team-a", labels: { "berth.dev/id": "dep123" } });
		expect(svc.spec).toEqual({
			type: "ClusterIP",
			selector: { "app.kubernetes.io/name": "my-app-php", "app.kubernetes.io/instance": "my-app-php" },
			ports: [{ name: "php", port: 9000, targetPort: 9000, protocol: "TCP" }],
		});
		expect(serviceManifest(entity(), { ports: [] })).toBeUndefined();
	});

	it("builds an Ingress rule per vHost, or the default host", () => {
		const dep = entity({ name: "my-app-nginx", vHosts: ["my-app.nginx.example.com", "www.example.com"] });
		const ing = ingressManifest(dep, nginx, "berth.local")!;
		expect(ing.spec!.rules!.map(r => r.host)).toEqual(["my-app.nginx.example.com", "www.example.com"]);
		expect(ing.spec!.rules![0].http!.paths[0]).toEqual({ path: "/", pathType: "Prefix", backend: { service: { name: "my-app-nginx-service", port: { number: 80 } } } });
		const byDefault = ingressManifest(entity(), php, "berth.local")!;
		expect(byDefault.spec!.rules!.map(r => r.host)).toEqual(["my-app-php.team-a.berth.local"]);
		expect(defaultHost(entity(), "example.org")).toBe("my-app-php.team-a.example.org");
	});

	it("lists every generated object in apply order", () => {
		const dep = entity({ configMap: { name: "cfg", data: { a: "b" } } });
		expect(deploymentManifests({ deployment: dep, image: php }, "berth.local").map(o => o.kind)).toEqual(["ConfigMap", "Service", "Deployment", "Ingress"]);
		expect(deploymentManifests({ deployment: entity(), image: { id: "x", name: "worker", image: "busybox" } }, "berth.local").map(o => o.kind)).toEqual(["Deployment"]);
	});
});

describe("env objects", () => {
	const target = { id: "dep123", name: "my-app-php", namespaceName: "team-a" };

	it("puts plain values in a ConfigMap and secret ones, base64, in a Secret, both named for envFrom", () => {
		const cm = envConfigMap(target, { A: "1" });
		expect(cm.metadata).toMatchObject({ name: "my-app-php-env", namespace: "team-a", labels: { "app.kubernetes.io/component": "deployment-env", "berth.dev/id": "dep123" } });
		expect(cm.data).toEqual({ A: "1" });
		const secret = envSecret(target, { PASSWORD: "s3cr3t" });
		expect(secret.data).toEqual({ PASSWORD: Buffer.from("s3cr3t").toString("base64") });
		expect(secretValues(secret)).toEqual({ PASSWORD: "s3cr3t" });
	});

	it("has a checksum that ignores key order and sees every change", () => {
		expect(dataChecksum({ a: "1", b: "2" }, {})).toBe(dataChecksum({ b: "2", a: "1" }, {}));
		expect(dataChecksum({ a: "1" }, {})).not.toBe(dataChecksum({ a: "2" }, {}));
		expect(dataChecksum({ a: "1" }, {})).not.toBe(dataChecksum({}, { a: "1" }));
		expect(dataChecksum({ ab: "" })).not.toBe(dataChecksum({ a: "b" }));
	});
});

describe("resources and quota", () => {
	it("turns catalog numbers into quantities", () => {
		expect(podResources(php)).toEqual({ limits: { cpu: "500m", memory: "500Mi" }, requests: { cpu: "100m", memory: "20Mi" } });
		expect(podResources({})).toEqual({ limits: {}, requests: {} });
	});

	it("names malformed amounts", () => {
		expect(invalidResourceFields({ limits: { cpu: "lots", memory: 0 }, requests: { cpu: "100m", memory: -1 } })).toEqual(["resources.limits.cpu", "resources.limits.memory", "resources.requests.memory"]);
		expect(invalidResourceFields({ limits: { cpu: "1", memory: "1Gi" } })).toEqual([]);
	});

	it("finds what does not fit, counting only the difference to what already runs", () => {
		const perPod = podFootprint(podResources(php));
		expect(perPod).toMatchObject({ pods: 1, "requests.cpu": 100, "limits.cpu": 500, "limits.memory": 500 * 2 ** 20 });
		const quota = { hard: { "limits.cpu": "1", "requests.memory": "1Gi", pods: "10" }, used: { "limits.cpu": "500m", "requests.memory": "0", pods: "1" } };
		expect(quotaShortfalls(quota, { replicas: 1, perPod })).toEqual([]);
		expect(quotaShortfalls(quota, { replicas: 2, perPod })).toEqual([{ resource: "limits.cpu", requested: "1000m", used: "500m", hard: "1000m" }]);
		// scaling 1 → 2 when the one pod is already counted in `used`
		expect(quotaShortfalls(quota, { replicas: 2, perPod }, { replicas: 1, perPod })).toEqual([]);
		// scaling down always fits
		expect(quotaShortfalls({ hard: { pods: "1" }, used: { pods: "3" } }, { replicas: 1, perPod }, { replicas: 3, perPod })).toEqual([]);
		expect(quotaShortfalls({}, { replicas: 100, perPod })).toEqual([]);
	});
});
