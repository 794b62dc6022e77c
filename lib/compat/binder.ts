/**
 * binder-protocol (1.2.0, what binder-client 1.0.3 speaks) as the binder routes answer it. The
 * client takes 200 as success and 403 as "unauthorized"; any other answer it reads as
 * `{type, error}`, and shows `error` when `type` is one the endpoint declares. The status of an
 * error stays Berth's (404 for an unknown id, not the protocol's 500): the client does not read it,
 * and a 5xx would tell proxies and retrying clients that the server failed.
 */
import type { ErrorBody } from "../api/gateway";
import { ErrorTypes } from "../errors";

/** The endpoint of binder-protocol's `deploy` API each binder route action is. */
const ENDPOINTS: Record<string, "deploy" | "status" | "statusAll"> = {
	"v1.k8s.applications.binderDeploy": "deploy",
	"v1.k8s.applications.binderLaunch": "deploy",
	"v1.k8s.applications.binderStatus": "status",
	"v1.k8s.applications.binderKeepalive": "status",
	"v1.k8s.applications.binderList": "statusAll",
};

/** An error as binder-protocol reads it: `type` and `error` (the message), beside Berth's own fields. */
export type BinderErrorBody = ErrorBody & { error: string };

/** binder-protocol's type name for an error of an endpoint, where one fits; else Berth's type. */
export function binderErrorType(endpoint: "deploy" | "status" | "statusAll", body: Pick<ErrorBody, "code" | "type">): string {
	// An unknown template: the deploy server could not fetch it from its registry (Berth's catalog).
	if (endpoint === "deploy" && body.code === 404) return "registryError";
	if (endpoint === "status" && body.code === 404) return "noRecord";
	// The protocol's global error for a request without the parameters an endpoint needs.
	if (body.code === 422 && body.type === ErrorTypes.Invalid) return "malformedRequest";
	return body.type;
}

/** The error body of a binder route in binder's shape; any other action's body as it is. */
export function binderErrorBody(action: string | undefined, body: ErrorBody): ErrorBody | BinderErrorBody {
	const endpoint = action ? ENDPOINTS[action] : undefined;
	if (!endpoint) return body;
	return { ...body, type: binderErrorType(endpoint, body), error: body.message };
}
