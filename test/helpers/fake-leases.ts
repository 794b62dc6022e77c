import type { ElectorClock, LeaseClient } from "../../lib/leader";
import type { KubernetesObject, V1Lease } from "../../lib/k8s";

/** One Lease in memory with the apiserver's optimistic concurrency; each node's calls can fail or hang. */
export class FakeLeases {
	lease?: V1Lease;
	private rv = 0;
	readonly mode = new Map<string, "ok" | "fail" | "hang">();
	writes: { node: string; holder?: string; at: number }[] = [];
	/** Requests by verb, every node together. */
	readonly calls = { get: 0, create: 0, replace: 0 };

	client(node: string): LeaseClient {
		const gate = async () => {
			const mode = this.mode.get(node) ?? "ok";
			if (mode === "fail") throw Object.assign(new Error("apiserver unreachable"), { code: 503 });
			if (mode === "hang") await new Promise(() => undefined);
		};
		const copy = <T>(obj: T): T => structuredClone(obj);
		const write = (obj: V1Lease): V1Lease => {
			this.rv++;
			this.lease = { ...copy(obj), metadata: { ...obj.metadata, resourceVersion: String(this.rv) } };
			this.writes.push({ node, holder: obj.spec?.holderIdentity, at: Date.now() });
			return copy(this.lease);
		};
		return {
			get: (async () => {
				this.calls.get++;
				await gate();
				return this.lease && copy(this.lease);
			}) as LeaseClient["get"],
			create: (async (obj: KubernetesObject) => {
				this.calls.create++;
				await gate();
				if (this.lease) throw Object.assign(new Error("exists"), { code: 409 });
				return write(obj as V1Lease);
			}) as LeaseClient["create"],
			replace: (async (obj: KubernetesObject) => {
				this.calls.replace++;
				await gate();
				if (obj.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error("conflict"), { code: 409 });
				return write(obj as V1Lease);
			}) as LeaseClient["replace"],
		};
	}
}

/** Monotonic time follows Date.now (jest's fake clock, where faked); `jump` moves it as a SIGSTOP would, no timer run. */
export function clockOf(opts: { wallSkewMs?: number } = {}): ElectorClock & { jump(ms: number): void } {
	let jumped = 0;
	return {
		now: () => Date.now() + jumped,
		wall: () => Date.now() + (opts.wallSkewMs ?? 0),
		jump: ms => {
			jumped += ms;
		},
	};
}
