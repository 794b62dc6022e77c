/**
 * The Job of one image build, pure: kaniko's executor clones the repository, builds the Dockerfile
 * and pushes the image, then writes the pushed digest to its termination message.
 *
 * Why kaniko rather than BuildKit rootless: rootless BuildKit makes user namespaces, which needs
 * seccomp and AppArmor `Unconfined`; the Pod Security `baseline` level Berth enforces on tenant
 * namespaces refuses both. Kaniko needs neither: it runs as root inside its own container (that
 * root unpacks the base image's files), with no privilege, no privilege escalation, seccomp
 * RuntimeDefault and every capability dropped but the few file-owner ones below, all of which
 * `baseline` allows. It cannot run under `restricted` (POD_SECURITY_LEVEL=restricted): builds then fail to start.
 */
import type { KubernetesObject, V1Job, V1Volume, V1VolumeMount } from "../k8s";
import type { JobResources } from "../api/jobs";
import { entityAnnotations, managedLabels } from "./labels";
import { workloadSecurity } from "./security";

/** The builder's container; its logs are the build's. */
export const BUILD_CONTAINER = "build";
export const BUILD_COMPONENT = "build";
/** The copy of BUILD_REGISTRY_SECRET in a tenant namespace. */
export const BUILD_REGISTRY_SECRET_NAME = "berth-build-registry";
/** kaniko reads registry credentials from `$DOCKER_CONFIG/config.json`. */
const DOCKER_CONFIG_DIR = "/kaniko/.docker";
/** What kaniko needs to recreate the base image's files as they were (owners, modes, setuid bits). */
export const BUILDER_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID"];

/** Everything a build's Job is built from, defaults applied. */
export interface BuildRun {
	id: string;
	jobName: string;
	builderImage: string;
	git: string;
	ref?: string;
	context?: string;
	dockerfile: string;
	destination: string;
	resources: JobResources;
	timeoutSeconds: number;
	ttlSecondsAfterFinished: number;
	/** The Secret (in the build's namespace) with the registry's credentials; none: push without. */
	registrySecret?: string;
	registryInsecure: boolean;
}

/** kaniko's Git context: `git://host/path#refs/heads/main`, the scheme given by GIT_PULL_METHOD. */
export function gitContext(git: string, ref: string | undefined): { context: string; pullMethod: "https" | "http" } {
	const url = new URL(git);
	const fragment = ref === undefined ? "" : `#${ref.startsWith("refs/") ? ref : `refs/heads/${ref}`}`;
	return { context: `git://${url.host}${url.pathname}${url.search}${fragment}`, pullMethod: url.protocol === "http:" ? "http" : "https" };
}

export function builderArgs(run: BuildRun): string[] {
	const { context } = gitContext(run.git, run.ref);
	return [
		`--context=${context}`,
		...(run.context ? [`--context-sub-path=${run.context}`] : []),
		`--dockerfile=${run.dockerfile}`,
		`--destination=${run.destination}`,
		// The kubelet copies this file into the pod's status: the digest reaches Berth without the logs.
		"--digest-file=/dev/termination-log",
		...(run.registryInsecure ? ["--insecure"] : []),
		"--verbosity=info",
	];
}

function registryVolume(run: BuildRun): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
	if (!run.registrySecret) return { volumes: [], mounts: [] };
	return {
		volumes: [{ name: "registry", secret: { secretName: run.registrySecret, items: [{ key: ".dockerconfigjson", path: "config.json" }], defaultMode: 0o400 } }],
		mounts: [{ name: "registry", mountPath: DOCKER_CONFIG_DIR, readOnly: true }],
	};
}

/** The build's Job: one try, a deadline, requests and limits, no service-account token, nothing privileged. */
export function buildJobFor(run: BuildRun, namespace: string): V1Job {
	const labels = managedLabels(BUILD_COMPONENT, run.id, run.jobName);
	const security = workloadSecurity({ capabilities: BUILDER_CAPABILITIES });
	const { volumes, mounts } = registryVolume(run);
	return {
		apiVersion: "batch/v1",
		kind: "Job",
		metadata: { name: run.jobName, namespace, labels, annotations: entityAnnotations(BUILD_COMPONENT, run.id) },
		spec: {
			completions: 1,
			parallelism: 1,
			backoffLimit: 0,
			activeDeadlineSeconds: run.timeoutSeconds,
			ttlSecondsAfterFinished: run.ttlSecondsAfterFinished,
			template: {
				metadata: { labels, annotations: entityAnnotations(BUILD_COMPONENT, run.id) },
				spec: {
					restartPolicy: "Never",
					automountServiceAccountToken: false,
					enableServiceLinks: false,
					securityContext: security.pod,
					volumes: volumes.length ? volumes : undefined,
					containers: [
						{
							name: BUILD_CONTAINER,
							image: run.builderImage,
							imagePullPolicy: "IfNotPresent",
							args: builderArgs(run),
							env: [
								{ name: "GIT_PULL_METHOD", value: gitContext(run.git, run.ref).pullMethod },
								{ name: "DOCKER_CONFIG", value: DOCKER_CONFIG_DIR },
							],
							resources: { requests: { ...run.resources.requests }, limits: { ...run.resources.limits } },
							securityContext: { ...security.container, privileged: false },
							terminationMessagePath: "/dev/termination-log",
							terminationMessagePolicy: "File",
							volumeMounts: mounts.length ? mounts : undefined,
						},
					],
				},
			},
		},
	};
}

/** The registry Secret copied into a tenant namespace: the same credentials, owned by Berth. */
export function registrySecretCopy(data: Record<string, string>, namespace: string, namespaceId: string): KubernetesObject & { type: string; data: Record<string, string> } {
	return {
		apiVersion: "v1",
		kind: "Secret",
		metadata: { name: BUILD_REGISTRY_SECRET_NAME, namespace, labels: managedLabels("build-registry", namespaceId, BUILD_REGISTRY_SECRET_NAME), annotations: entityAnnotations("build-registry", namespaceId) },
		type: "kubernetes.io/dockerconfigjson",
		data,
	};
}
