import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** What a test's own nats-server asks of its clients: a user and password, or a token. */
export type NatsAuth = { user: string; pass: string } | { token: string };

export interface NatsServer {
	port: number;
	/** `nats://…@127.0.0.1:<port>` with the given credentials, percent-encoded (none: no credentials). */
	url(auth?: NatsAuth): string;
	stop(): Promise<void>;
}

function authBlock(auth: NatsAuth): string {
	return "user" in auth ? `authorization {\n  user: ${JSON.stringify(auth.user)}\n  password: ${JSON.stringify(auth.pass)}\n}\n` : `authorization {\n  token: ${JSON.stringify(auth.token)}\n}\n`;
}

export function natsUrl(port: number, auth?: NatsAuth): string {
	const userinfo = !auth ? "" : "user" in auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : `${encodeURIComponent(auth.token)}@`;
	return `nats://${userinfo}127.0.0.1:${port}`;
}

/** The port a starting nats-server reports, from its log (it picks a free one: `-p -1`). */
function listeningPort(proc: ChildProcess, output: () => string): Promise<number> {
	return new Promise((resolve, reject) => {
		const seen = () => {
			const m = /Listening for client connections on [^\s]+:(\d+)/.exec(output());
			if (m && /Server is ready/.test(output())) {
				proc.stderr?.off("data", seen);
				resolve(Number(m[1]));
			}
		};
		proc.stderr?.on("data", seen);
		proc.once("exit", code => reject(new Error(`nats-server exited (${code}) before it was ready:\n${output()}`)));
	});
}

/** A nats-server of the test's own (binary `nats-server`), on a free port, that requires `auth`. */
export async function startNatsServer(auth: NatsAuth): Promise<NatsServer> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-nats-"));
	const conf = path.join(dir, "nats.conf");
	fs.writeFileSync(conf, authBlock(auth), { mode: 0o600 });
	const proc = spawn("nats-server", ["-a", "127.0.0.1", "-p", "-1", "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
	let out = "";
	proc.stderr?.on("data", d => (out = (out + String(d)).slice(-20_000)));
	const port = await listeningPort(proc, () => out);
	return {
		port,
		url: a => natsUrl(port, a),
		stop: () =>
			new Promise<void>(resolve => {
				fs.rmSync(dir, { recursive: true, force: true });
				if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
				proc.once("exit", () => resolve());
				proc.kill("SIGTERM");
			}),
	};
}
