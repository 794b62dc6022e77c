import { CoreV1Api } from "@kubernetes/client-node";
import type { Context } from "moleculer";
import { Kinds, type KubernetesObject, type V1Job, type V1Pod } from "../../lib/k8s";
import { BUILD_CONTAINER } from "../../lib/manifests/build";
import { jobPodSelector } from "../../lib/manifests/job";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const backends = dbBackends("berth_it_builds");
const REGISTRY = "registry.example:5000/berth";
const DIGEST = `sha256:${"c0ffee".repeat(10)}abcd`;
const DOCKER_CONFIG = Buffer.from(JSON.stringify({ auths: { "registry.example:5000": { auth: Buffer.from("pusher:s3cret-push-token").toString("base64") } } })).toString("base64");

type Build = { id: string; jobName: string; namespace: string; namespaceName: string; status: string; name: string; tag: string; destination: string; digest?: string; image?: string; reason?: string };

async function buildPods(namespace: string, jobName: string): Promise<V1Pod[]> {
	return kube().list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(jobName) });
}

/**
 * What the kubelet does when kaniko exits: its digest file (/dev/termination-log) becomes the
 * container's termination message. kwok runs no containers, so the test writes it, after kwok's
 * completion stage (a Succeeded pod matches no later stage, so it stays).
 */
async function reportDigest(namespace: string, jobName: string, digest: string): Promise<void> {
	const core = kube().kc.makeApiClient(CoreV1Api);
	await eventually(async () => {
		const [pod] = await buildPods(namespace, jobName);
		expect(pod?.status?.phase).toBe("Succeeded");
		const terminated = pod.status!.containerStatuses!.find(c => c.name === BUILD_CONTAINER)!.state!.terminated!;
		terminated.message = digest;
		await core.replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace, body: pod });
	});
}

describe.each(backends)("image builds against the real control plane, stored in %s", (_backend, pickMongo) => {
	const secretNs = uniqueName("it-build-creds");
	const events: { event: string; id: string; status: string }[] = [];
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let ns: { id: string; name: string };
	let uri: string | undefined;

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		// The operator's registry credentials, in a namespace of their own.
		await kube().create({ apiVersion: "v1", kind: "Namespace", metadata: { name: secretNs } });
		await kube().create({ apiVersion: "v1", kind: "Secret", metadata: { name: "push-creds", namespace: secretNs }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": DOCKER_CONFIG } } as KubernetesObject);
		process.env.BUILD_REGISTRY = REGISTRY;
		process.env.BUILD_REGISTRY_SECRET = `${secretNs}/push-creds`;
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.images", "k8s.builds"]);
		mesh.broker.createService({
			name: "builds-listener",
			events: {
				"k8s.builds.*"(ctx: Context<{ id: string; status: string }>) {
					events.push({ event: String(ctx.eventName), id: ctx.params.id, status: ctx.params.status });
				},
			},
		});
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		ns = await createNamespace(mesh, alice, uniqueName("it-builds"));
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}`, { method: "DELETE", key: alice });
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: secretNs });
		delete process.env.BUILD_REGISTRY;
		delete process.env.BUILD_REGISTRY_SECRET;
		await mesh.stop();
		await dropStore(uri);
	});

	it("runs the builder as a Job in the tenant's namespace, then succeeds with the digest the builder reports; its logs are readable and its image joins the namespace's catalog", async () => {
		const res = await request(`${mesh.url}/api/v1/k8s/images/build`, {
			method: "POST",
			key: alice,
			body: { git: "https://git.example/acme/web-app.git", ref: "main", context: "app", tag: "v1", namespace: ns.name },
		});
		expect(res.status).toBe(201);
		const build = res.body as Build;
		expect(build).toMatchObject({ namespace: ns.id, namespaceName: ns.name, name: "web-app", tag: "v1", status: "pending", destination: `${REGISTRY}/${ns.name}/web-app:v1` });
		expect(res.text).not.toContain(DOCKER_CONFIG);

		// The Job, in the tenant's namespace, as the unit tests describe it.
		const job = (await kube().get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: build.jobName, namespace: ns.name }))!;
		const pod = job.spec!.template.spec!;
		expect(pod.containers[0]).toMatchObject({
			image: "gcr.io/kaniko-project/executor:v1.23.2",
			args: expect.arrayContaining(["--context=git://git.example/acme/web-app.git#refs/heads/main", "--context-sub-path=app", `--destination=${REGISTRY}/${ns.name}/web-app:v1`, "--digest-file=/dev/termination-log"]),
			// The namespace's LimitRange defaults.
			resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
			securityContext: { privileged: false, allowPrivilegeEscalation: false, capabilities: expect.objectContaining({ drop: ["ALL"] }) },
		});
		expect(pod.volumes).toEqual([expect.objectContaining({ name: "registry", secret: expect.objectContaining({ secretName: "berth-build-registry" }) })]);
		expect(job.metadata?.labels).toMatchObject({ "app.kubernetes.io/component": "build", "berth.dev/id": build.id });
		// The credentials were copied into the namespace, unchanged.
		const copy = await kube().get<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: "v1", kind: "Secret", name: "berth-build-registry", namespace: ns.name });
		expect(copy?.data?.[".dockerconfigjson"]).toBe(DOCKER_CONFIG);

		// The Job completes (kwok); without the builder's digest the build waits for it.
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/builds/${build.id}`, { key: alice })).body).toMatchObject({ status: "running", reason: "AwaitingDigest" }));
		// Its logs meanwhile, followed from the pod until it ends: what the cluster serves for it.
		const [buildPod] = await buildPods(ns.name, build.jobName);
		const served = await kube().podLogs(ns.name, buildPod.metadata!.name!, { container: BUILD_CONTAINER, limitBytes: 1 << 20 });
		expect(served).toContain("berth simulated log line");
		const followed = await request(`${mesh.url}/api/v1/k8s/builds/${build.id}/logs?follow=true&maxSeconds=10`, { key: alice });
		expect(followed.status).toBe(200);
		expect(followed.headers.get("content-type")).toMatch(/^text\/plain/);
		expect(followed.text).toContain("berth simulated log line 1");

		await reportDigest(ns.name, build.jobName, DIGEST);
		const done = await eventually(async () => {
			const got = await request(`${mesh.url}/api/v1/k8s/builds/${build.id}`, { key: alice });
			expect(got.body).toMatchObject({ status: "succeeded", digest: DIGEST, image: `${REGISTRY}/${ns.name}/web-app@${DIGEST}`, finishedAt: expect.any(String) });
			return got.body as Build;
		});
		expect(done.reason).toBeUndefined();
		await eventually(() => expect(events.filter(e => e.id === build.id)).toEqual([{ event: "k8s.builds.succeeded", id: build.id, status: "succeeded" }]));

		// The logs, captured once it finished.
		const logs = await request(`${mesh.url}/api/v1/k8s/builds/${build.id}/logs`, { key: alice });
		expect([logs.status, logs.text]).toEqual([200, served]);
		const list = await request(`${mesh.url}/api/v1/k8s/builds?namespace=${ns.name}`, { key: alice });
		expect((list.body as Build[]).map(b => b.id)).toContain(build.id);

		// The image joins the namespace's catalog with its digest: alice sees it, bob (no member) does not.
		const withImage = await eventually(async () => {
			const got = (await request(`${mesh.url}/api/v1/k8s/builds/${build.id}`, { key: alice })).body as Build & { imageId?: string };
			expect(got.imageId).toEqual(expect.any(String));
			return got;
		});
		const entry = await request(`${mesh.url}/api/v1/k8s/images/${withImage.imageId}`, { key: alice });
		expect([entry.status, entry.body]).toEqual([200, expect.objectContaining({ name: "web-app", tag: "v1", image: `${REGISTRY}/${ns.name}/web-app@${DIGEST}`, source: "build", namespaceId: ns.id })]);
		expect((await request(`${mesh.url}/api/v1/k8s/images/${withImage.imageId}`, { key: bob })).status).toBe(404);
		const bobsCatalog = await request(`${mesh.url}/api/v1/k8s/images`, { key: bob });
		expect((bobsCatalog.body as { id: string }[]).map(i => i.id)).not.toContain(withImage.imageId);
	});


	it("fails the build when its Job fails, and adds nothing to the catalog", async () => {
		// No pod may start in this namespace: the Job runs past its deadline and fails (DeadlineExceeded).
		const other = await createNamespace(mesh, alice, uniqueName("it-builds-fail"));
		try {
			await kube().create({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "no-pods", namespace: other.name }, spec: { hard: { pods: "0" } } } as KubernetesObject);
			const res = await request(`${mesh.url}/api/v1/k8s/builds`, { method: "POST", key: alice, body: { git: "https://git.example/acme/broken.git", name: "broken", namespace: other.id, timeoutSeconds: 1 } });
			expect(res.status).toBe(201);
			const build = res.body as Build;
			const failed = await eventually(async () => {
				const got = await request(`${mesh.url}/api/v1/k8s/builds/${build.id}`, { key: alice });
				expect(got.body).toMatchObject({ status: "failed", reason: "DeadlineExceeded", finishedAt: expect.any(String) });
				return got.body as Build;
			});
			expect(failed.digest).toBeUndefined();
			await eventually(() => expect(events.filter(e => e.id === build.id)).toEqual([{ event: "k8s.builds.failed", id: build.id, status: "failed" }]));
			const catalog = await request(`${mesh.url}/api/v1/k8s/images`, { key: alice });
			expect(catalog.status).toBe(200);
			expect((catalog.body as { name: string }[]).map(i => i.name)).not.toContain("broken");
		} finally {
			await request(`${mesh.url}/api/v1/k8s/namespaces/${other.id}`, { method: "DELETE", key: alice });
		}
	});

	it("refuses a build without a Git URL, or with credentials in it, with 422 naming git, and starts no Job", async () => {
		const before = (await kube().list(Kinds.Job, { namespace: ns.name })).length;
		const cases: [string, Record<string, unknown>][] = [
			["/api/v1/k8s/images/build", { name: "x", namespace: ns.name }],
			["/api/v1/k8s/builds", { name: "x", namespace: ns.name }],
			["/api/v1/k8s/builds", { git: "", namespace: ns.name }],
			["/api/v1/k8s/builds", { git: "https://me:token@git.example/a/b.git", namespace: ns.name }],
		];
		for (const [path, body] of cases) {
			const res = await request(`${mesh.url}${path}`, { method: "POST", key: alice, body });
			expect({ path, status: res.status, type: res.body?.type }).toEqual({ path, status: 422, type: "VALIDATION_ERROR" });
			expect((res.body.data as { field: string }[]).map(f => f.field)).toEqual(["git"]);
		}
		const unknown = await request(`${mesh.url}/api/v1/k8s/builds`, { method: "POST", key: alice, body: { git: "https://git.example/a/b.git", namespace: ns.name, privileged: true } });
		expect([unknown.status, (unknown.body.data as { field: string }[]).map(f => f.field)]).toEqual([422, ["privileged"]]);
		expect((await kube().list(Kinds.Job, { namespace: ns.name })).length).toBe(before);
	});

	it("answers 404 for another tenant's builds and namespaces", async () => {
		const mine = await request(`${mesh.url}/api/v1/k8s/builds`, { method: "POST", key: alice, body: { git: "https://git.example/acme/private.git", namespace: ns.id } });
		expect(mine.status).toBe(201);
		const id = (mine.body as Build).id;
		for (const path of [`/api/v1/k8s/builds/${id}`, `/api/v1/k8s/builds/${id}/logs`, `/api/v1/k8s/builds/${id}/logs?follow=true`]) {
			const res = await request(`${mesh.url}${path}`, { key: bob });
			expect({ path, status: res.status, type: res.body?.type }).toEqual({ path, status: 404, type: "NOT_FOUND" });
		}
		expect(((await request(`${mesh.url}/api/v1/k8s/builds`, { key: bob })).body as Build[]).map(b => b.id)).not.toContain(id);
		const into = await request(`${mesh.url}/api/v1/k8s/builds`, { method: "POST", key: bob, body: { git: "https://git.example/b/c.git", namespace: ns.name } });
		expect(into.status).toBe(404);
		expect((await request(`${mesh.url}/api/v1/k8s/builds/${id}`, { key: alice })).status).toBe(200);
	});
});
