import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { ServiceBroker, type BrokerOptions } from "moleculer";
import brokerConfig from "../../moleculer.config";
import { selectServices } from "../../services";

export interface Mesh {
	broker: ServiceBroker;
	/** Base URL of the gateway, when "api" is among the services. */
	url: string;
	adminKey: string;
	stop(): Promise<void>;
}

/**
 * Starts a real broker with the named services (port 0: the OS picks a free one) and an admin key.
 * DATA_DIR is in-memory unless the caller set one.
 */
export async function startMesh(services: string[], overrides: Partial<BrokerOptions> = {}): Promise<Mesh> {
	process.env.DATA_DIR ??= ":memory:";
	process.env.BERTH_ADMIN_KEY ??= "berth_000000000000_integration-admin-key-0000000000";
	process.env.PORT = "0";
	const broker = new ServiceBroker({ ...brokerConfig, logger: process.env.TEST_LOGS ? brokerConfig.logger : false, ...overrides });
	for (const schema of selectServices(services)) broker.createService(schema);
	await broker.start();
	let url = "";
	const api = broker.getLocalService("api") as unknown as { server?: http.Server } | undefined;
	if (api?.server) url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
	return { broker, url, adminKey: process.env.BERTH_ADMIN_KEY, stop: () => broker.stop() };
}

export interface HttpResult<T = unknown> {
	status: number;
	headers: Headers;
	body: T;
	text: string;
}

/** A real HTTP request; the JSON body is parsed when there is one. */
export async function request<T = any>(url: string, init: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
	const headers: Record<string, string> = { ...(init.headers ?? {}) };
	if (init.key) headers.authorization = `Bearer ${init.key}`;
	if (init.body !== undefined) headers["content-type"] ??= "application/json";
	const res = await fetch(url, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body) });
	const text = await res.text();
	let body: unknown = text;
	try {
		body = text ? JSON.parse(text) : undefined;
	} catch {
		/* text/plain answers stay text */
	}
	return { status: res.status, headers: res.headers, body: body as T, text };
}

/** A new API key for `userID`, made with the mesh's admin key (asserts the 201). */
export async function keyFor(mesh: Mesh, userID: string): Promise<string> {
	const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } });
	expect(res.status).toBe(201);
	return res.body.key as string;
}

/** A namespace made through the gateway with `key` (asserts the 201); its id and name. */
export async function createNamespace(mesh: Mesh, key: string, name: string, quota?: Record<string, unknown>): Promise<{ id: string; name: string }> {
	const res = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key, body: { name, quota } });
	expect(res.status).toBe(201);
	return res.body as { id: string; name: string };
}
