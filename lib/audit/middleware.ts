/**
 * The audit trail's recorder: a broker middleware around every local handler of a mutating action
 * (lib/audit/record.ts decides which). When the outer call of a request ends, well or badly, it
 * sends one record to `v1.audit.record` without waiting for it: the caller's answer never waits
 * on the audit store, and a store that fails is logged, never the caller's failure.
 *
 * It is added to the broker after the broker's own middlewares (moleculer.config.ts), so it wraps
 * them: a call the validator or a before-hook refuses (a 422, a 404) is recorded too.
 */
import type { Context, Middleware, ServiceBroker } from "moleculer";
import type { AuditEntry } from "../api/audit";
import { auditEntryOf, isMutating, isNestedCall, RECORD_ACTION, type ActionFacts } from "./record";

type Handler = (ctx: Context) => Promise<unknown>;

/** Logs a repeated warning at most once a minute: a mesh without the audit service would log every write. */
function throttled(logger: ServiceBroker["logger"], everyMs = 60_000): (message: string, detail?: unknown) => void {
	let last = -Infinity;
	return (message, detail) => {
		const now = Date.now();
		if (now - last < everyMs) return;
		last = now;
		logger.warn(message, detail ?? "");
	};
}

/** Sends one record; never throws, and the call it records never waits for it. */
function sender(broker: ServiceBroker): (ctx: Context, entry: () => AuditEntry) => void {
	const logger = broker.getLogger("audit");
	const warnMissing = throttled(logger);
	const warnFailed = throttled(logger);
	return (ctx, entry) => {
		if (!broker.registry.actions.isAvailable(RECORD_ACTION)) {
			warnMissing("No node runs v1.audit: mutating calls are not recorded");
			return;
		}
		try {
			// The request's id ties the record to the request; empty meta: the record says who called.
			broker.call(RECORD_ACTION, entry(), { requestID: ctx.requestID ?? undefined, meta: {} }).catch((err: Error) => warnFailed("Could not record a call in the audit trail:", err?.message ?? err));
		} catch (err) {
			warnFailed("Could not record a call in the audit trail:", (err as Error)?.message ?? err);
		}
	};
}

/** The middleware, for `broker.middlewares.add` (a factory: Moleculer hands it the broker). */
export function auditMiddleware(broker: ServiceBroker): Middleware {
	const send = sender(broker);
	return {
		name: "Audit",
		localAction(next: Handler, action: ActionFacts): Handler {
			if (!isMutating(action)) return next;
			return async function audited(ctx: Context): Promise<unknown> {
				if (isNestedCall(ctx.caller)) return next(ctx);
				const facts = { action: action.name, params: ctx.params, meta: ctx.meta as Record<string, unknown>, caller: ctx.caller, requestID: ctx.requestID };
				let result: unknown;
				try {
					result = await next(ctx);
				} catch (error) {
					send(ctx, () => auditEntryOf(facts, { ok: false, error }));
					throw error;
				}
				send(ctx, () => auditEntryOf(facts, { ok: true, result }));
				return result;
			};
		},
	} as unknown as Middleware;
}
