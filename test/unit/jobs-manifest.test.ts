import { argvOf, jobFor, jobPhase, jobPodSelector, type JobRun } from "../../lib/manifests/job";

const run: JobRun = {
	id: "entity-1",
	name: "0b6f3a52-5c1e-4c39-9d4f-6a3f0c8f1e27",
	command: ["sh", "-c", 'python3 -c "import this"'],
	image: "python:3.12-slim",
	env: [{ name: "GREETING", value: "hi" }],
	resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
	timeoutSeconds: 600,
	backoffLimit: 0,
	ttlSecondsAfterFinished: 3600,
};

describe("the Job manifest", () => {
	const job = jobFor(run, "team-a");
	const pod = job.spec!.template.spec!;
	const container = pod.containers[0];

	it("is named by the run's UUID in the given namespace, labelled and annotated back to its entity", () => {
		expect(job.metadata).toMatchObject({ name: run.name, namespace: "team-a" });
		expect(job.metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "job", "berth.dev/id": "entity-1" });
		expect(job.metadata!.annotations).toMatchObject({ "berth.dev/id": "entity-1", "berth.dev/kind": "job" });
	});

	it("has safe defaults: deadline, no retries, TTL, requests and limits, no token, no escalation", () => {
		expect(job.spec).toMatchObject({ activeDeadlineSeconds: 600, backoffLimit: 0, ttlSecondsAfterFinished: 3600, completions: 1, parallelism: 1 });
		expect(pod.restartPolicy).toBe("Never");
		expect(pod.automountServiceAccountToken).toBe(false);
		expect(pod.enableServiceLinks).toBe(false);
		expect(container.resources).toEqual(run.resources);
		expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
		// No selector of its own: the job controller generates one from the Job's uid.
		expect(job.spec!.selector).toBeUndefined();
	});

	it("runs the argv as the container's command, with the env", () => {
		expect(container.command).toEqual(run.command);
		expect(container.image).toBe("python:3.12-slim");
		expect(container.env).toEqual([{ name: "GREETING", value: "hi" }]);
		expect(jobFor({ ...run, env: [] }, "x").spec!.template.spec!.containers[0].env).toBeUndefined();
	});

	it("runs a shell string through sh -c and an argv as is", () => {
		expect(argvOf({ cmd: "echo a | wc -c" })).toEqual(["sh", "-c", "echo a | wc -c"]);
		expect(argvOf({ command: ["python3", "-c", "print(1)"] })).toEqual(["python3", "-c", "print(1)"]);
	});

	it("selects a Job's pods by the controller's label", () => {
		expect(jobPodSelector(run.name)).toBe(`batch.kubernetes.io/job-name=${run.name}`);
	});
});

describe("a Job's phase", () => {
	it("follows the final conditions, then active pods", () => {
		expect(jobPhase(undefined)).toBe("Pending");
		expect(jobPhase({ active: 1 })).toBe("Running");
		expect(jobPhase({ active: 0, conditions: [{ type: "SuccessCriteriaMet", status: "True" }] })).toBe("Pending");
		expect(jobPhase({ succeeded: 1, conditions: [{ type: "Complete", status: "True" }] })).toBe("Complete");
		expect(jobPhase({ failed: 1, conditions: [{ type: "FailureTarget", status: "True" }, { type: "Failed", status: "True", reason: "DeadlineExceeded" }] })).toBe("Failed");
		expect(jobPhase({ conditions: [{ type: "Complete", status: "False" }] })).toBe("Pending");
	});
});
