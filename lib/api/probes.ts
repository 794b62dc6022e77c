/**
 * The validator rule of a probe, shared by the catalog (lib/catalog.ts) and a deployment's `probes`
 * param, and the check the rule cannot express. The shape is ProbeSpec (deployment-model.ts).
 */
import type { ImagePort, ProbeSpec } from "./deployment-model";
import { ABSOLUTE_PATH, DNS1123_LABEL } from "./rules";

const portRule = { type: "multi", rules: [{ type: "number", integer: true, min: 1, max: 65535 }, { type: "string", pattern: DNS1123_LABEL, max: 15 }] } as const;
const seconds = (min: number, max: number) => ({ type: "number", integer: true, min, max, optional: true }) as const;

export const probeRule = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		http: { type: "object", optional: true, strict: true, props: { path: { type: "string", pattern: ABSOLUTE_PATH, max: 1024 }, port: portRule } },
		tcp: { type: "object", optional: true, strict: true, props: { port: portRule } },
		initialDelaySeconds: seconds(0, 3600),
		periodSeconds: seconds(1, 3600),
		timeoutSeconds: seconds(1, 3600),
		failureThreshold: seconds(1, 1000),
	},
} as const;

/** A deployment's override of one probe: a probe, or `false` for none. */
export const probeOverrideRule = { type: "multi", optional: true, rules: [{ type: "equal", value: false, strict: true }, { ...probeRule, optional: false }] } as const;

/** What is wrong with a probe the rule accepted: not exactly one of http and tcp, or a port name the container does not have. */
export function probeProblem(probe: ProbeSpec, ports: Pick<ImagePort, "name">[] | undefined): string | undefined {
	if (Boolean(probe.http) === Boolean(probe.tcp)) return "a probe has exactly one of `http` and `tcp`";
	const port = (probe.http ?? probe.tcp)?.port;
	if (typeof port === "string" && !(ports ?? []).some(p => p.name === port)) return `names port "${port}", which the container does not have`;
	return undefined;
}
