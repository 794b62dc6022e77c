import { Readable, type Writable } from "node:stream";
import { readinessView } from "../../lib/api/health";
import { followLogs } from "../../lib/deployments/live";
import type { KubeClient, LogOptions, V1Pod } from "../../lib/k8s";
import type { DeploymentEntity } from "../../lib/manifests/deployment";
import { logLimitPerPod, StreamSlots, streamOwner, streamSlots } from "../../lib/reads";

const MiB = 1024 * 1024;

describe("lib/reads: how many log bytes each pod's read may bring", () => {
	it("gives one pod the whole limit and several pods even shares that add up to no more", () => {
		expect(logLimitPerPod(10 * MiB, 1)).toBe(10 * MiB);
		expect(logLimitPerPod(10 * MiB, 3)).toBe(Math.floor((10 * MiB) / 3));
		expect(logLimitPerPod(10 * MiB, 3) * 3).toBeLessThanOrEqual(10 * MiB);
		expect(logLimitPerPod(10 * MiB, 100) * 100).toBeLessThanOrEqual(10 * MiB);
	});

	it("never asks for 0 bytes (the apiserver refuses it), and no pods is one share", () => {
		expect(logLimitPerPod(2, 5)).toBe(1);
		expect(logLimitPerPod(1000, 0)).toBe(1000);
	});
});

describe("lib/reads: stream slots per key", () => {
	it("lets a key open `limit` streams, refuses the next with 429 TOO_MANY_STREAMS, and frees a slot on release", () => {
		const slots = new StreamSlots(() => 3);
		const releases = [slots.acquire("key:a"), slots.acquire("key:a"), slots.acquire("key:a")];
		expect(() => slots.acquire("key:a")).toThrow(expect.objectContaining({ code: 429, type: "TOO_MANY_STREAMS", data: { limit: 3 } }));
		// another key is counted apart
		expect(() => slots.acquire("key:b")).not.toThrow();
		releases[0]();
		expect(slots.count("key:a")).toBe(2);
		expect(() => slots.acquire("key:a")).not.toThrow();
	});

	it("counts a release once, however often it is called", () => {
		const slots = new StreamSlots(() => 2);
		const release = slots.acquire("key:a");
		slots.acquire("key:a");
		release();
		release();
		expect(slots.count("key:a")).toBe(1);
	});

	it("counts a stream against the key, or against the user for a keyless caller", () => {
		expect(streamOwner({ keyID: "k1", userID: "alice" })).toBe("key:k1");
		expect(streamOwner({ userID: "alice" })).toBe("user:alice");
		expect(streamOwner(undefined)).toBe("user:anonymous");
	});
});

describe("lib/api/health: what a readiness answer shows", () => {
	const checks = { services: { ok: true, detail: "started" }, db: { ok: false, detail: "nedb in /secret/path: EACCES" }, transporter: { ok: true, detail: "in-process" }, cluster: { ok: true, detail: "kube-apiserver v1.36.3" } };

	it("without details: the status and the failing checks' names only", () => {
		const view = readinessView(checks, false);
		expect(view).toEqual({ status: "unready", failing: ["db"] });
		expect(JSON.stringify(view)).not.toContain("/secret/path");
	});

	it("with details (an admin asks): every check and what it saw", () => {
		expect(readinessView(checks, true)).toEqual({ status: "unready", failing: ["db"], checks });
		const ok = { ...checks, db: { ok: true, detail: "mongodb" } };
		expect(readinessView(ok, false)).toEqual({ status: "ready", failing: [] });
	});
});

/** A pod whose log is endless and made only as fast as it is read, like an apiserver response under TCP backpressure. */
class ChattyKube {
	produced = 0;
	limits: number[] = [];
	async followLogs(_ns: string, pod: string, out: Writable, opts: LogOptions): Promise<AbortController> {
		this.limits.push(opts.limitBytes);
		const controller = new AbortController();
		const source = new Readable({
			read: () => {
				const line = `${pod} ${"x".repeat(200)}\n`;
				this.produced += line.length;
				source.push(line);
			},
		});
		controller.signal.addEventListener("abort", () => source.destroy());
		source.pipe(out);
		return controller;
	}
}

/** Lets the streams run until `produced` stops growing (a stalled producer), at most `turns` event-loop turns. */
async function settle(kube: ChattyKube, turns = 2000): Promise<void> {
	let last = -1;
	let still = 0;
	for (let i = 0; i < turns && still < 50; i++) {
		await new Promise(resolve => setImmediate(resolve));
		still = kube.produced === last ? still + 1 : 0;
		last = kube.produced;
	}
}

describe("lib/deployments/live: followed logs", () => {
	const doc = { id: "d1", name: "web", namespaceName: "team-a" } as unknown as DeploymentEntity;
	const pods = [{ metadata: { name: "web-1" } }, { metadata: { name: "web-2" } }] as V1Pod[];
	const access = (owner: string) => ({ recheck: async () => true, recheckMs: 3_600_000, owner });

	afterEach(() => {
		delete process.env.MAX_STREAMS_PER_KEY;
		delete process.env.LOG_LIMIT_BYTES;
	});

	it("stops reading the pods' logs while nobody reads the stream, and goes on once it is read", async () => {
		process.env.LOG_LIMIT_BYTES = String(5 * MiB);
		const kube = new ChattyKube();
		const out = await followLogs(kube as unknown as KubeClient, doc, pods, { id: doc.id, follow: true }, access("key:bp"));
		expect(kube.limits).toEqual([5 * MiB, 5 * MiB]);
		await settle(kube);
		const stalled = kube.produced;
		// Only the streams' own buffers: a few tens of KiB, not an ever-growing heap.
		expect(stalled).toBeLessThan(512 * 1024);
		while (out.read() !== null);
		await settle(kube);
		expect(kube.produced).toBeGreaterThan(stalled);
		out.destroy();
	});

	it("holds one of the key's slots while open and gives it back when the reader goes", async () => {
		process.env.MAX_STREAMS_PER_KEY = "2";
		const kube = new ChattyKube();
		const open = [await followLogs(kube as unknown as KubeClient, doc, pods, { id: doc.id, follow: true }, access("key:slots")), await followLogs(kube as unknown as KubeClient, doc, pods, { id: doc.id, follow: true }, access("key:slots"))];
		await expect(followLogs(kube as unknown as KubeClient, doc, pods, { id: doc.id, follow: true }, access("key:slots"))).rejects.toMatchObject({ code: 429, type: "TOO_MANY_STREAMS" });
		open[0].destroy();
		await new Promise(resolve => open[0].once("close", resolve));
		expect(streamSlots.count("key:slots")).toBe(1);
		const again = await followLogs(kube as unknown as KubeClient, doc, pods, { id: doc.id, follow: true }, access("key:slots"));
		again.destroy();
		open[1].destroy();
		await new Promise(resolve => setImmediate(resolve));
		expect(streamSlots.count("key:slots")).toBe(0);
	});

	it("gives the slot back at once when there are no pods to follow", async () => {
		const out = await followLogs(new ChattyKube() as unknown as KubeClient, doc, [], { id: doc.id, follow: true }, access("key:none"));
		expect(streamSlots.count("key:none")).toBe(0);
		expect(String(out.read())).toContain("No running pods");
	});
});
