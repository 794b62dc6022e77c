/** How the applications service is configured: from the environment, read when the service is created. */
import { loadConfig } from "../config";
import { DEFAULT_QUOTA, type NamespaceQuota } from "../manifests/namespace";
import type { TenantPolicy } from "../manifests/security";
import { bytes, cpuMillis, isQuantity } from "../quantity";
import { cullPolicyFromEnv, idleBoundsFromEnv, type CullPolicy, type IdleBounds } from "./culling";

export interface ApplicationsConfig {
	/** APPS_NAMESPACE: the Berth namespace every instance runs in, created on first use. */
	namespace: string;
	/** PUBLIC_HOST: what locations start with. */
	publicHost: string;
	/** APPS_INGRESS_CLASS */
	ingressClassName?: string;
	policy: CullPolicy;
	/** APPS_CULL_TIMEOUT_BOUNDS: the idle limits (seconds) a launch may ask for with binder's `cull-timeout`. */
	idleBounds: IdleBounds;
	/** APPS_MAX_PER_OWNER: instances deploying or running at once per owner (all anonymous launches are one owner). */
	maxPerOwner: number;
	/** The namespace's quota: APPS_QUOTA_CPU / _MEMORY / _PODS over the tenants' default. */
	quota: NamespaceQuota;
	/** The namespace's Pod Security level and NetworkPolicy, as every tenant namespace's. */
	tenantPolicy: TenantPolicy;
	resyncSeconds: number;
}

function positiveInt(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n > 0 ? n : fallback;
}

export function applicationsSettings(env: NodeJS.ProcessEnv = process.env): ApplicationsConfig {
	const config = loadConfig(env);
	const quota: NamespaceQuota = { ...DEFAULT_QUOTA };
	if (env.APPS_QUOTA_CPU && isQuantity(env.APPS_QUOTA_CPU) && cpuMillis(env.APPS_QUOTA_CPU) >= 1) quota.cpu = env.APPS_QUOTA_CPU;
	if (env.APPS_QUOTA_MEMORY && isQuantity(env.APPS_QUOTA_MEMORY) && bytes(env.APPS_QUOTA_MEMORY) >= 2 ** 20) quota.memory = env.APPS_QUOTA_MEMORY;
	quota.pods = positiveInt(env.APPS_QUOTA_PODS, quota.pods);
	return {
		namespace: config.ownNamespaces.apps,
		publicHost: env.PUBLIC_HOST || config.baseDomain,
		ingressClassName: env.APPS_INGRESS_CLASS || undefined,
		policy: cullPolicyFromEnv(env),
		idleBounds: idleBoundsFromEnv(env),
		maxPerOwner: positiveInt(env.APPS_MAX_PER_OWNER, 10),
		quota,
		tenantPolicy: config.tenantPolicy,
		resyncSeconds: config.resyncSeconds,
	};
}
