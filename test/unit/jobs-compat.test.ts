import { compatJob, compatListItem, compatStatus, compatTime, snakeCase } from "../../lib/compat/jobs";
import type { V1Job } from "../../lib/k8s";

describe("the orchestrate seed's JSON shapes", () => {
	it("names fields as the Python client does", () => {
		const names: [camel: string, snake: string][] = [
			["apiVersion", "api_version"],
			["fieldsV1", "fields_v1"],
			["uncountedTerminatedPods", "uncounted_terminated_pods"],
			["ttlSecondsAfterFinished", "ttl_seconds_after_finished"],
			["podIPs", "pod_i_ps"],
			["hostIPC", "host_ipc"],
			["uid", "uid"],
		];
		for (const [camel, snake] of names) expect(snakeCase(camel)).toBe(snake);
	});

	it("writes times like Python's isoformat, from Dates or apiserver strings", () => {
		expect(compatTime(new Date("2023-02-03T04:05:06Z"))).toBe("2023-02-03T04:05:06+00:00");
		expect(compatTime("2023-02-03T04:05:06Z")).toBe("2023-02-03T04:05:06+00:00");
		expect(compatTime("2023-02-03T04:05:06.250Z")).toBe("2023-02-03T04:05:06.250000+00:00");
		expect(compatTime(undefined)).toBeNull();
		expect(compatTime("not a time")).toBeNull();
	});

	it("gives every status field, null when unset, in the seed's order", () => {
		const status = compatStatus({
			startTime: new Date("2023-02-03T04:05:06Z"),
			completionTime: "2023-02-03T04:05:09Z",
			succeeded: 1,
			conditions: [{ type: "Complete", status: "True", lastProbeTime: "2023-02-03T04:05:09Z", lastTransitionTime: new Date("2023-02-03T04:05:09Z") }],
		});
		expect(JSON.stringify(status)).toBe(
			JSON.stringify({
				active: null,
				completed_indexes: null,
				completion_time: "2023-02-03T04:05:09+00:00",
				conditions: [{ last_probe_time: "2023-02-03T04:05:09+00:00", last_transition_time: "2023-02-03T04:05:09+00:00", message: null, reason: null, status: "True", type: "Complete" }],
				failed: null,
				ready: null,
				start_time: "2023-02-03T04:05:06+00:00",
				succeeded: 1,
				uncounted_terminated_pods: null,
			}),
		);
		expect(compatStatus(undefined)).toEqual({
			active: null,
			completed_indexes: null,
			completion_time: null,
			conditions: null,
			failed: null,
			ready: null,
			start_time: null,
			succeeded: null,
			uncounted_terminated_pods: null,
		});
		expect(compatStatus({ uncountedTerminatedPods: { succeeded: ["u1"] } }).uncounted_terminated_pods).toEqual({ failed: null, succeeded: ["u1"] });
	});

	it("puts the job's name first in list rows", () => {
		const row = compatListItem("5f0c1f0e-0000-4000-8000-000000000001", { active: 1, ready: 0 });
		expect(Object.keys(row)).toEqual(["job", "active", "completed_indexes", "completion_time", "conditions", "failed", "ready", "start_time", "succeeded", "uncounted_terminated_pods"]);
		expect(row).toMatchObject({ job: "5f0c1f0e-0000-4000-8000-000000000001", active: 1, ready: 0, succeeded: null });
	});

	it("renders a Job like the Python client's to_dict: models snake_case and null-filled, maps untouched", () => {
		const created = new Date("2023-02-03T04:05:06Z");
		const job: V1Job = {
			apiVersion: "batch/v1",
			kind: "Job",
			metadata: {
				name: "5f0c1f0e-0000-4000-8000-000000000001",
				namespace: "orchestrator",
				uid: "0d3c3c7e-1111-4222-8333-444455556666",
				resourceVersion: "812",
				generation: 1,
				creationTimestamp: created,
				labels: { "app.kubernetes.io/managed-by": "berth" },
				managedFields: [
					{
						apiVersion: "batch/v1",
						fieldsType: "FieldsV1",
						fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:app.kubernetes.io/managed-by": {} } }, "f:spec": { "f:backoffLimit": {} } },
						manager: "berth",
						operation: "Apply",
						time: created,
					},
				],
			},
			spec: {
				backoffLimit: 0,
				activeDeadlineSeconds: 600,
				selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "0d3c3c7e" } },
				template: {
					spec: {
						restartPolicy: "Never",
						automountServiceAccountToken: false,
						containers: [{ name: "job", image: "python:3.12-slim", command: ["sh", "-c", "echo hi"], resources: { requests: { cpu: "100m" }, limits: { memory: "512Mi" } } }],
					},
				},
			},
			status: {},
		};
		const out = compatJob(job as unknown as Record<string, unknown>);
		expect(Object.keys(out)).toEqual(["api_version", "kind", "metadata", "spec", "status"]);
		const metadata = out.metadata as Record<string, unknown>;
		expect(Object.keys(metadata)).toEqual([
			"annotations",
			"cluster_name",
			"creation_timestamp",
			"deletion_grace_period_seconds",
			"deletion_timestamp",
			"finalizers",
			"generate_name",
			"generation",
			"labels",
			"managed_fields",
			"name",
			"namespace",
			"owner_references",
			"resource_version",
			"self_link",
			"uid",
		]);
		expect(metadata).toMatchObject({ annotations: null, creation_timestamp: "2023-02-03T04:05:06+00:00", labels: { "app.kubernetes.io/managed-by": "berth" }, resource_version: "812" });
		expect(metadata.managed_fields).toEqual([
			{
				api_version: "batch/v1",
				fields_type: "FieldsV1",
				fields_v1: { "f:metadata": { "f:labels": { ".": {}, "f:app.kubernetes.io/managed-by": {} } }, "f:spec": { "f:backoffLimit": {} } },
				manager: "berth",
				operation: "Apply",
				subresource: null,
				time: "2023-02-03T04:05:06+00:00",
			},
		]);
		const spec = out.spec as Record<string, any>;
		expect(spec).toMatchObject({ backoff_limit: 0, active_deadline_seconds: 600, completions: null, ttl_seconds_after_finished: null, selector: { match_labels: { "batch.kubernetes.io/controller-uid": "0d3c3c7e" } } });
		expect(spec.template.spec.automount_service_account_token).toBe(false);
		expect(spec.template.spec.containers[0]).toMatchObject({ name: "job", command: ["sh", "-c", "echo hi"], resources: { requests: { cpu: "100m" }, limits: { memory: "512Mi" } } });
		expect(out.status).toEqual(compatStatus({}));
	});
});
