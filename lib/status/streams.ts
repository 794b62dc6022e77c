/** Server-Sent Events of live status, fed in-process by this node's k8s.status service. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, Service, ServiceBroker } from "moleculer";
import { Errors } from "moleculer";
import type { StatusHub } from "../api/status";
import { namespaceHealth, type AppHealth } from "../health";
import { AccessWatch, keyStillUsable } from "../access-watch";
import { loadConfig } from "../config";
import { streamOwner, streamSlots } from "../reads";

type StreamReq = IncomingMessage & { $ctx: Context<unknown>; $params: Record<string, unknown> };
type Next = (err?: unknown) => void;

/** What the deployments and namespaces services answer to `get` (the fields the streams use). */
interface DeploymentRef {
	id: string;
	name: string;
	namespaceName: string;
}
interface NamespaceRef {
	id: string;
	name: string;
}

/** The k8s.status service of this node: streams are fed in-process, from this node's informers. */
export function localStatusHub(broker: ServiceBroker): StatusHub | undefined {
	return broker.getLocalService({ name: "k8s.status", version: 1 }) as unknown as StatusHub | undefined;
}

function idParam(req: StreamReq): string {
	const id = req.$params?.id;
	if (typeof id !== "string" || !id || id.length > 128) throw new Errors.MoleculerClientError("id is required", 422, "VALIDATION_ERROR", [{ field: "id", message: "id is required", type: "required" }]);
	return id;
}

/**
 * Whether the stream's caller still has access: their key still works and `get` still answers
 * (membership, confinement and the entity itself are decided there, as for any request).
 */
function accessCheck(req: StreamReq, getAction: string, id: string): () => Promise<boolean> {
	return async () => {
		if (!(await keyStillUsable(req.$ctx))) return false;
		await req.$ctx.call(getAction, { id });
		return true;
	};
}

/**
 * Opens the event stream: one of the caller's stream slots (429 when none is free), headers, the
 * reconnection delay, a heartbeat, the access re-check (an `event: end` with the reason when
 * access is gone), and the cleanup when either side goes.
 */
function openStream(req: StreamReq, res: ServerResponse, hub: StatusHub, recheck: () => Promise<boolean>, onClose: () => void): { send(event: string, data: unknown, id?: string): void; end(): void } {
	const release = streamSlots.acquire(streamOwner(req.$ctx.meta as { keyID?: string; userID?: string }));
	res.writeHead(200, {
		"Content-Type": "text/event-stream; charset=utf-8",
		"Cache-Control": "no-cache, no-transform",
		Connection: "keep-alive",
		// nginx (an Ingress in front of the gateway) would otherwise buffer the stream.
		"X-Accel-Buffering": "no",
	});
	res.write("retry: 3000\n\n");
	let seq = 0;
	let closed = false;
	const heartbeat = setInterval(() => res.write(`: heartbeat ${new Date().toISOString()}\n\n`), hub.settings.heartbeatSeconds * 1000);
	const watch = new AccessWatch(recheck, reason => {
		if (!closed) res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
		close();
	}, loadConfig().streamRecheckSeconds * 1000).start();
	const close = () => {
		if (closed) return;
		closed = true;
		release();
		watch.stop();
		clearInterval(heartbeat);
		offStop();
		onClose();
		if (!res.writableEnded) res.end();
	};
	const offStop = hub.onStop(close);
	req.on("close", close);
	res.on("close", close);
	return {
		send(event, data) {
			if (!closed) res.write(`event: ${event}\nid: ${++seq}\ndata: ${JSON.stringify(data)}\n\n`);
		},
		end: close,
	};
}

function hubOf(service: Service): StatusHub {
	const hub = localStatusHub(service.broker);
	if (!hub) throw new Errors.MoleculerRetryableError("Live status needs the k8s.status service on the gateway's node", 503, "SERVICE_UNAVAILABLE");
	return hub;
}

/**
 * `GET /api/v1/k8s/deployments/:id/stream`: `event: status` with the app's AppHealth now and on
 * every change, `event: removed` (and the end) when nothing of it is left. Another tenant's
 * deployment is 404, as `get` answers.
 */
export async function deploymentStream(this: Service, req: StreamReq, res: ServerResponse, next: Next): Promise<void> {
	try {
		const hub = hubOf(this);
		const id = idParam(req);
		const dep = await req.$ctx.call<DeploymentRef, { id: string }>("v1.k8s.deployments.get", { id });
		await hub.whenSynced();
		let last = "";
		const push = (status: AppHealth) => {
			const json = JSON.stringify(status);
			if (json === last) return;
			last = json;
			stream.send("status", status);
		};
		let unsubscribe = () => {};
		const stream = openStream(req, res, hub, accessCheck(req, "v1.k8s.deployments.get", id), () => unsubscribe());
		unsubscribe = hub.subscribe(change => {
			if (change.type === "status" && change.status.id === dep.id) push(change.status);
			else if (change.type === "removed" && change.id === dep.id) {
				stream.send("removed", { id: dep.id });
				stream.end();
			}
		});
		push(hub.current(dep.id, dep.namespaceName, dep.name));
	} catch (err) {
		next(err);
	}
}

/**
 * `GET /api/v1/k8s/namespaces/:id/stream`: `event: snapshot` ({namespace, phase, counts, apps}),
 * then `event: status` per changed app and `event: removed` ({id}) per app gone.
 */
export async function namespaceStream(this: Service, req: StreamReq, res: ServerResponse, next: Next): Promise<void> {
	try {
		const hub = hubOf(this);
		const id = idParam(req);
		const ns = await req.$ctx.call<NamespaceRef, { id: string }>("v1.k8s.namespaces.get", { id });
		await hub.whenSynced();
		const sent = new Map<string, string>();
		let unsubscribe = () => {};
		const stream = openStream(req, res, hub, accessCheck(req, "v1.k8s.namespaces.get", id), () => unsubscribe());
		unsubscribe = hub.subscribe(change => {
			if (change.type === "status" && change.status.namespace === ns.name) {
				const json = JSON.stringify(change.status);
				if (sent.get(change.status.id) === json) return;
				sent.set(change.status.id, json);
				stream.send("status", change.status);
			} else if (change.type === "removed" && change.namespace === ns.name && sent.delete(change.id)) {
				stream.send("removed", { id: change.id });
			}
		});
		const apps = hub.inNamespace(ns.name);
		for (const a of apps) sent.set(a.id, JSON.stringify(a));
		stream.send("snapshot", { namespace: ns.name, id: ns.id, ...namespaceHealth(apps), apps });
	} catch (err) {
		next(err);
	}
}
