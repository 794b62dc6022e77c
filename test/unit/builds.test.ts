import type { V1Job, V1Pod } from "../../lib/k8s";
import { buildsSettings, checkGitUrl, destinationOf, imageNameOf, limitRangeDefaults, parseSecretRef, DEFAULT_BUILDER_IMAGE } from "../../lib/builds/checks";
import { CATALOG_RETRY_MS, catalogEntryOf, digestOf, imageByDigest, reconcileBuild, DIGEST_GRACE_MS, type BuildSyncDeps, type BuiltImageEntry, type StoredBuild } from "../../lib/builds/reconcile";
import { BUILD_CONTAINER, buildJobFor, gitContext, type BuildRun } from "../../lib/manifests/build";
import { limitRangeManifest } from "../../lib/manifests/namespace";

const DIGEST = `sha256:${"ab".repeat(32)}`;

const run: BuildRun = {
	id: "b1",
	jobName: "build-1",
	builderImage: DEFAULT_BUILDER_IMAGE,
	git: "https://git.example/acme/app.git",
	ref: "main",
	context: "web",
	dockerfile: "Dockerfile.prod",
	destination: "registry.example:5000/berth/team-a/app:v1",
	resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
	timeoutSeconds: 900,
	ttlSecondsAfterFinished: 3600,
	registrySecret: "berth-build-registry",
	registryInsecure: false,
};

describe("the build Job (lib/manifests/build.ts)", () => {
	const job = buildJobFor(run, "team-a");
	const pod = job.spec!.template.spec!;
	const container = pod.containers[0];

	it("runs the pinned kaniko executor on the Git context, pushing to the destination and writing the digest to the termination message", () => {
		expect(container.image).toBe("gcr.io/kaniko-project/executor:v1.23.2");
		expect(container.name).toBe(BUILD_CONTAINER);
		expect(container.args).toEqual([
			"--context=git://git.example/acme/app.git#refs/heads/main",
			"--context-sub-path=web",
			"--dockerfile=Dockerfile.prod",
			"--destination=registry.example:5000/berth/team-a/app:v1",
			"--digest-file=/dev/termination-log",
			"--verbosity=info",
		]);
		expect(container.env).toEqual([
			{ name: "GIT_PULL_METHOD", value: "https" },
			{ name: "DOCKER_CONFIG", value: "/kaniko/.docker" },
		]);
		expect(container.terminationMessagePath).toBe("/dev/termination-log");
	});

	it("mounts only the registry credentials, read-only, and no hostPath", () => {
		expect(pod.volumes).toEqual([{ name: "registry", secret: { secretName: "berth-build-registry", items: [{ key: ".dockerconfigjson", path: "config.json" }], defaultMode: 0o400 } }]);
		expect(container.volumeMounts).toEqual([{ name: "registry", mountPath: "/kaniko/.docker", readOnly: true }]);
		expect(JSON.stringify(job)).not.toContain("hostPath");
		const bare = buildJobFor({ ...run, registrySecret: undefined }, "team-a").spec!.template.spec!;
		expect([bare.volumes, bare.containers[0].volumeMounts]).toEqual([undefined, undefined]);
	});

	it("is nothing privileged: no privilege or escalation, capabilities dropped but kaniko's file-owner ones, seccomp RuntimeDefault, no token", () => {
		expect(container.securityContext).toEqual({ privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID"] } });
		expect(pod.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
		expect(pod.hostNetwork ?? pod.hostPID ?? pod.hostIPC).toBeUndefined();
		expect(pod.automountServiceAccountToken).toBe(false);
		expect(pod.restartPolicy).toBe("Never");
	});

	it("has requests and limits, one try, a deadline and a TTL, and labels naming the build", () => {
		expect(container.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
		expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 900, ttlSecondsAfterFinished: 3600 });
		expect(job.metadata).toMatchObject({ name: "build-1", namespace: "team-a", labels: { "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "build", "berth.dev/id": "b1" } });
		expect(job.spec!.template.metadata!.labels).toEqual(job.metadata!.labels);
	});

	it("passes --insecure for a plain-HTTP registry, and pulls http:// repositories over HTTP", () => {
		expect(buildJobFor({ ...run, registryInsecure: true }, "ns").spec!.template.spec!.containers[0].args).toContain("--insecure");
		expect(gitContext("http://git.local:3000/a/b", undefined)).toEqual({ context: "git://git.local:3000/a/b", pullMethod: "http" });
		expect(gitContext("https://h/a/b.git", "refs/tags/v1").context).toBe("git://h/a/b.git#refs/tags/v1");
	});
});

describe("build fields (lib/builds/checks.ts)", () => {
	it("refuses Git URLs with credentials, other schemes, a fragment or no path, naming git", () => {
		for (const bad of ["ftp://h/a", "https://user:tok@h/a.git", "https://h/a.git#main", "https://h/", "not a url"]) {
			expect(() => checkGitUrl(bad)).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "git" })] }));
		}
		expect(checkGitUrl("https://github.com/acme/app").host).toBe("github.com");
	});

	it("names the image after the repository unless told, and pushes under the namespace's path", () => {
		expect(imageNameOf({ git: "https://h/acme/My_App.git" })).toBe("my-app");
		expect(imageNameOf({ git: "https://h/acme/app", name: "web" })).toBe("web");
		expect(() => imageNameOf({ git: "https://h/___" })).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "name" })] }));
		expect(destinationOf("reg:5000/berth", "team-a", "web", "v1")).toBe("reg:5000/berth/team-a/web:v1");
	});

	it("takes resources from the namespace's LimitRange defaults", () => {
		const lr = limitRangeManifest({ id: "n", name: "team-a", owner: "u", quota: { cpu: "2", memory: "4Gi", storage: "10Gi", pods: 10, gpu: 0 } } as never);
		expect(limitRangeDefaults(lr)).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
		expect(limitRangeDefaults(undefined).limits).toEqual({ cpu: "500m", memory: "512Mi" });
	});

	it("reads its settings from the environment", () => {
		const s = buildsSettings({ BUILD_REGISTRY: "reg.example:5000/berth/", BUILD_REGISTRY_SECRET: "push-creds", BUILDER_IMAGE: "my/kaniko:1" });
		expect(s).toMatchObject({ registry: "reg.example:5000/berth", registrySecret: { namespace: "berth-system", name: "push-creds" }, builderImage: "my/kaniko:1", registryInsecure: false });
		expect(buildsSettings({}).registry).toBeUndefined();
		expect(parseSecretRef("ops/creds", "x")).toEqual({ namespace: "ops", name: "creds" });
		expect(() => parseSecretRef("Bad Name", "x")).toThrow(/BUILD_REGISTRY_SECRET/);
	});
});

describe("a build's completion (lib/builds/reconcile.ts), with the Kubernetes reads and the catalog call stubbed", () => {
	const completed = (at = new Date().toISOString()): V1Job => ({ status: { conditions: [{ type: "Complete", status: "True", lastTransitionTime: at as never }], succeeded: 1 } });
	const failedJob: V1Job = { status: { conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" }], failed: 1 } };
	const podWith = (message?: string): V1Pod => ({ status: { containerStatuses: [{ name: BUILD_CONTAINER, image: "x", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed", ...(message ? { message } : {}) } } }] } });

	function harness(job: V1Job | undefined, pods: V1Pod[], catalog: (entry: BuiltImageEntry) => Promise<{ id: string }> = async () => ({ id: "img-1" })) {
		let doc: StoredBuild = {
			id: "b1", jobName: "build-1", namespace: "ns-id", namespaceName: "team-a", git: "https://h/acme/app.git", dockerfile: "Dockerfile", name: "app", tag: "v1",
			destination: "reg:5000/berth/team-a/app:v1", resources: run.resources, timeoutSeconds: 900, status: "pending", owner: "u", members: [],
			createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), finished: false,
		};
		const sent: BuiltImageEntry[] = [];
		const events: { event: string; payload: unknown }[] = [];
		const deps: BuildSyncDeps = {
			find: async () => doc,
			readJob: async () => job,
			readPods: async () => pods,
			readLogs: async () => "the log",
			claim: async (query, update) => {
				if (query.finished && doc.finished) return 0;
				if (query.catalogPending && !doc.catalogPending) return 0;
				doc = { ...doc, ...(update.$set as object) };
				for (const k of Object.keys((update.$unset as object) ?? {})) delete (doc as unknown as Record<string, unknown>)[k];
				return 1;
			},
			addToCatalog: async entry => (sent.push(entry), catalog(entry)),
			emit: (event, payload) => events.push({ event, payload }),
		};
		return { deps, sent, events, doc: () => doc };
	}

	it("succeeds with the digest from the builder's termination message and adds the image to the catalog, once", async () => {
		const h = harness(completed(), [podWith(DIGEST)]);
		await reconcileBuild("b1", h.deps);
		await reconcileBuild("b1", h.deps);
		expect(h.doc()).toMatchObject({ status: "succeeded", digest: DIGEST, image: `reg:5000/berth/team-a/app@${DIGEST}`, imageId: "img-1", catalogPending: false, logs: "the log", finished: true });
		expect(h.sent).toEqual([
			{
				name: "app", tag: "v1", image: `reg:5000/berth/team-a/app@${DIGEST}`, digest: DIGEST, registry: "reg:5000", repository: "berth/team-a/app", namespace: "berth/team-a",
				description: "Built from https://h/acme/app.git", ports: [], env: [], volumes: [], resources: { requests: { cpu: 100, memory: 128 }, limits: { cpu: 500, memory: 512 } },
				imagePullPolicy: "IfNotPresent", imagePullSecrets: [], source: "build", namespaceId: "ns-id",
			},
		]);
		expect(h.events.map(e => e.event)).toEqual(["k8s.builds.succeeded"]);
	});

	it("waits for the digest while the Job's completion is recent, then fails without one", async () => {
		const h = harness(completed(), [podWith()]);
		expect(await reconcileBuild("b1", h.deps)).toEqual({ requeueAfterMs: DIGEST_GRACE_MS });
		expect(h.doc()).toMatchObject({ status: "running", reason: "AwaitingDigest" });
		const late = harness(completed(new Date(Date.now() - DIGEST_GRACE_MS - 1000).toISOString()), [podWith("not a digest")]);
		await reconcileBuild("b1", late.deps);
		expect(late.doc()).toMatchObject({ status: "failed", reason: "NoDigest", finished: true });
		expect(late.sent).toEqual([]);
	});

	it("fails with the Job's reason when the Job fails, and writes nothing to the catalog", async () => {
		const h = harness(failedJob, [podWith(DIGEST)]);
		await reconcileBuild("b1", h.deps);
		expect(h.doc()).toMatchObject({ status: "failed", reason: "DeadlineExceeded", finished: true, logs: "the log" });
		expect(h.sent).toEqual([]);
		expect(h.events.map(e => e.event)).toEqual(["k8s.builds.failed"]);
	});

	it("records a catalog refusal on the succeeded build instead of failing it", async () => {
		const h = harness(completed(), [podWith(DIGEST)], async () => {
			throw new Error("Image \"app\" already exists");
		});
		await reconcileBuild("b1", h.deps);
		expect(h.doc()).toMatchObject({ status: "succeeded", digest: DIGEST, catalogError: 'Image "app" already exists', catalogPending: false });
	});

	it("keeps a catalog write that failed for now (the images service away) pending, and tries it again", async () => {
		let away = true;
		const h = harness(completed(), [podWith(DIGEST)], async () => {
			if (away) throw Object.assign(new Error("Service 'v1.k8s.images.create' is not found."), { name: "ServiceNotFoundError", code: 404 });
			return { id: "img-2" };
		});
		expect(await reconcileBuild("b1", h.deps)).toEqual({ requeueAfterMs: CATALOG_RETRY_MS });
		expect(h.doc()).toMatchObject({ status: "succeeded", catalogPending: true, catalogError: expect.stringContaining("not found") });
		away = false;
		await reconcileBuild("b1", h.deps);
		expect(h.doc()).toMatchObject({ status: "succeeded", catalogPending: false, imageId: "img-2" });
		expect(h.doc().catalogError).toBeUndefined();
		expect(h.events.map(e => e.event)).toEqual(["k8s.builds.succeeded"]);
	});

	it("follows the Job while it runs", async () => {
		const h = harness({ status: { active: 1 } }, []);
		await reconcileBuild("b1", h.deps);
		expect(h.doc().status).toBe("running");
	});

	it("reads digests and images by digest", () => {
		expect(digestOf([podWith(` ${DIGEST}\n`)])).toBe(DIGEST);
		expect(digestOf([podWith("sha256:short")])).toBeUndefined();
		expect(imageByDigest("reg:5000/a/b:v1", DIGEST)).toBe(`reg:5000/a/b@${DIGEST}`);
		expect(catalogEntryOf({ name: "b", tag: "v1", destination: "reg/b:v1", git: "g", resources: run.resources, namespace: "n" }, DIGEST)).toMatchObject({ registry: "reg", repository: "b", namespace: "" });
	});
});
