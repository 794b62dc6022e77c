/**
 * A container's probes: the catalog image's, each replaced or turned off (`false`) by the
 * deployment's `probes`; and the way back, a live probe as a ProbeSpec (adoption keeps them).
 */
import type { V1Container, V1Probe } from "../k8s";
import type { CatalogImage, ProbeOverrides, ProbeSpec } from "./model";

export type ContainerProbes = Pick<V1Container, "readinessProbe" | "livenessProbe" | "startupProbe">;
export type { ProbeOverrides, ProbeSpec };

/** The three probes: the override's key and the image's (and the container's) field. */
export const PROBE_KINDS = [
	{ key: "readiness", field: "readinessProbe" },
	{ key: "liveness", field: "livenessProbe" },
	{ key: "startup", field: "startupProbe" },
] as const;

const TIMINGS = ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold"] as const;

/** A ProbeSpec as Kubernetes writes it. */
export function probeOf(spec: ProbeSpec): V1Probe {
	const probe: V1Probe = spec.http ? { httpGet: { path: spec.http.path, port: spec.http.port } } : { tcpSocket: { port: spec.tcp?.port ?? 0 } };
	for (const t of TIMINGS) if (spec[t] !== undefined) probe[t] = spec[t];
	return probe;
}

/** The container's probes: the image's, unless the deployment replaces one or turns it off. */
export function containerProbes(image: Pick<CatalogImage, "readinessProbe" | "livenessProbe" | "startupProbe">, overrides: ProbeOverrides | undefined): ContainerProbes {
	const out: ContainerProbes = {};
	for (const { key, field } of PROBE_KINDS) {
		const wanted = overrides?.[key] ?? image[field];
		if (wanted) out[field] = probeOf(wanted);
	}
	return out;
}

/** A live probe as a ProbeSpec; undefined for one a ProbeSpec cannot say (exec, grpc, HTTP headers or scheme). */
export function probeSpecOf(probe: V1Probe): ProbeSpec | undefined {
	let spec: ProbeSpec;
	const port = (p: unknown) => (typeof p === "number" || typeof p === "string" ? p : undefined);
	if (probe.httpGet && !probe.httpGet.httpHeaders?.length && (probe.httpGet.scheme ?? "HTTP") === "HTTP" && !probe.httpGet.host) {
		const p = port(probe.httpGet.port);
		if (p === undefined) return undefined;
		spec = { http: { path: probe.httpGet.path ?? "/", port: p } };
	} else if (probe.tcpSocket && !probe.tcpSocket.host) {
		const p = port(probe.tcpSocket.port);
		if (p === undefined) return undefined;
		spec = { tcp: { port: p } };
	} else return undefined;
	for (const t of TIMINGS) if (probe[t] !== undefined) spec[t] = probe[t];
	return spec;
}

/**
 * Adoption keeps a live container's probes: as a deployment's `probes`, each one it has and `false`
 * for each it has not (so the catalog's do not come in). One a ProbeSpec cannot say (exec, grpc)
 * is not carried over, and a note says so.
 */
export function carriedProbes(c: ContainerProbes & { name: string }, notes: { field: string; message: string }[]): ProbeOverrides {
	const probes: ProbeOverrides = {};
	for (const { key, field } of PROBE_KINDS) {
		const live = c[field];
		const spec = live ? probeSpecOf(live) : undefined;
		if (live && !spec) notes.push({ field: `containers[${c.name}].${field}`, message: "Only HTTP GET and TCP probes are carried over; this one is not" });
		probes[key] = spec ?? false;
	}
	return probes;
}
