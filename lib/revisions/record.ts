/**
 * The one way a change of a deployment's spec or envs is recorded as a revision: v1.k8s.revisions
 * compares the deployment and its envs with the last revision and stores a new one if they differ
 * (so the create's and the envs' calls for one change make one revision). Without that service,
 * nothing is recorded.
 */
import type { Context } from "moleculer";
import type { RecordParams } from "../api/revisions";

export const REVISIONS_SERVICE = "v1.k8s.revisions";

/**
 * Records the deployment's revision as the caller (`ctx.meta.userID` is who made it). The change it
 * follows is already accepted and applied: a failure to record is logged, not the caller's error.
 */
export async function recordRevision(ctx: Context, deployment: string): Promise<void> {
	if (!ctx.broker.registry.hasService(REVISIONS_SERVICE, undefined as unknown as string)) return;
	try {
		await ctx.call<unknown, RecordParams & { scope: false }>(`${REVISIONS_SERVICE}.record`, { deployment, scope: false });
	} catch (err) {
		ctx.broker.logger.warn(`Recording a revision of deployment ${deployment} failed:`, (err as Error).message);
	}
}
