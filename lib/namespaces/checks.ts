/** Pure rules of v1.k8s.namespaces that its params' validator cannot express. */
import type { QuotaInput } from "../api/namespaces";
import type { FieldError } from "../errors";
import { DEFAULT_QUOTA, type NamespaceQuota } from "../manifests/namespace";
import { bytes, cpuMillis, isQuantity } from "../quantity";

/**
 * The quota a request asks for, on top of `base`, or the fields at fault. Quantities must parse
 * and be positive; memory and storage at least 1Mi (smaller ones are almost always a missing unit).
 */
export function resolveQuota(input: QuotaInput | undefined, base: NamespaceQuota = DEFAULT_QUOTA): { quota: NamespaceQuota; errors: FieldError[] } {
	const errors: FieldError[] = [];
	const quota: NamespaceQuota = { ...base };
	for (const key of ["cpu", "memory", "storage"] as const) {
		const value = input?.[key];
		if (value === undefined) continue;
		const text = String(value);
		if (!isQuantity(text)) {
			errors.push({ field: `quota.${key}`, message: `quota.${key} must be a Kubernetes quantity such as ${key === "cpu" ? '"2" or "500m"' : '"4Gi" or "512Mi"'}`, type: "quantity", actual: value });
			continue;
		}
		const tooSmall = key === "cpu" ? cpuMillis(text) < 1 : bytes(text) < 2 ** 20;
		if (tooSmall) {
			errors.push({ field: `quota.${key}`, message: `quota.${key} must be at least ${key === "cpu" ? "1m" : "1Mi"}`, type: "quantityMin", actual: value });
			continue;
		}
		quota[key] = text;
	}
	if (input?.pods !== undefined) quota.pods = input.pods;
	if (input?.gpu !== undefined) quota.gpu = input.gpu;
	return { quota, errors };
}
