import { ServiceBroker, type BrokerOptions } from "moleculer";
import brokerConfig from "../../moleculer.config";
import type { V1PersistentVolumeClaim } from "../../lib/k8s";
import type { ImageEntity } from "../../lib/api/images";
import type { NamespaceEntity } from "../../lib/api/namespaces";
import type { VolumeEntity } from "../../lib/api/volumes";
import { kube, readClusterEnv, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { startMesh, type Mesh } from "../helpers/mesh";

const clusterEnv = readClusterEnv();
const mongoUri = process.env.MONGO_URI || clusterEnv.MONGO_URI;
const natsUrl = process.env.NATS_URL || clusterEnv.NATS_URL;

const backends = dbBackends();

/**
 * The seed's ctx.call sequence, from a second broker that runs no services and reaches the
 * tenancy services over a real nats-server. Both brokers use Berth's broker options; each run
 * gets a broker namespace of its own ("berth-…") so that concurrent test runs on the shared
 * nats-server never answer each other's calls.
 */
describe.each(backends)("the seed's namespaces → volumes → images calls over NATS (%s)", (_backend, pickMongo) => {
	let mesh: Mesh;
	let client: ServiceBroker;
	let uri: string | undefined;
	const nsName = uniqueName("it-nats");
	const owner = uniqueName("tenant");

	beforeAll(async () => {
		if (!natsUrl) throw new Error("NATS_URL is not set and .cluster/env names none: nats-server must be up (scripts/cluster/up.sh)");
		uri = pickMongo();
		useStore(uri);
		const meshNamespace = uniqueName("berth");
		// A connection string is accepted at runtime; the typings list only transporter names.
		const transporter = natsUrl as BrokerOptions["transporter"];
		mesh = await startMesh(["k8s.namespaces", "k8s.images", "k8s.volumes"], { namespace: meshNamespace, transporter, nodeID: uniqueName("tenancy-node") });
		client = new ServiceBroker({ ...brokerConfig, namespace: meshNamespace, transporter, nodeID: uniqueName("caller-node"), logger: false });
		await client.start();
		await client.waitForServices(["v1.k8s.namespaces", "v1.k8s.images", "v1.k8s.volumes"], 30_000);
		// The tenant's namespace, made by its owner: the seed starts from an existing one.
		await client.call("v1.k8s.namespaces.create", { name: nsName }, { meta: { userID: owner } });
	});
	afterAll(async () => {
		await client?.stop();
		await mesh?.stop();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: nsName }).catch(() => undefined);
		await dropStore(uri);
	});

	it("works as the seed writes it", async () => {
		// Get namespace
		const namespace = await client.call<NamespaceEntity, { name: string }>("v1.k8s.namespaces.resolveName", { name: nsName });
		expect(namespace).toMatchObject({ name: nsName, owner });

		// deployment membership
		const options = { meta: { userID: namespace.owner } };
		const name = "my-app";

		const sharedVolume = await client.call<VolumeEntity, Record<string, unknown>>(
			"v1.k8s.volumes.create",
			{ namespace: namespace.id, name: `${name}-nginx-php-data`, type: "persistentVolumeClaim", mountPath: "/var/www/html" },
			options,
		);
		expect(sharedVolume).toMatchObject({ namespace: namespace.id, name: "my-app-nginx-php-data", owner, size: "1Gi" });

		const byName = await client.call<ImageEntity, { name: string }>("v1.k8s.images.resolveName", { name: "php-8-1-0-fpm" });
		const phpImage = await client.call<ImageEntity, { id: string }>("v1.k8s.images.get", { id: byName.id });
		expect(phpImage).toEqual(byName);
		expect(phpImage).toMatchObject({ name: "php-8-1-0-fpm", image: "php:8.1.0-fpm", volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html" }] });

		// What the seed's deployments would mount: the claim exists and binds.
		const pvc = await eventually(async () => {
			const live = await kube().get<V1PersistentVolumeClaim>({ apiVersion: "v1", kind: "PersistentVolumeClaim", name: sharedVolume.name, namespace: nsName });
			expect(live?.status?.phase).toBe("Bound");
			return live;
		});
		expect(pvc?.metadata?.annotations?.["berth.dev/id"]).toBe(sharedVolume.id);
		await eventually(async () => expect((await client.call<VolumeEntity, object>("v1.k8s.volumes.get", { id: sharedVolume.id }, options)).status).toEqual({ phase: "Bound", capacity: "1Gi" }));
	});

	it("keeps tenants apart over NATS too", async () => {
		const namespace = await client.call<NamespaceEntity, { name: string }>("v1.k8s.namespaces.resolveName", { name: nsName });
		const stranger = { meta: { userID: uniqueName("stranger") } };
		await expect(client.call("v1.k8s.volumes.create", { namespace: namespace.id, name: "nope", mountPath: "/x" }, stranger)).rejects.toMatchObject({ code: 404 });
		await expect(client.call("v1.k8s.namespaces.get", { id: namespace.id }, stranger)).rejects.toMatchObject({ code: 404 });
		await expect(client.call("v1.k8s.volumes.create", { namespace: namespace.id, name: "huge", mountPath: "/x", size: "1000Gi" }, { meta: { userID: owner } })).rejects.toMatchObject({
			code: 422,
			data: [expect.objectContaining({ field: "size" })],
		});
	});
});
