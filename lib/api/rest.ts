import type { ActionParams, Context } from "moleculer";
import type { IdParams } from "./rules";

/**
 * What the REST faces of the entity services share: the 201 answer of a create, the `GET /:id` of
 * an entity behind the membership check, and the generic actions they switch off.
 */

/** `$statusCode`/`$location` shape the REST answer (moleculer-web). */
export interface RestMeta {
	$statusCode?: number;
	$location?: string;
}

/** Answers 201 Created with the new entity's `Location` (a path under /api), and returns the entity. */
export function answerCreated<T>(ctx: Context<unknown, RestMeta>, location: string, entity: T): T {
	ctx.meta.$statusCode = 201;
	ctx.meta.$location = location;
	return entity;
}

/** The membership mixin's visibility check and the db mixin's public view, as `getVisibleAction` uses them. */
interface VisibleReader {
	findVisible(ctx: Context<IdParams, object>, id: string): Promise<unknown>;
	publicView(doc: never): unknown;
}

/** `GET /:id`: the entity in its public view if the caller may see it, else the mixin's 404. */
export function getVisibleAction<View>(params: ActionParams) {
	return {
		rest: "GET /:id",
		params,
		async handler(this: VisibleReader, ctx: Context<IdParams, object>): Promise<View> {
			return this.publicView((await this.findVisible(ctx, ctx.params.id)) as never) as View;
		},
	};
}

/** `GET /:id/...`: `read` of the stored entity if the caller may see it, else the mixin's 404. */
export function readVisibleAction<This extends VisibleReader, Doc, R>(rest: string, params: ActionParams, read: (self: This, doc: Doc) => Promise<R>) {
	return {
		rest,
		params,
		async handler(this: This, ctx: Context<IdParams, object>): Promise<R> {
			return read(this, (await this.findVisible(ctx, ctx.params.id)) as Doc);
		},
	};
}

/** moleculer-db's generic actions, and the membership mixin's, which the entity services replace with their own. */
export const DB_ACTIONS = ["list", "find", "count", "create", "insert", "get", "update", "remove"] as const;
export const GENERIC_ACTIONS = [...DB_ACTIONS, "addMember", "removeMember", "transfer"] as const;

/** A mixin listed before the db mixin: drops every generic action, so only the service's own are published. */
export const withoutGenericActions = { actions: Object.fromEntries(GENERIC_ACTIONS.map(a => [a, false])) };
/** The same, keeping the membership mixin's actions (owner and members change only through them). */
export const withoutDbActions = { actions: Object.fromEntries(DB_ACTIONS.map(a => [a, false])) };
