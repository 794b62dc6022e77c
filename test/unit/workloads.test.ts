/** Issue 22's workload fields as the pure builders and rules see them: probes, exposure, TLS, annotations, autoscaling, Berth's variables. */
import * as path from "node:path";
import { loadCatalog, validateImage } from "../../lib/catalog";
import { autoscaleErrors, bookedReplicas, checkScalable } from "../../lib/deployments/autoscale";
import { exposureErrors } from "../../lib/deployments/exposure";
import { decodeDeployment, encodeChange, encodeDeployment } from "../../lib/deployments/store";
import { hpaManifest } from "../../lib/manifests/autoscale";
import { deploymentManifest, deploymentManifests, expandBerthVars, type CatalogImage, type DeploymentEntity } from "../../lib/manifests/deployment";
import { applicationDeployment } from "../../lib/manifests/application";
import { ingressManifest } from "../../lib/manifests/ingress";
import { carriedProbes, containerProbes, probeSpecOf } from "../../lib/manifests/probes";
import { withToken } from "../../lib/applications/token";

const web: CatalogImage = {
	id: "img-web",
	name: "web",
	image: "web:1",
	ports: [
		{ name: "http", port: 8080, protocol: "TCP", expose: "public" },
		{ name: "metrics", port: 9100, protocol: "TCP", expose: "cluster" },
	],
	readinessProbe: { http: { path: "/ready", port: "http" }, periodSeconds: 5 },
	livenessProbe: { tcp: { port: 8080 }, initialDelaySeconds: 10, failureThreshold: 3 },
};
const db: CatalogImage = { id: "img-db", name: "db", image: "postgres:16", ports: [{ name: "postgres", port: 5432, protocol: "TCP", expose: "cluster" }] };

function dep(overrides: Partial<DeploymentEntity> = {}): DeploymentEntity {
	return { id: "d1", name: "site", namespace: "ns1", namespaceName: "team-a", image: web.id, replicas: 2, vHosts: [], volumes: [], owner: "alice", members: [], ...overrides };
}

describe("probes", () => {
	it("come from the image; a deployment replaces one or turns it off", () => {
		expect(containerProbes(web, undefined)).toEqual({
			readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5 },
			livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 10, failureThreshold: 3 },
		});
		const c = deploymentManifest({ deployment: dep({ probes: { readiness: { tcp: { port: 8080 } }, liveness: false, startup: { http: { path: "/", port: 8080 }, failureThreshold: 30 } } }), image: web }).spec!.template.spec!.containers[0];
		expect(c.readinessProbe).toEqual({ tcpSocket: { port: 8080 } });
		expect(c.livenessProbe).toBeUndefined();
		expect(c.startupProbe).toEqual({ httpGet: { path: "/", port: 8080 }, failureThreshold: 30 });
	});

	it("read back from a live container for adoption; what a ProbeSpec cannot say is noted", () => {
		expect(probeSpecOf({ httpGet: { path: "/h", port: 80 }, periodSeconds: 3 })).toEqual({ http: { path: "/h", port: 80 }, periodSeconds: 3 });
		expect(probeSpecOf({ exec: { command: ["true"] } })).toBeUndefined();
		const notes: { field: string; message: string }[] = [];
		expect(carriedProbes({ name: "app", readinessProbe: { tcpSocket: { port: "db" } }, livenessProbe: { grpc: { port: 9 } } }, notes)).toEqual({ readiness: { tcp: { port: "db" } }, liveness: false, startup: false });
		expect(notes.map(n => n.field)).toEqual(["containers[app].livenessProbe"]);
	});

	it("are checked in the catalog: exactly one of http and tcp, a named port the image has", () => {
		const base = { name: "x", namespace: "library", tag: "1", image: "x:1", registry: "docker.io", repository: "x", description: "x", imagePullPolicy: "IfNotPresent", imagePullSecrets: [], ports: [{ name: "http", port: 80, protocol: "TCP" }], env: [], volumes: [], resources: { limits: { cpu: 1, memory: 1 }, requests: { cpu: 1, memory: 1 } } };
		expect(validateImage({ ...base, readinessProbe: { http: { path: "/", port: "http" } } }, "x.json").readinessProbe).toEqual({ http: { path: "/", port: "http" } });
		expect(() => validateImage({ ...base, readinessProbe: { tcp: { port: "nope" } } }, "x.json")).toThrow(/readinessProbe.*nope/);
		expect(() => validateImage({ ...base, livenessProbe: { tcp: { port: 80 }, http: { path: "/", port: 80 } } }, "x.json")).toThrow(/livenessProbe.*exactly one/);
		expect(() => validateImage({ ...base, livenessProbe: { exec: {} } }, "x.json")).toThrow(/livenessProbe\.exec/);
	});

	it("the starter catalog: nginx HTTP /, postgres and redis TCP, databases inside the cluster", () => {
		const byName = new Map(loadCatalog(path.join(__dirname, "../../images")).map(i => [i.name, i]));
		expect(byName.get("nginx")?.readinessProbe).toMatchObject({ http: { path: "/", port: 80 } });
		for (const name of ["postgres", "redis"]) {
			expect(byName.get(name)?.readinessProbe?.tcp).toBeDefined();
			expect(byName.get(name)?.ports.every(p => p.expose === "cluster")).toBe(true);
		}
		expect(byName.get("nginx")?.ports[0].expose).toBe("public");
	});
});

describe("exposure", () => {
	it("routes only public ports; a database gets no Ingress", () => {
		const ing = ingressManifest(dep(), web, "apps.test")!;
		expect(ing.spec?.rules?.[0].http?.paths[0].backend.service?.port?.number).toBe(8080);
		expect(ingressManifest(dep({ image: db.id }), db, "apps.test")).toBeUndefined();
		// A deployment's own port takes the image's exposure of that number unless it says otherwise.
		expect(ingressManifest(dep({ ports: [{ name: "pg", port: 5432 }] }), db, "apps.test")).toBeUndefined();
		expect(ingressManifest(dep({ ports: [{ name: "pg", port: 5432, expose: "public" }] }), db, "apps.test")).toBeDefined();
		expect(ingressManifest(dep({ ports: [{ name: "http", port: 8080, expose: "cluster" }] }), web, "apps.test")).toBeUndefined();
	});

	it("class, TLS from the issuer or a named Secret, allowed annotations only", () => {
		const site = { baseDomain: "apps.test", ingressClass: "nginx", tlsIssuer: "letsencrypt", annotationsAllowed: ["nginx.ingress.kubernetes.io/proxy-body-size"] };
		const ing = ingressManifest(dep({ tls: true, annotations: { "nginx.ingress.kubernetes.io/proxy-body-size": "8m", "evil/x": "1" } }), web, site)!;
		expect(ing.spec?.ingressClassName).toBe("nginx");
		expect(ing.spec?.tls).toEqual([{ hosts: ["site.team-a.apps.test"], secretName: "site-tls" }]);
		expect(ing.metadata?.annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt", "nginx.ingress.kubernetes.io/proxy-body-size": "8m", "berth.dev/id": "d1", "berth.dev/kind": expect.any(String) });
		const named = ingressManifest(dep({ tls: { secretName: "my-cert" }, vHosts: ["a.example.com"] }), web, site)!;
		expect(named.spec?.tls).toEqual([{ hosts: ["a.example.com"], secretName: "my-cert" }]);
		expect(named.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBeUndefined();
		expect(ingressManifest(dep(), web, "apps.test")!.spec).not.toHaveProperty("ingressClassName");
	});

	it("refuses tls: true without TLS_ISSUER, annotations not allowed, and probes on ports the container lacks", () => {
		const none = { annotationsAllowed: [] };
		expect(exposureErrors(dep({ tls: true }), web, none).map(e => e.field)).toEqual(["tls"]);
		expect(exposureErrors(dep({ tls: true }), web, { ...none, tlsIssuer: "le" })).toEqual([]);
		expect(exposureErrors(dep({ annotations: { "a/b": "1" } }), web, { annotationsAllowed: ["c/d"] })).toEqual([expect.objectContaining({ field: "annotations", message: expect.stringContaining("a/b") })]);
		expect(exposureErrors(dep({ probes: { readiness: { tcp: { port: "grpc" } } } }), web, none).map(e => e.field)).toEqual(["probes.readiness"]);
	});

	it("stores annotation keys (dots and all) as entries, and clears with null", () => {
		const stored = encodeDeployment({ annotations: { "a.b/c": "1" } });
		expect(stored.annotations).toEqual([{ key: "a.b/c", value: "1" }]);
		expect(decodeDeployment({ id: 1, annotations: stored.annotations }).annotations).toEqual({ "a.b/c": "1" });
		expect(encodeChange({ autoscale: undefined, tls: undefined })).toEqual({ autoscale: null, tls: null });
		expect(decodeDeployment({ id: 1, autoscale: null })).not.toHaveProperty("autoscale");
	});
});

describe("autoscaling", () => {
	const autoscale = { minReplicas: 2, maxReplicas: 6, cpu: 70 };

	it("makes an autoscaling/v2 HPA and leaves replicas out of the Deployment", () => {
		expect(hpaManifest(dep({ autoscale }))?.spec).toEqual({
			scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "site" },
			minReplicas: 2,
			maxReplicas: 6,
			metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
		});
		expect(hpaManifest(dep({ autoscale: { minReplicas: 1, maxReplicas: 2, memory: 60 } }))?.spec?.metrics?.map(m => m.resource?.name)).toEqual(["memory"]);
		expect(hpaManifest(dep({ autoscale: { minReplicas: 1, maxReplicas: 2 } }))?.spec?.metrics?.[0].resource?.target.averageUtilization).toBe(80);
		expect(deploymentManifest({ deployment: dep({ autoscale }), image: web }).spec).not.toHaveProperty("replicas");
		expect(deploymentManifest({ deployment: dep(), image: web }).spec?.replicas).toBe(2);
		expect(deploymentManifests({ deployment: dep({ autoscale }), image: web }, "apps.test").map(o => o.kind)).toEqual(["Service", "Deployment", "HorizontalPodAutoscaler", "Ingress"]);
		expect(hpaManifest(dep())).toBeUndefined();
	});

	it("books maxReplicas, refuses min > max, and a scale is a 409 while it is on", () => {
		expect(bookedReplicas(dep({ autoscale }))).toBe(6);
		expect(bookedReplicas(dep())).toBe(2);
		expect(autoscaleErrors(dep({ autoscale: { minReplicas: 5, maxReplicas: 2 } })).map(e => e.field)).toEqual(["autoscale.minReplicas"]);
		expect(() => checkScalable(dep({ autoscale }))).toThrow(expect.objectContaining({ code: 409 }));
		expect(() => checkScalable(dep())).not.toThrow();
	});
});

describe("Berth's variables and the launcher's token", () => {
	it("writes out $(BERTH_BASE_PATH): an application's path, a deployment's root", () => {
		expect(expandBerthVars(["--base=$(BERTH_BASE_PATH)/", "$$(BERTH_BASE_PATH)", "$(HOME)"], { BERTH_BASE_PATH: "/user/abc" })).toEqual(["--base=/user/abc/", "$$(BERTH_BASE_PATH)", "$(HOME)"]);
		const template = { id: "t", name: "jupyter-notebook", image: "jupyter:1", args: ["start-notebook.py", "--ServerApp.base_url=$(BERTH_BASE_PATH)/"] };
		expect(applicationDeployment({ id: "0123", namespace: "apps", template }).spec?.template.spec?.containers[0].args).toEqual(["start-notebook.py", "--ServerApp.base_url=/user/0123/"]);
		expect(deploymentManifest({ deployment: dep(), image: { ...template } }).spec?.template.spec?.containers[0].args).toEqual(["start-notebook.py", "--ServerApp.base_url=/"]);
	});

	it("appends the token as BinderHub does", () => {
		expect(withToken("https://h/user/abc", "t k")).toBe("https://h/user/abc/?token=t%20k");
	});
});
