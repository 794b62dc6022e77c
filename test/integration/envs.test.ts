import { execFile } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { Kinds, type V1ConfigMap, type V1Deployment, type V1Pod, type V1Secret } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const backends = envBackends;

const KUBECTL = process.env.KUBECTL || path.join(os.homedir(), ".cache", "berth", "kubernetes-v1.36.3", "bin", "kubectl");
/** kubectl as a person would run it, behind Berth's back. */
function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
	return new Promise((resolve, reject) =>
		execFile(KUBECTL, args, { env: { ...process.env } }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve({ stdout, stderr }))),
	);
}

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"];
const MASK = "********";
const CHECKSUM = "berth.dev/env-checksum";

describe.each(backends)("v1.k8s.envs over REST against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let bobID: string;
	let carol: string;
	let nsName: string;
	let nsId: string;
	let dep: { id: string; name: string };
	const envs = (path = "") => `${mesh.url}/api/v1/k8s/envs${path}`;
	const live = <T>(kind: string, name: string) => kube().get<T & { kind?: string }>({ apiVersion: kind === "Deployment" ? "apps/v1" : "v1", kind, name, namespace: nsName }) as Promise<T | undefined>;
	const secretData = async () => Object.fromEntries(Object.entries((await live<V1Secret>("Secret", `${dep.name}-env`))?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
	const checksum = async () => (await live<V1Deployment>("Deployment", dep.name))?.spec?.template.metadata?.annotations?.[CHECKSUM];

	beforeAll(async () => {
		useBackend();
		mesh = await startMesh(SERVICES);
		const keyFor = async (userID: string) => [(await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } })).body.key as string, userID] as const;
		const [a] = await keyFor(uniqueName("alice"));
		const [b, bobUser] = await keyFor(uniqueName("bob"));
		bobID = bobUser;
		const [c] = await keyFor(uniqueName("carol"));
		[alice, bob, carol] = [a, b, c];
		nsName = uniqueName("it-envs");
		const ns = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: nsName } });
		nsId = ns.body.id;
		// bob shares the namespace (and so sees its deployments), but is not their owner
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}/members`, { method: "POST", key: alice, body: { member: bobID } })).status).toBe(200);
		const created = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: alice, body: { name: "app", namespace: nsName, image: "php-8-1-0-fpm" } });
		expect(created.status).toBe(201);
		dep = created.body;
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	it("created the image's declared secret at deployment time, with a strong random value", async () => {
		const list = await request(envs(`?namespace=${nsName}&deployment=app`), { key: alice });
		expect(list.status).toBe(200);
		expect(list.body).toEqual([expect.objectContaining({ key: "PHP_ROOT_PASSWORD", type: "secret", value: MASK, deployment: dep.id, namespace: nsId })]);
		const { PHP_ROOT_PASSWORD } = await secretData();
		expect(PHP_ROOT_PASSWORD).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(list.text).not.toContain(PHP_ROOT_PASSWORD);
	});

	it("creates plain and secret envs: plain in the ConfigMap, secret in the Secret, and rolls the pods", async () => {
		const before = await checksum();
		const plain = await request(envs(), { method: "POST", key: alice, body: { namespace: nsName, deployment: "app", key: "APP_ENV", value: "prod", type: "as-is" } });
		expect(plain.status).toBe(201);
		expect(plain.body).toMatchObject({ key: "APP_ENV", value: "prod", type: "as-is" });
		const secret = await request(envs(), { method: "POST", key: alice, body: { namespace: nsId, deployment: dep.id, key: "DB_PASSWORD", value: "hunter2-but-longer", type: "secret" } });
		expect(secret.status).toBe(201);
		expect(secret.body).toMatchObject({ key: "DB_PASSWORD", value: MASK, type: "secret" });
		expect(secret.text).not.toContain("hunter2");

		expect((await live<V1ConfigMap>("ConfigMap", "app-env"))?.data).toEqual({ APP_ENV: "prod" });
		expect(await secretData()).toMatchObject({ DB_PASSWORD: "hunter2-but-longer" });
		// The container reads both through envFrom; the checksum on the pod template rolls the pods.
		await eventually(async () => expect(await checksum()).not.toBe(before));
		const template = (await live<V1Deployment>("Deployment", "app"))!.spec!.template;
		expect(template.spec!.containers[0].envFrom).toEqual([{ configMapRef: { name: "app-env", optional: true } }, { secretRef: { name: "app-env", optional: true } }]);
		await eventually(async () => {
			const pods = (await kube().list<V1Pod>(Kinds.Pod, { namespace: nsName, labelSelector: `berth.dev/id=${dep.id}` })).filter(p => !p.metadata?.deletionTimestamp);
			expect(pods.map(p => p.metadata?.annotations?.[CHECKSUM])).toEqual([await checksum()]);
			expect(pods[0].status?.phase).toBe("Running");
		});
	});

	it("never returns a stored secret value from list, get or resolveENV", async () => {
		const list = await request(envs(`?namespace=${nsName}`), { key: alice });
		expect(list.body.map((e: { key: string }) => e.key)).toEqual(["APP_ENV", "DB_PASSWORD", "PHP_ROOT_PASSWORD"]);
		expect(list.text).not.toContain("hunter2");
		const secret = list.body.find((e: { key: string }) => e.key === "DB_PASSWORD");
		const one = await request(envs(`/${secret.id}`), { key: alice });
		expect(one.body).toMatchObject({ key: "DB_PASSWORD", value: MASK });
		expect(one.text).not.toContain("hunter2");
		const resolved = await request(envs(`/resolve?namespace=${nsName}&deployment=app&key=DB_PASSWORD`), { key: alice });
		expect(resolved.body).toMatchObject({ id: secret.id, value: MASK });
		expect((await request(envs(`/resolve?namespace=${nsName}&deployment=app&key=NOPE`), { key: alice })).status).toBe(404);
	});

	it("packs KEY → value, revealing secrets only to who may change them (the edit role) and asks", async () => {
		const masked = await request(envs(`/pack?namespace=${nsName}&deployment=app`), { key: alice });
		expect(masked.body).toEqual({ APP_ENV: "prod", DB_PASSWORD: MASK, PHP_ROOT_PASSWORD: MASK });
		const revealed = await request(envs(`/pack?namespace=${nsName}&deployment=app&reveal=true`), { key: alice });
		const live = await secretData();
		expect(revealed.body).toEqual({ APP_ENV: "prod", DB_PASSWORD: "hunter2-but-longer", PHP_ROOT_PASSWORD: live.PHP_ROOT_PASSWORD });
		// a viewer sees the masked pack, and is refused the reveal; an editor (bob's default role) may reveal
		const setRole = (role: string) => request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}/members`, { method: "POST", key: alice, body: { member: bobID, role } });
		expect((await setRole("view")).status).toBe(200);
		expect((await request(envs(`/pack?namespace=${nsName}&deployment=app`), { key: bob })).body).toEqual(masked.body);
		const refused = await request(envs(`/pack?namespace=${nsName}&deployment=app&reveal=true`), { key: bob });
		expect(refused.status).toBe(403);
		expect(refused.text).not.toContain("hunter2");
		expect((await setRole("edit")).status).toBe(200);
		expect((await request(envs(`/pack?namespace=${nsName}&deployment=app&reveal=true`), { key: bob })).body).toEqual(revealed.body);
		// a stranger does not learn the deployment exists
		const stranger = await request(envs(`/pack?namespace=${nsName}&deployment=app`), { key: carol });
		expect(stranger.status).toBe(422);
		expect((await request(envs(`?namespace=${nsName}`), { key: carol })).status).toBe(422);
	});

	it("updates a value, and the pods roll again", async () => {
		const [plain] = (await request(envs(`?namespace=${nsName}&deployment=app`), { key: alice })).body;
		const before = await checksum();
		const res = await request(envs(`/${plain.id}`), { method: "PATCH", key: alice, body: { value: "staging" } });
		expect(res.status).toBe(200);
		expect((await live<V1ConfigMap>("ConfigMap", "app-env"))?.data).toEqual({ APP_ENV: "staging" });
		await eventually(async () => expect(await checksum()).not.toBe(before));
	});

	it("patchConfigMap rewrites both objects; rePatchConfigMap also drops keys someone else added", async () => {
		const patched = await request(envs("/patch"), { method: "POST", key: alice, body: { namespace: nsName, deployment: "app" } });
		expect(patched.status).toBe(200);
		expect(patched.body).toMatchObject({ deployment: dep.id, configMap: "app-env", secret: "app-env", keys: ["APP_ENV", "DB_PASSWORD", "PHP_ROOT_PASSWORD"] });
		// another field manager adds a key
		const cm = (await live<V1ConfigMap>("ConfigMap", "app-env"))!;
		await kubectl("patch", "configmap", "app-env", "-n", nsName, "--type", "merge", "-p", '{"data":{"INTRUDER":"1"}}');
		expect((await live<V1ConfigMap>("ConfigMap", "app-env"))?.data?.INTRUDER).toBe("1");
		const repatched = await request(envs("/repatch"), { method: "POST", key: alice, body: { namespace: nsName, deployment: "app" } });
		expect(repatched.status).toBe(200);
		await eventually(async () => expect((await live<V1ConfigMap>("ConfigMap", "app-env"))?.data).toEqual(cm.data));
		expect(await secretData()).toMatchObject({ DB_PASSWORD: "hunter2-but-longer" });
	});

	it("createEnv adds the image's declarations that are missing, and sets given values", async () => {
		const [declared] = (await request(envs(`?namespace=${nsName}&deployment=app`), { key: alice })).body.filter((e: { key: string }) => e.key === "PHP_ROOT_PASSWORD");
		expect((await request(envs(`/${declared.id}`), { method: "DELETE", key: alice })).status).toBe(200);
		expect(await secretData()).not.toHaveProperty("PHP_ROOT_PASSWORD");
		const res = await request(envs("/from-image"), { method: "POST", key: alice, body: { namespace: nsName, deployment: "app", env: [{ key: "EXTRA", value: "1" }] } });
		expect(res.status).toBe(200);
		expect(res.body.map((e: { key: string; value: string }) => [e.key, e.value])).toEqual([
			["APP_ENV", "staging"],
			["DB_PASSWORD", MASK],
			["EXTRA", "1"],
			["PHP_ROOT_PASSWORD", MASK],
		]);
		expect((await secretData()).PHP_ROOT_PASSWORD).toMatch(/^[A-Za-z0-9_-]{43}$/);
	});

	it("refuses bad input with 4xx naming the field", async () => {
		const bad = async (body: Record<string, unknown>) => request(envs(), { method: "POST", key: alice, body: { namespace: nsName, deployment: "app", key: "K", value: "v", ...body } });
		for (const [body, field] of [
			[{ key: "1BAD" }, "key"],
			[{ key: "HAS-DASH" }, "key"],
			[{ type: "plaintext" }, "type"],
			[{ value: 42 }, "value"],
			[{ deployment: "nope" }, "deployment"],
			[{ namespace: "nope" }, "namespace"],
		] as const) {
			const res = await bad(body);
			expect(res.status).toBe(422);
			expect(res.body.data.map((e: { field: string }) => e.field)).toContain(field);
		}
		expect((await bad({ key: "APP_ENV" })).status).toBe(409);
		expect((await request(envs("/clean"), { method: "POST", key: alice, body: {} })).status).toBe(422);
	});

	it("cleans a deployment's envs and deletes its env objects", async () => {
		const res = await request(envs("/clean"), { method: "POST", key: alice, body: { namespace: nsName, deployment: "app" } });
		expect(res.status).toBe(200);
		expect(res.body.removed).toBe(4);
		expect((await request(envs(`?namespace=${nsName}`), { key: alice })).body).toEqual([]);
		expect(await live("ConfigMap", "app-env")).toBeUndefined();
		expect(await live("Secret", "app-env")).toBeUndefined();
	});
});
