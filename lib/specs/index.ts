/**
 * The spec parser's public face, for imports of `lib/specs` (lib/manifests/spec.ts takes the spec
 * types from here). New code imports lib/specs/parse.ts or lib/api/services.ts directly.
 */
export * from "./parse";
export type { Protocol, ServiceSpec, SpecAmounts, SpecContainer, SpecEnvVar, SpecMount, SpecPort, SpecResources, SpecVolume } from "../api/services";
