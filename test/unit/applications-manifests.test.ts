import type { V1Pod } from "../../lib/k8s";
import {
	applicationFootprint,
	applicationManifests,
	generatedSecretKeys,
	ingressHost,
	instanceHealth,
	locationOf,
	type ApplicationInstance,
	type ApplicationTemplate,
} from "../../lib/manifests/application";

const id = "84b8f9e8d573e73016fa2c14bad86a4d";
const notebook: ApplicationTemplate = {
	id: "img-1",
	name: "jupyter-notebook",
	image: "quay.io/jupyter/base-notebook:python-3.11",
	imagePullPolicy: "IfNotPresent",
	imagePullSecrets: [],
	ports: [{ name: "http", port: 8888, protocol: "TCP" }],
	env: [
		{ key: "JUPYTER_TOKEN", type: "secret" },
		{ key: "MODE", type: "as-is", value: "lab" },
	],
	volumes: [{ name: "notebook-work", type: "persistentVolumeClaim", mountPath: "/home/jovyan/work" }],
	resources: { limits: { cpu: 1000, memory: 1024 }, requests: { cpu: 100, memory: 256 } },
};
const inst: ApplicationInstance = { id, namespace: "berth-apps", template: notebook };

const pod = (status: V1Pod["status"], extra: Partial<V1Pod["metadata"]> = {}): V1Pod => ({ metadata: { name: "p", ...extra }, status });

describe("application manifests (pure)", () => {
	const [secret, service, deployment, ingress] = applicationManifests(inst, { publicHost: "104.197.56.211" }, { JUPYTER_TOKEN: "generated" });

	it("makes a Secret, a Service, a Deployment and an Ingress, all labelled back to the instance", () => {
		expect([secret, service, deployment, ingress].map(o => `${o.kind}/${o.metadata?.name}`)).toEqual([`Secret/app-${id}-env`, `Service/app-${id}`, `Deployment/app-${id}`, `Ingress/app-${id}`]);
		for (const o of [secret, service, deployment, ingress]) {
			expect(o.metadata?.namespace).toBe("berth-apps");
			expect(o.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "application", "berth.dev/id": id, "berth.dev/template": "jupyter-notebook" });
			expect(o.metadata?.annotations).toEqual({ "berth.dev/id": id, "berth.dev/kind": "application" });
		}
	});

	it("routes /user/<id> to the HTTP port, with no host for an address and the host for a name", () => {
		expect(ingress.kind).toBe("Ingress");
		expect((ingress as { spec: unknown }).spec).toEqual({ rules: [{ http: { paths: [{ path: `/user/${id}`, pathType: "Prefix", backend: { service: { name: `app-${id}`, port: { number: 8888 } } } }] } }] });
		const named = applicationManifests(inst, { publicHost: "https://apps.example.org:8443/", ingressClassName: "nginx" })[3] as { spec: { ingressClassName?: string; rules: { host?: string }[] } };
		expect(named.spec.ingressClassName).toBe("nginx");
		expect(named.spec.rules[0].host).toBe("apps.example.org");
		expect([ingressHost("10.0.0.1"), ingressHost("localhost:3000"), ingressHost("[::1]"), ingressHost("Apps.Example.org/x")]).toEqual([undefined, undefined, undefined, "apps.example.org"]);
		expect(locationOf("104.197.56.211", id)).toBe(`104.197.56.211/user/${id}`);
		expect(locationOf("https://apps.example.org/", id)).toBe(`https://apps.example.org/user/${id}`);
	});

	it("runs one pod with scratch volumes, no cluster credentials, secret env from the Secret and the base path", () => {
		const spec = (deployment as { spec: any }).spec;
		expect(spec.replicas).toBe(1);
		expect(spec.strategy).toEqual({ type: "Recreate" });
		expect(spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": `app-${id}`, "app.kubernetes.io/instance": `app-${id}` });
		const podSpec = spec.template.spec;
		expect(podSpec.automountServiceAccountToken).toBe(false);
		expect(podSpec.volumes).toEqual([{ name: "notebook-work", emptyDir: {} }]);
		const [container] = podSpec.containers;
		expect(container).toMatchObject({
			image: "quay.io/jupyter/base-notebook:python-3.11",
			ports: [{ name: "http", containerPort: 8888, protocol: "TCP" }],
			resources: { limits: { cpu: "1000m", memory: "1024Mi" }, requests: { cpu: "100m", memory: "256Mi" } },
			volumeMounts: [{ name: "notebook-work", mountPath: "/home/jovyan/work" }],
		});
		expect(container.env).toEqual([
			{ name: "JUPYTER_TOKEN", valueFrom: { secretKeyRef: { name: `app-${id}-env`, key: "JUPYTER_TOKEN" } } },
			{ name: "MODE", value: "lab" },
			{ name: "BERTH_APP_ID", value: id },
			{ name: "BERTH_BASE_PATH", value: `/user/${id}` },
		]);
		expect((secret as { data: Record<string, string> }).data).toEqual({ JUPYTER_TOKEN: Buffer.from("generated").toString("base64") });
		expect(generatedSecretKeys(notebook)).toEqual(["JUPYTER_TOKEN"]);
		expect((service as { spec: any }).spec.ports).toEqual([{ name: "http", port: 8888, targetPort: 8888, protocol: "TCP" }]);
	});

	it("leaves out what a template does not need: no Secret without secret env, no Service or route without ports", () => {
		const plain = { ...notebook, env: [], ports: [] };
		expect(applicationManifests({ ...inst, template: plain }, { publicHost: "h.example" }).map(o => o.kind)).toEqual(["Deployment"]);
	});

	it("counts one pod's share of the quota", () => {
		expect(applicationFootprint(notebook)).toEqual({ pods: 1, cpu: 100, "requests.cpu": 100, memory: 256 * 2 ** 20, "requests.memory": 256 * 2 ** 20, "limits.cpu": 1000, "limits.memory": 1024 * 2 ** 20 });
	});

	it("is Ready once a live pod is, fails only for what waiting will not mend", () => {
		const ready = pod({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] });
		expect(instanceHealth([ready])).toEqual({ ready: true });
		expect(instanceHealth([pod({ phase: "Pending" })])).toEqual({ ready: false });
		expect(instanceHealth([])).toEqual({ ready: false });
		// A terminating pod does not count.
		expect(instanceHealth([pod(ready.status, { deletionTimestamp: new Date() })])).toEqual({ ready: false });
		const pulling = pod({ phase: "Pending", containerStatuses: [{ name: "app", ready: false, restartCount: 0, image: "x", imageID: "", state: { waiting: { reason: "ImagePullBackOff", message: "not found" } } }] });
		expect(instanceHealth([pulling])).toEqual({ ready: false, failure: "ImagePullBackOff: not found" });
		const creating = pod({ phase: "Pending", containerStatuses: [{ name: "app", ready: false, restartCount: 0, image: "x", imageID: "", state: { waiting: { reason: "ContainerCreating" } } }] });
		expect(instanceHealth([creating])).toEqual({ ready: false });
		expect(instanceHealth([], { status: { conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "took too long" }] } })).toEqual({ ready: false, failure: "ProgressDeadlineExceeded: took too long" });
		// No pods because a quota forbids them: waiting (the start timeout decides).
		expect(instanceHealth([], { status: { conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "exceeded quota" }] } })).toEqual({ ready: false });
	});
});
