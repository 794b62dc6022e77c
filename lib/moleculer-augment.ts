// Action properties Berth reads besides moleculer's own. `rest` comes from moleculer-web's
// augmentation, imported here so every service is typed the same way whether or not it imports the gateway.
import type { Service } from "moleculer";
import type {} from "moleculer-web";

declare module "moleculer" {
	interface ActionSchema<TThis = Service> {
		/** Callable without a caller identity (no API key over REST, no ctx.meta.userID). */
		public?: boolean;
		/** Short description for the OpenAPI document. */
		summary?: string;
	}
}

export {};
