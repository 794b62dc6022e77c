import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../helpers/cluster";

/**
 * `npm start` with no cluster configured brings up the local control plane; Ctrl-C in its terminal
 * (SIGINT to the whole process group) must stop the broker and then that control plane, and say so.
 * This runs a real `npm start` (without its prestart build: the test tier has built dist/) on an
 * instance of its own (.cluster-exit/, ports 6743, 4522, 27317), never the shared one.
 */
const instance = {
	BERTH_CLUSTER_DIR: path.join(repoRoot, ".cluster-exit"),
	BERTH_CLUSTER_NAME: "berth-exit",
	KUBE_APISERVER_PORT: "6743",
	NATS_PORT: "4522",
	FERRET_PORT: "27317",
};

/** The environment of a first start: nothing of the test tier's cluster, a home without ~/.kube. */
function firstStartEnv(home: string): NodeJS.ProcessEnv {
	const { KUBECONFIG: _k, NATS_URL: _n, MONGO_URI: _m, TRANSPORTER: _t, KUBE_CONTEXT: _c, ...rest } = process.env;
	const cache = process.env.BERTH_CACHE ?? path.join(os.homedir(), ".cache", "berth");
	return { ...rest, ...instance, HOME: home, BERTH_CACHE: cache, PORT: "0", DATA_DIR: path.join(home, "data") };
}

/** The processes of the instance still running: every one of them names its directory. */
function leftRunning(): string[] {
	const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout;
	return ps.split("\n").filter(line => line.includes(instance.BERTH_CLUSTER_DIR) && !line.includes("ps -eo"));
}

function downScript(): void {
	spawnSync("bash", [path.join(repoRoot, "scripts", "cluster", "down.sh")], { env: { ...process.env, ...instance }, stdio: "ignore" });
}

/** Resolves with the output so far once `text` appears; rejects if the process exits first. */
function waitForOutput(child: ChildProcess, output: () => string, text: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const check = () => output().includes(text) && (cleanup(), resolve());
		const exited = (code: number | null) => (cleanup(), reject(new Error(`npm start exited (${code}) before printing "${text}":\n${output()}`)));
		const cleanup = () => {
			child.stdout?.off("data", check);
			child.stderr?.off("data", check);
			child.off("exit", exited);
		};
		child.stdout?.on("data", check);
		child.stderr?.on("data", check);
		child.on("exit", exited);
	});
}

describe("npm start, then Ctrl-C", () => {
	let home: string;
	let child: ChildProcess | undefined;

	beforeAll(() => {
		home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-start-exit-"));
		// A run that died half-way must not make this one look clean or dirty.
		downScript();
		const stale = leftRunning();
		if (stale.length) throw new Error(`Processes of ${instance.BERTH_CLUSTER_DIR} are running before the test and down.sh did not stop them:\n${stale.join("\n")}`);
	});

	afterAll(() => {
		const running = child && child.exitCode === null && child.signalCode === null;
		if (running) process.kill(-(child?.pid as number), "SIGKILL");
		downScript();
		fs.rmSync(home, { recursive: true, force: true });
	});

	it("stops the broker, then the control plane it started, and leaves no process of it", async () => {
		let output = "";
		// Its own process group, as a terminal gives the command it runs.
		child = spawn("npm", ["start", "--ignore-scripts"], { cwd: repoRoot, env: firstStartEnv(home), detached: true, stdio: ["ignore", "pipe", "pipe"] });
		child.stdout?.on("data", d => (output += d));
		child.stderr?.on("data", d => (output += d));
		await waitForOutput(child, () => output, "Berth is up");
		expect(output).toContain("starting the local control plane");
		expect(output).toMatch(/\[berth\] Kubernetes: context "[^"]+", server https:\/\/127\.0\.0\.1:6743/);
		expect(output).toMatch(/Berth is up: http:\/\/127\.0\.0\.1:\d+\//);
		expect(leftRunning().length).toBeGreaterThan(0);

		// npm waits for its script, then ends itself by the same signal, as an interrupted command should.
		const exited = new Promise<string>(resolve => child?.on("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
		process.kill(-(child.pid as number), "SIGINT");
		expect(await exited).toBe("SIGINT");
		expect(output).toContain("SIGINT: stopping the broker and its services");
		expect(output).toContain("Stopping the local control plane this process started");
		expect(output).toMatch(/\[berth\] Stopped\n/);
		expect(leftRunning()).toEqual([]);
	}, 300_000);
});
