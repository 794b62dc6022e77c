import type { V1Deployment, V1Ingress, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from "../../lib/k8s";
type V1ContainerStatus = NonNullable<NonNullable<V1Pod["status"]>["containerStatuses"]>[number];
import { appHealth, claimNames, entityIdOf, expectedObjects, healthChanged, namespaceHealth, type AppHealth, type HealthInput } from "../../lib/health";

const ID = "dep1";
const NS = "team-a";
const labels = { "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "deployment", "berth.dev/id": ID };

interface DepOpts {
	replicas?: number;
	ready?: number;
	available?: number;
	updated?: number;
	current?: number;
	generation?: number;
	observed?: number;
	ports?: { containerPort: number; protocol?: string }[];
	claims?: string[];
	conditions?: { type: string; status: string; reason?: string; message?: string }[];
	component?: string;
	noStatus?: boolean;
}

function deployment(o: DepOpts = {}): V1Deployment {
	const replicas = o.replicas ?? 1;
	return {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name: "web", namespace: NS, generation: o.generation ?? 1, labels: { ...labels, ...(o.component ? { "app.kubernetes.io/component": o.component } : {}) } },
		spec: {
			replicas,
			selector: { matchLabels: { app: "web" } },
			template: {
				spec: {
					containers: [{ name: "web", image: "nginx:1.27", ports: o.ports ?? [{ containerPort: 80 }] }],
					volumes: (o.claims ?? []).map(c => ({ name: c, persistentVolumeClaim: { claimName: c } })),
				},
			},
		},
		status: o.noStatus
			? undefined
			: {
					observedGeneration: o.observed ?? o.generation ?? 1,
					replicas: o.current ?? o.ready ?? replicas,
					readyReplicas: o.ready ?? replicas,
					availableReplicas: o.available ?? o.ready ?? replicas,
					updatedReplicas: o.updated ?? replicas,
					conditions: o.conditions as V1Deployment["status"] extends { conditions?: infer C } ? C : never,
				},
	};
}

interface PodOpts {
	name?: string;
	phase?: string;
	ready?: boolean;
	containers?: Partial<V1ContainerStatus>[];
	init?: Partial<V1ContainerStatus>[];
	unschedulable?: string;
	deleting?: boolean;
	reason?: string;
}

function pod(o: PodOpts = {}): V1Pod {
	const ready = o.ready ?? true;
	const cs = (o.containers ?? [{ state: { running: { startedAt: new Date(0) } }, ready }]).map(c => ({ name: "web", image: "nginx:1.27", imageID: "", restartCount: 0, ready: false, ...c })) as V1ContainerStatus[];
	return {
		metadata: { name: o.name ?? "web-abc", namespace: NS, labels, ...(o.deleting ? { deletionTimestamp: new Date(0) } : {}) },
		spec: { containers: [{ name: "web" }], nodeName: o.unschedulable ? undefined : "node-0" },
		status: {
			phase: o.phase ?? (o.unschedulable ? "Pending" : "Running"),
			...(o.reason ? { reason: o.reason } : {}),
			conditions: o.unschedulable
				? [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: o.unschedulable }]
				: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: ready ? "True" : "False" }],
			containerStatuses: o.unschedulable ? undefined : cs,
			initContainerStatuses: o.init as V1ContainerStatus[] | undefined,
		},
	};
}

const service: V1Service = { metadata: { name: "web-service", namespace: NS, labels } };
const ingress: V1Ingress = { metadata: { name: "web", namespace: NS, labels }, spec: { rules: [{ host: "web.team-a.apps.example" }, { host: "www.example.com" }] } };
const secret: V1Secret = { metadata: { name: "web-env", namespace: NS, labels: { ...labels, "app.kubernetes.io/component": "deployment-env" } } };
const claim = (name: string, phase?: string, extra: Partial<V1PersistentVolumeClaim["metadata"]> = {}): V1PersistentVolumeClaim => ({
	metadata: { name, namespace: NS, ...extra },
	status: phase ? { phase, ...(phase === "Bound" ? { capacity: { storage: "1Gi" } } : {}) } : undefined,
});

/** A healthy app with overrides. */
function health(overrides: Partial<HealthInput> = {}): AppHealth {
	return appHealth({ id: ID, namespace: NS, deployment: deployment(), pods: [pod()], services: [service], ingresses: [ingress], secrets: [secret], claims: [], ...overrides });
}

const codes = (h: AppHealth) => h.reasons.map(r => r.code);

describe("appHealth: the phase of one app from its objects", () => {
	it("is Ready when every wanted pod is updated and ready and its Service and Ingress exist", () => {
		const h = health();
		expect(h).toMatchObject({ id: ID, name: "web", namespace: NS, component: "deployment", phase: "Ready", reason: "Ready", message: "1 of 1 pod ready" });
		expect(h.replicas).toEqual({ desired: 1, current: 1, ready: 1, available: 1, updated: 1 });
		expect(h.objects).toEqual({ deployment: true, service: true, ingress: true, secret: true, claims: [] });
		expect(h.hosts).toEqual(["web.team-a.apps.example", "www.example.com"]);
		expect(h.images).toEqual(["nginx:1.27"]);
		expect(h.pods).toEqual([{ name: "web-abc", phase: "Running", ready: true, restarts: 0, node: "node-0" }]);
		expect(codes(h)).toEqual(["Ready"]);
	});

	it("says how many pods are ready, in the plural when there are several", () => {
		const h = health({ deployment: deployment({ replicas: 3 }), pods: [pod({ name: "a" }), pod({ name: "b" }), pod({ name: "c" })] });
		expect(h.message).toBe("3 of 3 pods ready");
	});

	it("is Missing when the Deployment is not in the cluster, named from the input", () => {
		const h = appHealth({ id: ID, namespace: NS, name: "web" });
		expect(h).toMatchObject({ phase: "Missing", reason: "DeploymentMissing", name: "web", objects: { deployment: false, service: null, ingress: null, secret: false, claims: [] } });
		expect(h.replicas.desired).toBe(0);
		expect(appHealth({ id: ID, namespace: NS }).name).toBe(ID);
	});

	it("is ScaledToZero when zero replicas are wanted and none run", () => {
		const h = health({ deployment: deployment({ replicas: 0, ready: 0 }), pods: [] });
		expect(h).toMatchObject({ phase: "ScaledToZero", reason: "ScaledToZero" });
	});

	describe("Progressing", () => {
		it("while the controller has not seen the latest generation", () => {
			const h = health({ deployment: deployment({ generation: 2, observed: 1 }) });
			expect(h).toMatchObject({ phase: "Progressing", reason: "Progressing" });
		});
		it("while a new Deployment has no status yet", () => {
			const h = health({ deployment: deployment({ noStatus: true }), pods: [] });
			expect(h).toMatchObject({ phase: "Progressing", reason: "Progressing", message: "Rolling out: 0 of 1 pod updated, 0 ready" });
		});
		it("while pods are updated but not ready: the containers are starting", () => {
			const h = health({ deployment: deployment({ ready: 0 }), pods: [pod({ ready: false, containers: [{ state: { waiting: { reason: "ContainerCreating" } } }] })] });
			expect(h.phase).toBe("Progressing");
			expect(codes(h)).toEqual(["Progressing", "ContainerCreating"]);
			expect(h.pods[0]).toMatchObject({ ready: false, reason: "ContainerCreating" });
		});
		it("while a running container is not ready yet (a readiness probe)", () => {
			const h = health({ deployment: deployment({ ready: 0 }), pods: [pod({ ready: false, containers: [{ state: { running: {} }, ready: false }] })] });
			expect(codes(h)).toEqual(["Progressing", "ContainersNotReady"]);
		});
		it("while a pod is pending before any container status", () => {
			const p = pod({ phase: "Pending", ready: false });
			p.status!.containerStatuses = undefined;
			const h = health({ deployment: deployment({ ready: 0 }), pods: [p] });
			expect(codes(h)).toEqual(["Progressing", "PodsPending"]);
		});
		it("while old pods of a rollout are still there", () => {
			const h = health({ deployment: deployment({ replicas: 2, current: 3 }) , pods: [pod({ name: "a" }), pod({ name: "b" })] });
			expect(h).toMatchObject({ phase: "Progressing", message: "Rolling out: 1 old pod still terminating" });
		});
		it("while scaling up", () => {
			const h = health({ deployment: deployment({ replicas: 3, ready: 1, updated: 3, current: 3 }) });
			expect(h).toMatchObject({ phase: "Progressing", message: "1 of 3 pods ready" });
		});
		it("while a claim waits for its volume (PVCPending comes first: it is why)", () => {
			const p = pod({ ready: false, containers: [{ state: { waiting: { reason: "ContainerCreating" } } }] });
			const h = health({ deployment: deployment({ ready: 0, claims: ["data"] }), pods: [p], claims: [claim("data", "Pending")] });
			expect(h).toMatchObject({ phase: "Progressing", reason: "PVCPending" });
			expect(h.objects.claims).toEqual([{ name: "data", phase: "Pending" }]);
		});
		it("while a pod is not ready although its containers are (the pod's Ready condition lags)", () => {
			const h = health({ deployment: deployment({ ready: 0 }), pods: [pod({ ready: false, containers: [{ state: { running: {} }, ready: true }] })] });
			expect(codes(h)).toEqual(["Progressing", "ContainersNotReady"]);
		});
		it("while a container waits for another reason, which the message names", () => {
			const h = health({ deployment: deployment({ ready: 0 }), pods: [pod({ ready: false, containers: [{ state: { waiting: { reason: "Something", message: "hold on" } } }] })] });
			expect(h.reasons.find(r => r.code === "ContainersNotReady")?.message).toBe("Container web is waiting (Something): hold on");
		});
	});

	describe("Failed, with the reason that explains it", () => {
		it("ImagePullBackOff, from ErrImagePull and its kin too", () => {
			for (const reason of ["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"]) {
				const p = pod({ ready: false, containers: [{ state: { waiting: { reason, message: 'Back-off pulling image "nginx:nope"' } } }] });
				const h = health({ deployment: deployment({ ready: 0 }), pods: [p] });
				expect(h).toMatchObject({ phase: "Failed", reason: "ImagePullBackOff" });
				expect(h.message).toContain('Back-off pulling image "nginx:nope"');
				expect(h.pods[0].reason).toBe(reason);
			}
		});
		it("ImagePullBackOff without a message names the waiting reason", () => {
			const p = pod({ ready: false, containers: [{ state: { waiting: { reason: "ErrImagePull" } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [p] }).message).toBe("Container web cannot pull image nginx:1.27 (ErrImagePull)");
		});
		it("CrashLoopBackOff, with the last exit", () => {
			const p = pod({ ready: false, containers: [{ restartCount: 5, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1, reason: "Error" } } }] });
			const h = health({ deployment: deployment({ ready: 0 }), pods: [p] });
			expect(h).toMatchObject({ phase: "Failed", reason: "CrashLoopBackOff", message: "Container web keeps crashing (last exit: Error, code 1), 5 restarts" });
			expect(h.pods[0]).toMatchObject({ restarts: 5, reason: "CrashLoopBackOff" });
		});
		it("CrashLoopBackOff with no last state", () => {
			const p = pod({ ready: false, containers: [{ restartCount: 2, state: { waiting: { reason: "CrashLoopBackOff" } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [p] }).message).toBe("Container web keeps crashing, 2 restarts");
		});
		it("a container that exited non-zero and is not restarting yet counts as crashing", () => {
			const p = pod({ ready: false, containers: [{ state: { terminated: { exitCode: 137, reason: "Error" } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [p] })).toMatchObject({ phase: "Failed", reason: "CrashLoopBackOff", message: "Container web exited with code 137 (Error)" });
		});
		it("OOMKilled, restarting or just killed", () => {
			const looping = pod({ ready: false, containers: [{ restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [looping] })).toMatchObject({ phase: "Failed", reason: "OOMKilled" });
			const killed = pod({ ready: false, containers: [{ state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [killed] })).toMatchObject({ phase: "Failed", reason: "OOMKilled", message: "Container web ran out of memory" });
		});
		it("CreateContainerConfigError, and SecretMissing when the secret is the cause", () => {
			const config = pod({ ready: false, containers: [{ state: { waiting: { reason: "CreateContainerConfigError", message: 'configmap "x" not found' } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [config] })).toMatchObject({ phase: "Failed", reason: "CreateContainerConfigError", message: 'Container web cannot start: configmap "x" not found' });
			const noSecret = pod({ ready: false, containers: [{ state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "web-env" not found' } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [noSecret] })).toMatchObject({ phase: "Failed", reason: "SecretMissing", message: 'Container web: secret "web-env" not found' });
			const bare = pod({ ready: false, containers: [{ state: { waiting: { reason: "RunContainerError" } } }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [bare] }).message).toBe("Container web cannot start (RunContainerError)");
		});
		it("init containers count like the others", () => {
			const p = pod({ ready: false, phase: "Pending", containers: [{ state: { waiting: { reason: "PodInitializing" } } }], init: [{ name: "init", image: "busybox", state: { waiting: { reason: "CrashLoopBackOff" } }, restartCount: 4 }] });
			expect(health({ deployment: deployment({ ready: 0 }), pods: [p] })).toMatchObject({ phase: "Failed", reason: "CrashLoopBackOff", message: "Container init keeps crashing, 4 restarts" });
		});
		it("QuotaExceeded, from the Deployment's ReplicaFailure", () => {
			const message = 'pods "web-abc" is forbidden: exceeded quota: berth-quota, requested: requests.cpu=1, used: requests.cpu=2, limited: requests.cpu=2';
			const h = health({ deployment: deployment({ replicas: 2, ready: 1, current: 1, conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message }] }) });
			expect(h).toMatchObject({ phase: "Failed", reason: "QuotaExceeded", message });
			expect(h.reasons[0].object).toEqual({ kind: "Deployment", name: "web" });
		});
		it("FailedCreate for other refusals; a resolved ReplicaFailure says nothing", () => {
			const failed = health({ deployment: deployment({ ready: 0, conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "admission webhook denied" }] }), pods: [] });
			expect(failed).toMatchObject({ phase: "Failed", reason: "FailedCreate", message: "admission webhook denied" });
			const resolved = health({ deployment: deployment({ conditions: [{ type: "ReplicaFailure", status: "False", reason: "FailedCreate" }] }) });
			expect(resolved.phase).toBe("Ready");
			const bare = health({ deployment: deployment({ ready: 0, conditions: [{ type: "ReplicaFailure", status: "True" }] }), pods: [] });
			expect(bare.message).toBe("Pods cannot be created");
		});
		it("ProgressDeadlineExceeded", () => {
			const h = health({ deployment: deployment({ ready: 0, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "web-1" has timed out progressing.' }] }), pods: [] });
			expect(h).toMatchObject({ phase: "Failed", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "web-1" has timed out progressing.' });
		});
		it("Unschedulable, with the scheduler's message", () => {
			const h = health({ deployment: deployment({ ready: 0 }), pods: [pod({ unschedulable: "0/1 nodes are available: 1 Insufficient cpu." })] });
			expect(h).toMatchObject({ phase: "Failed", reason: "Unschedulable", message: "Pod web-abc cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu." });
			expect(h.pods[0]).toMatchObject({ phase: "Pending", ready: false, reason: "Unschedulable" });
			expect(h.pods[0].node).toBeUndefined();
		});
		it("PVCPending when the pod waits for an unbound claim: the claim is the cause", () => {
			const h = health({
				deployment: deployment({ ready: 0, claims: ["data"] }),
				pods: [pod({ unschedulable: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims." })],
				claims: [claim("data", "Pending")],
			});
			expect(h).toMatchObject({ phase: "Failed", reason: "PVCPending" });
			expect(h.message).toContain("Claim data is not bound");
			expect(codes(h).filter(c => c === "PVCPending")).toHaveLength(1);
		});
		it("PVCPending from the scheduler even when the claim's phase is unknown", () => {
			const h = health({ deployment: deployment({ ready: 0, claims: ["data"] }), pods: [pod({ unschedulable: "pod has unbound immediate PersistentVolumeClaims" })], claims: [claim("data", "Bound")] });
			expect(h).toMatchObject({ reason: "PVCPending", message: "pod has unbound immediate PersistentVolumeClaims" });
		});
		it("PVCMissing when the scheduler cannot find the claim", () => {
			const h = health({ deployment: deployment({ ready: 0, claims: ["gone"] }), pods: [pod({ unschedulable: '0/1 nodes are available: persistentvolumeclaim "gone" not found.' })], claims: [] });
			expect(h).toMatchObject({ phase: "Failed", reason: "PVCMissing", message: "Claim gone does not exist" });
			expect(h.objects.claims).toEqual([{ name: "gone", phase: "Missing" }]);
		});
		it("PVCLost", () => {
			const h = health({ deployment: deployment({ ready: 0, claims: ["data"] }), pods: [], claims: [claim("data", "Lost")] });
			expect(h).toMatchObject({ phase: "Failed", reason: "PVCLost", message: "Claim data lost its volume" });
		});
		it("the root cause leads: a quota before the pods it keeps out, a claim before a crash", () => {
			const quota = { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "exceeded quota: berth-quota" };
			const crash = pod({ ready: false, containers: [{ state: { waiting: { reason: "CrashLoopBackOff" } } }] });
			const h = health({ deployment: deployment({ replicas: 2, ready: 0, claims: ["data"], conditions: [quota] }), pods: [crash], claims: [claim("data", "Lost")] });
			expect(codes(h).slice(0, 3)).toEqual(["QuotaExceeded", "PVCLost", "CrashLoopBackOff"]);
		});
		it("many pods with one problem are one reason that counts them", () => {
			const bad = (name: string) => pod({ name, ready: false, containers: [{ state: { waiting: { reason: "ImagePullBackOff", message: "nope" } } }] });
			const two = health({ deployment: deployment({ replicas: 2, ready: 0 }), pods: [bad("a"), bad("b")] });
			expect(two.reasons.filter(r => r.code === "ImagePullBackOff")).toEqual([
				{ code: "ImagePullBackOff", severity: "error", message: "Container web cannot pull image nginx:1.27: nope (and 1 more pod)", object: { kind: "Pod", name: "a" }, pods: 2 },
			]);
			const three = health({ deployment: deployment({ replicas: 3, ready: 0 }), pods: [bad("a"), bad("b"), bad("c")] });
			expect(three.message).toMatch(/\(and 2 more pods\)$/);
		});
	});

	describe("Degraded: serving, but something needs attention", () => {
		it("a rollout stuck on a bad image while the old pods still serve", () => {
			const stuck = pod({ name: "new", ready: false, containers: [{ state: { waiting: { reason: "ImagePullBackOff" } } }] });
			const h = health({ deployment: deployment({ replicas: 1, ready: 1, updated: 0, current: 2, generation: 2 }), pods: [pod({ name: "old" }), stuck] });
			expect(h).toMatchObject({ phase: "Degraded", reason: "ImagePullBackOff" });
		});
		it("a missing Service or Ingress", () => {
			expect(health({ services: [] })).toMatchObject({ phase: "Degraded", reason: "ServiceMissing", objects: { service: false } });
			expect(health({ ingresses: [] })).toMatchObject({ phase: "Degraded", reason: "IngressMissing", objects: { ingress: false } });
			expect(codes(health({ services: [], ingresses: [] }))).toEqual(["ServiceMissing", "IngressMissing"]);
		});
		it("a failed (evicted) pod beside ready ones", () => {
			const evicted = pod({ name: "evicted", phase: "Failed", ready: false, reason: "Evicted", containers: [{ state: { terminated: { exitCode: 0, reason: "Completed" } } }] });
			const h = health({ pods: [pod(), evicted] });
			expect(h).toMatchObject({ phase: "Degraded", reason: "PodFailed", message: "Pod evicted failed (Evicted)" });
			expect(h.pods.find(p => p.name === "evicted")?.reason).toBe("Evicted");
		});
		it("a pod that failed with a message", () => {
			const p = pod({ name: "x", phase: "Failed", ready: false, containers: [] });
			p.status!.message = "node shut down";
			expect(health({ pods: [pod(), p] }).message).toBe("Pod x failed: node shut down");
		});
	});

	describe("what is expected and what is ignored", () => {
		it("a deployment without ports expects neither Service nor Ingress", () => {
			const h = health({ deployment: deployment({ ports: [] }), services: [], ingresses: [] });
			expect(h).toMatchObject({ phase: "Ready", objects: { service: null, ingress: null } });
		});
		it("a UDP-only deployment expects a Service and no Ingress", () => {
			expect(expectedObjects(deployment({ ports: [{ containerPort: 53, protocol: "UDP" }] }))).toEqual({ service: true, ingress: false });
			expect(health({ deployment: deployment({ ports: [{ containerPort: 53, protocol: "UDP" }] }), ingresses: [] }).phase).toBe("Ready");
		});
		it("other components (applications, specs) expect nothing unless told", () => {
			const app = deployment({ component: "application" });
			expect(expectedObjects(app)).toEqual({ service: false, ingress: false });
			expect(expectedObjects(undefined)).toEqual({ service: false, ingress: false });
			expect(health({ deployment: app, services: [], ingresses: [] })).toMatchObject({ phase: "Ready", component: "application" });
			expect(health({ deployment: app, services: [], ingresses: [], expect: { service: true, ingress: false } })).toMatchObject({ phase: "Degraded", reason: "ServiceMissing" });
		});
		it("pods being deleted are not counted", () => {
			const gone = pod({ name: "gone", deleting: true, ready: false, containers: [{ state: { waiting: { reason: "CrashLoopBackOff" } } }] });
			const h = health({ pods: [pod(), gone] });
			expect(h.phase).toBe("Ready");
			expect(h.pods.map(p => p.name)).toEqual(["web-abc"]);
		});
		it("succeeded pods are not problems", () => {
			const done = pod({ name: "done", phase: "Succeeded", ready: false, containers: [{ state: { terminated: { exitCode: 0, reason: "Completed" } } }] });
			expect(health({ pods: [pod(), done] }).phase).toBe("Ready");
		});
		it("a surge pod still starting does not hide Ready once the rollout settled", () => {
			const starting = pod({ name: "surge", ready: false, containers: [{ state: { waiting: { reason: "ContainerCreating" } } }] });
			const h = health({ pods: [pod(), starting] });
			expect(h).toMatchObject({ phase: "Ready", reason: "Ready" });
			expect(codes(h)).toEqual(["Ready"]);
		});
		it("claims: bound with capacity, terminating, and pending ones while scaled to zero", () => {
			const h = health({ deployment: deployment({ claims: ["a", "b"] }), claims: [claim("a", "Bound"), claim("b", "Bound", { deletionTimestamp: new Date(0) })] });
			expect(h.objects.claims).toEqual([{ name: "a", phase: "Bound", capacity: "1Gi" }, { name: "b", phase: "Terminating", capacity: "1Gi" }]);
			const zero = health({ deployment: deployment({ replicas: 0, ready: 0, claims: ["a"] }), pods: [], claims: [claim("a", "Pending")] });
			expect(zero).toMatchObject({ phase: "ScaledToZero", reason: "ScaledToZero" });
			expect(health({ deployment: deployment({ claims: ["c"] }), claims: [claim("c")] }).objects.claims).toEqual([{ name: "c", phase: "Pending" }]);
		});
		it("pods are listed by name with their restarts summed over containers", () => {
			const p = pod({ name: "b", containers: [{ name: "x", restartCount: 2, ready: true, state: { running: {} } }, { name: "y", restartCount: 1, ready: true, state: { running: {} } }] });
			const h = health({ pods: [p, pod({ name: "a" })] });
			expect(h.pods.map(x => [x.name, x.restarts])).toEqual([["a", 0], ["b", 3]]);
		});
		it("the secret is reported when the entity has one", () => {
			expect(health({ secrets: [] }).objects.secret).toBe(false);
		});
	});
});

describe("helpers", () => {
	it("claimNames lists the claims a pod template mounts", () => {
		expect(claimNames(deployment({ claims: ["a", "b"] }))).toEqual(["a", "b"]);
		expect(claimNames(undefined)).toEqual([]);
	});
	it("entityIdOf reads the berth.dev/id label", () => {
		expect(entityIdOf(service)).toBe(ID);
		expect(entityIdOf({ metadata: {} })).toBeUndefined();
	});
	it("healthChanged compares whole statuses", () => {
		expect(healthChanged(health(), health())).toBe(false);
		expect(healthChanged(health(), health({ services: [] }))).toBe(true);
		expect(healthChanged(undefined, health())).toBe(true);
	});
	it("namespaceHealth counts phases and names the worst", () => {
		const ready = health();
		const failed = { ...ready, phase: "Failed" as const };
		const progressing = { ...ready, phase: "Progressing" as const };
		expect(namespaceHealth([ready, failed, progressing, ready])).toEqual({ phase: "Failed", counts: { Ready: 2, Failed: 1, Progressing: 1 } });
		expect(namespaceHealth([ready, progressing]).phase).toBe("Progressing");
		expect(namespaceHealth([])).toEqual({ phase: "Empty", counts: {} });
	});
});
