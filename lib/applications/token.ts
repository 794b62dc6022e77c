/**
 * The launcher's location, as BinderHub gives it: `<location>/?token=<token>`, the token being the
 * generated value of the template's `launchToken` secret env (jupyter's JUPYTER_TOKEN). Only the
 * launcher gets it: the owner of a signed-in launch, or whoever holds an anonymous instance's id (the
 * id is the capability there, as in binder). Lists and events never carry it.
 */
import type { KubeClient, V1Secret } from "../k8s";
import { applicationNames } from "../manifests/application";
import { secretValues } from "../manifests/secret";
import type { StoredApplication } from "./store";

/** Whether the caller launched the instance (an anonymous one: anyone who asks for it by its id). */
export function isLauncher(doc: Pick<StoredApplication, "owner" | "anonymous">, userID: string | undefined): boolean {
	return doc.anonymous || (userID !== undefined && userID === doc.owner);
}

/** `location` with `?token=` appended, the token as the instance's Secret holds it. */
export function withToken(location: string, token: string): string {
	return `${location.replace(/\/+$/, "")}/?token=${encodeURIComponent(token)}`;
}

/**
 * The location the caller is shown: with the token for the launcher of a running instance whose
 * template names one; as stored for everyone else (and while the Secret cannot be read).
 */
export async function launcherLocation(kube: KubeClient, doc: StoredApplication, userID: string | undefined): Promise<string | null> {
	const key = doc.spec.launchToken;
	if (!doc.location || !key || doc.status !== "running" || !isLauncher(doc, userID)) return doc.location ?? null;
	const secret = await kube.get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: applicationNames(doc.appId).secret, namespace: doc.namespaceName });
	const token = secretValues(secret)[key];
	return token ? withToken(doc.location, token) : doc.location;
}
