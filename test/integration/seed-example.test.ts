import { ServiceBroker } from "moleculer";
import type { V1ConfigMap, V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Secret, V1Service } from "../../lib/k8s";
import { kube, readClusterEnv, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const clusterEnv = readClusterEnv();
const mongoUri = process.env.MONGO_URI || clusterEnv.MONGO_URI;
const natsUrl = process.env.NATS_URL || clusterEnv.NATS_URL;

const backends = envBackends;

/** The domain of the seed's vHosts (`my-app.nginx.example.com`): an admin grants it to the namespaces the example runs in. */
const SEED_DOMAIN = "nginx.example.com";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"];

/** nginx in front of php-fpm: static files from the shared volume, .php handed to the php Service. */
function nginxConf(phpHost: string): string {
	return [
		"server {",
		"    listen 80;",
		"    root /var/www/html;",
		"    index index.php index.html;",
		"    location / { try_files $uri $uri/ /index.php?$query_string; }",
		"    location ~ \\.php$ {",
		"        include fastcgi_params;",
		`        fastcgi_pass ${phpHost}:9000;`,
		"        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
		"    }",
		"}",
	].join("\n");
}

/** The seed's `ctx`: only `call`, as the seed uses it. Its answers are untyped, as in the seed's JavaScript. */
type SeedCtx = { call: (action: string, params?: unknown, opts?: unknown) => Promise<any> };

/**
 * The seed's "How to use", "Storage" and "Deployment" code (docs: the k8s-moleculer-services seed),
 * verbatim, nginx config included. Three things are not the seed's, and say so: the seed shows two
 * ways to get `phpImage` ("// or"), and the first needs an id of the seed's own database, so only
 * the second runs; the seed uses `nginxImage` without getting it, so one line gets it as `phpImage`
 * is got; and its two `const deployment` sit in blocks of their own, as one function needs.
 */
async function seedExample(ctx: SeedCtx) {
	// Get namespace
	const namespace = await ctx.call("v1.k8s.namespaces.resolveName", {
	    name: "default"
	});

	// deployment membership
	const options = {
	    meta: {
	        userID: namespace.owner
	    }
	};

	const name = "my-app";
	const serviceURL = "svc.cluster.local";

	const sharedVolume = await ctx.call("v1.k8s.volumes.create", {
	      namespace: namespace.id,
	      name: `${name}-nginx-php-data`,
	      type: "persistentVolumeClaim",
	      mountPath: "/var/www/html"
	}, options);

	const phpImage = await ctx.call("v1.k8s.images.resolveName", {
	      name: "php-8-1-0-fpm"
	});
	const phpSchema = {
	      name: `${name}-php`,
	      namespace: namespace.id,
	      image: phpImage.id,
	      volumes: [
	         {
	            name: "php-data",
	            type: "persistentVolumeClaim",
	            mountPath: "/var/www/html",
	            persistentVolumeClaim: {
	                  claimName: sharedVolume.name
	            }
	         }
	      ],
	};
	let php;
	{
	const deployment = await ctx.call("v1.k8s.deployments.create", phpSchema, options);
	php = deployment;
	}

	// Not in the seed, which uses nginxImage without getting it: got as phpImage is.
	const nginxImage = await ctx.call("v1.k8s.images.resolveName", { name: "nginx" });

	const nginxSchema = {
	   name: `${name}-nginx`,
	   namespace: namespace.id,
	   image: nginxImage.id,
	   vHosts: [name + ".nginx.example.com"],
	   volumes: [
	      {
	         name: "nginx-data",
	         type: "persistentVolumeClaim",
	         mountPath: "/var/www/html",
	         persistentVolumeClaim: {
	               claimName: sharedVolume.name
	         }
	      }
	   ],
	   configMap: {
	      name: 'nginx-config',
	      data: {
	         'default.conf': `
server {
    index index.php index.html;
    error_log  /var/log/nginx/error.log;
    access_log /var/log/nginx/access.log;
    root /var/www/html;

    location / {
        try_files $uri $uri/ /index.php?$query_string;
    }

    location ~ .php$ {
        try_files $uri =404;
        fastcgi_split_path_info ^(.+.php)(/.+)$;
        fastcgi_pass ${phpSchema.name}-service.${namespace.name}.${serviceURL}:9000;
        fastcgi_index index.php;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $proxy_protocol_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $proxy_protocol;
        proxy_set_header X-Forwarded-Port $proxy_protocol_port;

    }
}`

	         }
	      }
	};

	let nginx;
	{
	const deployment = await ctx.call("v1.k8s.deployments.create", nginxSchema, options);
	nginx = deployment;
	}
	return { namespace, options, sharedVolume, php, nginx };
}

/** What the seed's example leaves in the cluster's `default` namespace: removed before and after, since every run uses the same names. */
const SEED_OBJECTS: [string, string, string][] = [
	["apps/v1", "Deployment", "my-app-php"],
	["apps/v1", "Deployment", "my-app-nginx"],
	["v1", "Service", "my-app-php-service"],
	["v1", "Service", "my-app-nginx-service"],
	["networking.k8s.io/v1", "Ingress", "my-app-php"],
	["networking.k8s.io/v1", "Ingress", "my-app-nginx"],
	["v1", "ConfigMap", "my-app-nginx-nginx-config"],
	["v1", "Secret", "my-app-php-env"],
];

async function clearSeedObjects(claim?: string): Promise<void> {
	const objects = [...SEED_OBJECTS, ...(claim ? [["v1", "PersistentVolumeClaim", claim] as [string, string, string]] : [])];
	for (const [apiVersion, kind, name] of objects) await kube().delete({ apiVersion, kind, name, namespace: "default" }).catch(() => undefined);
}

const get = <T>(kind: string, apiVersion: string, name: string, namespace: string) => kube().get<T & { kind?: string }>({ apiVersion, kind, name, namespace }) as Promise<T | undefined>;

/** What both runs must find in the apiserver after the seed's calls. */
async function checkCluster(nsName: string, name: string, claim: string, vHost: string): Promise<void> {
	const php = `${name}-php`;
	const nginx = `${name}-nginx`;
	// Both Deployments run (kwok makes the pods Ready) and mount the one shared claim at /var/www/html.
	for (const dep of [php, nginx]) {
		const live = await eventually(async () => {
			const d = await get<V1Deployment>("Deployment", "apps/v1", dep, nsName);
			expect(d?.status?.readyReplicas).toBe(1);
			return d as V1Deployment;
		});
		const pod = live.spec!.template.spec!;
		expect(pod.volumes).toContainEqual(expect.objectContaining({ persistentVolumeClaim: { claimName: claim } }));
		expect(pod.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ mountPath: "/var/www/html" }));
		expect(live.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth" });
	}
	expect((await get<V1Deployment>("Deployment", "apps/v1", php, nsName))!.spec!.template.spec!.containers[0].image).toBe("php:8.1.0-fpm");
	const nginxDep = (await get<V1Deployment>("Deployment", "apps/v1", nginx, nsName))!;
	expect(nginxDep.spec!.template.spec!.containers[0].image).toBe("nginx:1.27");
	expect(nginxDep.spec!.template.spec!.containers[0].volumeMounts).toContainEqual({ name: "nginx-config", mountPath: "/etc/nginx/conf.d", readOnly: true });

	// php-fpm is reachable where the nginx config sends it: <php>-service.<namespace>.svc.cluster.local:9000
	const phpSvc = await get<V1Service>("Service", "v1", `${php}-service`, nsName);
	expect(phpSvc?.spec?.ports).toEqual([expect.objectContaining({ name: "php", port: 9000, targetPort: 9000, protocol: "TCP" })]);
	expect(phpSvc?.spec?.selector).toEqual(expect.objectContaining({ "app.kubernetes.io/instance": php }));
	expect(phpSvc?.spec?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
	const nginxSvc = await get<V1Service>("Service", "v1", `${nginx}-service`, nsName);
	expect(nginxSvc?.spec?.ports).toEqual([expect.objectContaining({ name: "http", port: 80 })]);

	// The nginx config, as files, with the php Service's cluster DNS name in it.
	const cm = await get<V1ConfigMap>("ConfigMap", "v1", `${nginx}-nginx-config`, nsName);
	expect(cm?.data?.["default.conf"]).toContain(`fastcgi_pass ${php}-service.${nsName}.svc.cluster.local:9000;`);

	// The vHost routes to nginx; php-fpm (FastCGI, `expose: "cluster"` in the catalog) gets no Ingress.
	const ing = await get<V1Ingress>("Ingress", "networking.k8s.io/v1", nginx, nsName);
	expect(ing?.spec?.rules).toEqual([{ host: vHost, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: `${nginx}-service`, port: { number: 80 } } } }] } }]);
	expect(await get<V1Ingress>("Ingress", "networking.k8s.io/v1", php, nsName)).toBeUndefined();

	// The image's declared secret, generated, in a Secret the php container reads through envFrom.
	const secret = await get<V1Secret>("Secret", "v1", `${php}-env`, nsName);
	expect(Buffer.from(secret!.data!.PHP_ROOT_PASSWORD, "base64").toString()).toMatch(/^[A-Za-z0-9_-]{43}$/);
	expect((await get<V1Deployment>("Deployment", "apps/v1", php, nsName))!.spec!.template.spec!.containers[0].envFrom).toContainEqual({ secretRef: { name: `${php}-env`, optional: true } });

	const pvc = await get<V1PersistentVolumeClaim>("PersistentVolumeClaim", "v1", claim, nsName);
	expect(pvc?.status?.phase).toBe("Bound");
}

describe.each(backends)("the seed's php-fpm + nginx example, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let client: ServiceBroker;
	const cleanups: (() => Promise<unknown>)[] = [];

	beforeAll(async () => {
		useBackend();
		if (!natsUrl) throw new Error("NATS_URL is not set and .cluster/env names none: nats-server must be up (scripts/cluster/up.sh)");
		// A broker namespace of our own: other test runs on the same nats-server never answer our calls.
		const meshNamespace = uniqueName("berth-it");
		mesh = await startMesh(SERVICES, { transporter: natsUrl as never, namespace: meshNamespace, nodeID: uniqueName("services") });
		client = new ServiceBroker({ namespace: meshNamespace, transporter: natsUrl as never, nodeID: uniqueName("client"), logger: false, requestTimeout: 60_000 });
		await client.start();
		await client.waitForServices(["v1.k8s.namespaces", "v1.k8s.images", "v1.k8s.volumes", "v1.k8s.deployments", "v1.k8s.envs"], 30_000);
	});

	afterAll(async () => {
		for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
		await client?.stop();
		await mesh?.stop();
	});

	/** An admin's grant of `domain` to namespace `name` (lib/namespaces/domains.ts), revoked at the end. */
	async function grantDomain(name: string, domain: string): Promise<void> {
		const admin = { meta: { userID: "root", roles: ["admin"] } };
		const ns = await client.call<{ id: string }, object>("v1.k8s.namespaces.resolveName", { name });
		await client.call("v1.k8s.namespaces.grantDomain", { id: ns.id, domain }, admin);
		cleanups.push(() => client.call("v1.k8s.namespaces.revokeDomain", { id: ns.id, domain }, admin));
	}

	// First: the vHost is the seed's.
	it("runs as the seed writes it, from resolveName(\"default\") on, in the cluster's default namespace", async () => {
		await clearSeedObjects("my-app-nginx-php-data");
		// Not the seed's: its vHost is outside default.<BASE_DOMAIN>, so an admin grants its domain first.
		await grantDomain("default", SEED_DOMAIN);
		const ctx: SeedCtx = { call: (action, params, opts) => client.call(action, params as object, opts as object) };
		const { namespace, options, sharedVolume, php, nginx } = await seedExample(ctx);
		cleanups.push(() => clearSeedObjects(sharedVolume.name));
		try {
			await checkSeedRun(namespace, options, sharedVolume, php, nginx);
		} finally {
			// Removed through the same mesh, as its owner; the other backend's run uses the seed's vHost too.
			for (const dep of [nginx, php]) await client.call("v1.k8s.deployments.remove", { id: dep.id }, options).catch(() => undefined);
			await eventually(async () => expect(await get("Deployment", "apps/v1", "my-app-php", "default")).toBeUndefined());
			// The seed's vHost is free again for the next run (any Ingress serving it holds it).
			await eventually(async () => expect(await get("Ingress", "networking.k8s.io/v1", "my-app-nginx", "default")).toBeUndefined());
		}
		await eventually(async () => expect(await client.call("v1.k8s.volumes.remove", { id: sharedVolume.id }, options)).toMatchObject({ id: sharedVolume.id }));
	});

	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	async function checkSeedRun(namespace: any, options: any, sharedVolume: any, php: any, nginx: any): Promise<void> {
		// The cluster's default namespace, held by the system identity; the example acts as that owner.
		expect(namespace).toMatchObject({ name: "default", owner: "system", members: [], quota: null, phase: "Active" });
		expect(options.meta.userID).toBe("system");
		expect(php).toMatchObject({ name: "my-app-php", namespace: namespace.id, owner: "system" });
		expect(nginx).toMatchObject({ name: "my-app-nginx", namespace: namespace.id, vHosts: ["my-app.nginx.example.com"], configMap: { name: "nginx-config" } });
		await checkCluster("default", "my-app", sharedVolume.name, "my-app.nginx.example.com");
		const cm = await get<V1ConfigMap>("ConfigMap", "v1", "my-app-nginx-nginx-config", "default");
		expect(cm?.data?.["default.conf"]).toContain("fastcgi_split_path_info ^(.+.php)(/.+)$;");

		// A tenant cannot see or use it; nor can the held namespace be changed, shared or removed.
		const tenant = { meta: { userID: uniqueName("tenant") } };
		await expect(client.call("v1.k8s.namespaces.get", { id: namespace.id }, tenant)).rejects.toMatchObject({ code: 404 });
		await expect(client.call("v1.k8s.volumes.create", { namespace: namespace.id, name: "mine", mountPath: "/x" }, tenant)).rejects.toMatchObject({ code: 404 });
		await expect(client.call("v1.k8s.deployments.get", { id: php.id }, tenant)).rejects.toMatchObject({ code: 404 });
		await expect(client.call("v1.k8s.namespaces.addMember", { id: namespace.id, member: tenant.meta.userID }, tenant)).rejects.toMatchObject({ code: 404 });
		await expect(client.call("v1.k8s.namespaces.addMember", { id: namespace.id, member: tenant.meta.userID }, options)).rejects.toMatchObject({ code: 403 });
		await expect(client.call("v1.k8s.namespaces.remove", { id: namespace.id }, options)).rejects.toMatchObject({ code: 403 });
		await expect(client.call("v1.k8s.namespaces.update", { id: namespace.id, quota: { cpu: "1" } }, options)).rejects.toMatchObject({ code: 403 });
		await expect(client.call("v1.k8s.namespaces.create", { name: "default" }, options)).rejects.toMatchObject({ code: 422 });
		expect(await client.call("v1.k8s.namespaces.resolveName", { name: "default" })).toEqual(namespace);
	}

	it("runs through ctx.call from a second broker over NATS", async () => {
		const user = uniqueName("owner");
		const nsName = uniqueName("it-seed");
		await client.call("v1.k8s.namespaces.create", { name: nsName }, { meta: { userID: user } });
		cleanups.push(async () => {
			const ns = await client.call<{ id: string }, object>("v1.k8s.namespaces.resolveName", { name: nsName });
			await client.call("v1.k8s.namespaces.remove", { id: ns.id }, { meta: { userID: user } });
		});

		// Not the seed's: a domain of this run's own (a host any Ingress serves is taken), granted by an admin.
		const domain = `${uniqueName("seed")}.example.com`;
		await grantDomain(nsName, domain);

		// The seed, call for call.
		const namespace = await client.call<{ id: string; name: string; owner: string }, object>("v1.k8s.namespaces.resolveName", { name: nsName });
		const options = { meta: { userID: namespace.owner } };
		const name = "my-app";
		const serviceURL = "svc.cluster.local";

		const sharedVolume = await client.call<{ name: string }, object>(
			"v1.k8s.volumes.create",
			{ namespace: namespace.id, name: `${name}-nginx-php-data`, type: "persistentVolumeClaim", mountPath: "/var/www/html" },
			options,
		);

		const byName = await client.call<{ id: string }, object>("v1.k8s.images.resolveName", { name: "php-8-1-0-fpm" }, options);
		const phpImage = await client.call<{ id: string; name: string }, object>("v1.k8s.images.get", { id: byName.id }, options);
		expect(phpImage.name).toBe("php-8-1-0-fpm");
		const phpSchema = {
			name: `${name}-php`,
			namespace: namespace.id,
			image: phpImage.id,
			volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: sharedVolume.name } }],
		};
		const phpDeployment = await client.call<{ id: string; status: { phase: string } }, object>("v1.k8s.deployments.create", phpSchema, options);
		expect(phpDeployment).toMatchObject({ name: "my-app-php", namespace: namespace.id, owner: user });

		const nginxImage = await client.call<{ id: string }, object>("v1.k8s.images.resolveName", { name: "nginx" }, options);
		const nginxSchema = {
			name: `${name}-nginx`,
			namespace: namespace.id,
			image: nginxImage.id,
			vHosts: [`${name}.${domain}`],
			volumes: [{ name: "nginx-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: sharedVolume.name } }],
			configMap: { name: "nginx-config", data: { "default.conf": nginxConf(`${phpSchema.name}-service.${namespace.name}.${serviceURL}`) } },
		};
		const nginxDeployment = await client.call<{ id: string }, object>("v1.k8s.deployments.create", nginxSchema, options);

		await checkCluster(nsName, name, sharedVolume.name, `my-app.${domain}`);

		// Status over the same mesh, and the volume is refused removal while the deployments mount it.
		await eventually(async () => expect(await client.call("v1.k8s.deployments.status", { id: nginxDeployment.id }, options)).toMatchObject({ phase: "Running", readyReplicas: 1 }));
		const volumes = await client.call<{ id: string; name: string }[], object>("v1.k8s.volumes.find", { query: { namespace: namespace.id } }, options);
		const volume = volumes.find(v => v.name === sharedVolume.name)!;
		await expect(client.call("v1.k8s.volumes.remove", { id: volume.id }, options)).rejects.toMatchObject({ code: 409 });
	});

	it("runs through REST", async () => {
		const user = uniqueName("owner");
		const key = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: user, userID: user } })).body.key as string;
		const nsName = uniqueName("it-seed");
		const ns = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key, body: { name: nsName } });
		expect(ns.status).toBe(201);
		cleanups.push(() => request(`${mesh.url}/api/v1/k8s/namespaces/${ns.body.id}`, { method: "DELETE", key }));
		// A domain of this run's own (a host any Ingress serves is taken), granted by an admin.
		const domain = `${uniqueName("shop")}.example.com`;
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.body.id}/domains`, { method: "POST", key: mesh.adminKey, body: { domain } })).status).toBe(200);
		const name = "shop";

		const volume = await request(`${mesh.url}/api/v1/k8s/volumes`, { method: "POST", key, body: { namespace: nsName, name: `${name}-nginx-php-data`, type: "persistentVolumeClaim", mountPath: "/var/www/html" } });
		expect(volume.status).toBe(201);
		const php = await request(`${mesh.url}/api/v1/k8s/images/name/php-8-1-0-fpm`, { key });
		const nginx = await request(`${mesh.url}/api/v1/k8s/images/name/nginx`, { key });
		expect([php.status, nginx.status]).toEqual([200, 200]);
		const claim = { persistentVolumeClaim: { claimName: volume.body.name }, type: "persistentVolumeClaim", mountPath: "/var/www/html" };

		const phpRes = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key, body: { name: `${name}-php`, namespace: nsName, image: php.body.id, volumes: [{ name: "php-data", ...claim }] } });
		expect(phpRes.status).toBe(201);
		const nginxRes = await request(`${mesh.url}/api/v1/k8s/deployments`, {
			method: "POST",
			key,
			body: {
				name: `${name}-nginx`,
				namespace: nsName,
				image: nginx.body.id,
				vHosts: [`shop.${domain}`],
				volumes: [{ name: "nginx-data", ...claim }],
				configMap: { name: "nginx-config", data: { "default.conf": nginxConf(`${name}-php-service.${nsName}.svc.cluster.local`) } },
			},
		});
		expect(nginxRes.status).toBe(201);
		expect(nginxRes.body).toMatchObject({ name: "shop-nginx", namespaceName: nsName, vHosts: [`shop.${domain}`], configMap: { name: "nginx-config" } });

		await checkCluster(nsName, name, volume.body.name, `shop.${domain}`);

		const state = await eventually(async () => {
			const res = await request(`${mesh.url}/api/v1/k8s/deployments/${nginxRes.body.id}/state`, { key });
			expect(res.status).toBe(200);
			expect(res.body.deployment).toMatchObject({ phase: "Running" });
			return res.body;
		});
		expect(state.pods).toEqual([expect.objectContaining({ phase: "Running", ready: true })]);
	});
});
