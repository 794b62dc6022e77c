import { Option, type Command } from "commander";
import { BerthTimeoutError, BerthWaitError, type AppHealth, type DeploymentEntity, type EnvEntity, type EventView, type PodState, type StateView, type StatusView } from "../../client";
import { nsOption, subcommand, type CommandContext, type CommandSpec } from "../context";
import { age, details, table } from "../format";
import { ExitCode, type CliIO } from "../io";
import { collect, duration, integer, keyValues, volumeSpec } from "../parse";

const DEFAULT_WAIT = "5m";

export function readiness(s: Pick<StatusView, "readyReplicas" | "replicas">): string {
	return `${s.readyReplicas ?? 0}/${s.replicas ?? 0}`;
}

export const deploymentColumns = [
	{ header: "name", value: (d: DeploymentEntity) => d.name },
	{ header: "namespace", value: (d: DeploymentEntity) => d.namespaceName },
	{ header: "image", value: (d: DeploymentEntity) => d.imageName ?? d.image },
	{ header: "ready", value: (d: DeploymentEntity) => (d.status ? readiness({ readyReplicas: d.status.readyReplicas, replicas: d.replicas }) : `?/${d.replicas}`) },
	{ header: "phase", value: (d: DeploymentEntity) => d.status?.phase },
	{ header: "hosts", value: (d: DeploymentEntity) => d.vHosts },
	{ header: "age", value: (d: DeploymentEntity) => age(d.createdAt) },
	{ header: "id", value: (d: DeploymentEntity) => d.id },
];

export const podColumns = [
	{ header: "pod", value: (p: PodState) => p.name },
	{ header: "phase", value: (p: PodState) => p.phase },
	{ header: "ready", value: (p: PodState) => (p.ready ? "yes" : "no") },
	{ header: "restarts", value: (p: PodState) => p.restarts },
	{ header: "node", value: (p: PodState) => p.node },
	{ header: "ip", value: (p: PodState) => p.ip },
	{ header: "age", value: (p: PodState) => age(p.startTime) },
];

const eventColumns = [
	{ header: "last seen", value: (e: EventView) => age(e.lastTimestamp) },
	{ header: "type", value: (e: EventView) => e.type },
	{ header: "reason", value: (e: EventView) => e.reason },
	{ header: "object", value: (e: EventView) => `${e.object.kind}/${e.object.name}` },
	{ header: "message", value: (e: EventView) => e.message },
];

const envColumns = [
	{ header: "key", value: (e: EnvEntity) => e.key },
	{ header: "value", value: (e: EnvEntity) => e.value },
	{ header: "type", value: (e: EnvEntity) => e.type },
];

export function statusDetails(s: StatusView): string {
	const notable = s.conditions.filter(c => c.status !== "True" || c.type === "Available");
	return details([
		["deployment", s.name],
		["namespace", s.namespace],
		["phase", s.phase],
		["ready", readiness(s)],
		["up-to-date", s.updatedReplicas],
		["available", s.availableReplicas],
		["hosts", s.hosts],
		...notable.map(c => [`${c.type}`, `${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message && c.status !== "True" ? `: ${c.message}` : ""}`] as [string, unknown]),
	]);
}

export function stateText(state: StateView): string {
	return `${statusDetails(state.deployment)}\n${table(state.pods, podColumns, "No pods.")}`;
}

/**
 * Waits for a rollout with a progress line; prints how it ended. Returns the exit code: 0 when every
 * replica is ready, 1 when it failed, 3 when the time ran out.
 */
export async function waitForRollout(ctx: CommandContext, dep: Pick<DeploymentEntity, "id" | "name" | "namespaceName">, timeoutSeconds: number, expectReplicas?: number): Promise<{ code: number; status?: StatusView }> {
	const where = `${dep.name} in ${dep.namespaceName}`;
	const progress = ctx.progress(`Rolling out ${where}…`);
	try {
		const status = await ctx.client.deployments.waitForRollout(dep.id, {
			timeoutMs: timeoutSeconds * 1000,
			intervalMs: 1000,
			expectReplicas,
			signal: ctx.io.signal,
			onProgress: s => progress.update(`Rolling out ${where}: ${readiness(s)} ready (${s.phase})`),
		});
		progress.succeed(`${where} is ${status.phase === "Scaled to zero" ? "scaled to zero" : `running: ${readiness(status)} ready`}${status.hosts?.length ? ` at ${status.hosts.join(", ")}` : ""}`);
		return { code: ExitCode.Ok, status };
	} catch (err) {
		if (err instanceof BerthWaitError) {
			const s = err.last as StatusView;
			const why = s.conditions?.find(c => c.status !== "True" && c.message)?.message;
			progress.fail(`Rollout of ${where} failed: ${readiness(s)} ready${why ? `: ${why}` : ""}`);
			return { code: ExitCode.Failed, status: s };
		}
		if (err instanceof BerthTimeoutError) {
			const s = err.last as StatusView | undefined;
			progress.fail(`Rollout of ${where} not done after ${timeoutSeconds} s${s ? `: ${readiness(s)} ready (${s.phase})` : ""}. It goes on; see \`berth status ${dep.name} -n ${dep.namespaceName}\``);
			return { code: ExitCode.Timeout, status: s };
		}
		progress.fail(`Waiting for ${where} stopped: ${(err as Error).message}`);
		throw err;
	}
}

/** The catalog name of an image given by name, reference or id: the default deployment name. */
async function catalogName(ctx: CommandContext, ref: string): Promise<string> {
	const image = await ctx.client.images.getByName(ref).catch(async err => {
		if ((err as { status?: number }).status !== 404) throw err;
		return ctx.client.images.get(ref);
	});
	return image.name;
}

/** One line per health change: time, phase, ready/desired, and the reason. */
export function healthLine(h: AppHealth, now = new Date()): string {
	const time = now.toISOString().slice(11, 19);
	return `${time}  ${h.phase}  ${h.replicas.ready}/${h.replicas.desired} ready  ${h.reason}${h.message ? `: ${h.message}` : ""}`;
}

/** Follows the deployment's status stream until it is removed or the user stops (exit 0 either way). */
async function watchHealth(ctx: CommandContext, dep: Pick<DeploymentEntity, "id" | "name">): Promise<number> {
	for await (const ev of ctx.client.deployments.watch(dep.id, { signal: ctx.io.signal })) {
		if (ctx.asJson) ctx.io.stdout.write(`${JSON.stringify(ev)}\n`);
		else if (ev.event === "status") ctx.io.stdout.write(`${healthLine(ev.data)}\n`);
		else if (ev.event === "removed") ctx.io.stdout.write(`${dep.name} was removed.\n`);
		if (ev.event === "removed") break;
	}
	return ExitCode.Ok;
}

interface DeployFlags {
	namespace?: string;
	name?: string;
	replicas?: number;
	vhost: string[];
	env: string[];
	secret: string[];
	volume: string[];
	wait: boolean;
	timeout: number;
}

/** A deployment by name or id, in the namespace given (or BERTH_NAMESPACE). */
async function find(ctx: CommandContext, ref: string, namespace?: string): Promise<DeploymentEntity> {
	return ctx.client.deployments.find(ref, ctx.namespaceFilter(namespace).namespace);
}

/** `berth deploy` and `berth status`, and `berth deployments ...` for the rest. */
export function registerDeployments(program: Command, io: CliIO): void {
	for (const add of [deployCommand, statusCommand, logsCommand]) add(program, io);
	const deps = program.command("deployments").alias("deps").description("deployments: list, inspect, scale, restart, delete");
	for (const add of [depsList, depsGet, depsStatus, depsEvents, depsScale, depsRestart, depsDelete]) add(deps, io);
	const env = program.command("env").description("a deployment's environment variables (a change rolls its pods)");
	for (const add of [envList, envSet, envUnset]) add(env, io);
}

function deployCommand(program: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOption(),
		["--name <name>", "the deployment's name (default: the image's)"],
		["--replicas <n>", "pods to run", integer(0, 100)],
		["--vhost <host>", "a host the Ingress serves (repeatable): under <namespace>.<BASE_DOMAIN> or a domain an admin granted", collect, []],
		["--env <KEY=VALUE>", "an environment variable (repeatable)", collect, []],
		["--secret <KEY=VALUE>", "a secret environment variable (repeatable)", collect, []],
		["--volume <CLAIM:/path[:ro]>", "mount a volume's claim (repeatable)", collect, []],
		["--no-wait", "answer once applied, without waiting for the pods"],
		["--timeout <duration>", "how long to wait for the rollout", duration, duration(DEFAULT_WAIT)],
	];
	subcommand(program, io, { use: "deploy <image>", about: "deploy a catalog image and wait until it runs", options }, async (ctx, image: string, flags: DeployFlags) => {
		const namespace = await ctx.namespace(flags.namespace);
		const env = [...keyValues(flags.env).map(([key, value]) => ({ key, value })), ...keyValues(flags.secret).map(([key, value]) => ({ key, value, type: "secret" as const }))];
		const name = flags.name ?? (await catalogName(ctx, image));
		const dep = await ctx.client.deployments.create({
			name,
			namespace,
			image,
			...(flags.replicas !== undefined ? { replicas: flags.replicas } : {}),
			...(flags.vhost.length ? { vHosts: flags.vhost } : {}),
			...(env.length ? { env } : {}),
			...(flags.volume.length ? { volumes: flags.volume.map(volumeSpec) } : {}),
		});
		if (!flags.wait) {
			ctx.emit(dep, () => `Deployment ${dep.name} created in ${dep.namespaceName} (id ${dep.id}).\n`);
			return;
		}
		const { code, status } = await waitForRollout(ctx, dep, flags.timeout);
		ctx.emit({ deployment: dep, status }, () => (status ? statusDetails(status) : ""));
		return code;
	});
}

function statusCommand(program: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOption(),
		["-w, --watch", "then print each change of its health as it happens (Ctrl-C ends)"],
	];
	subcommand(program, io, { use: "status <deployment>", about: "a deployment's rollout and pods, by name or id", options }, async (ctx, ref: string, flags: { namespace?: string; watch?: boolean }) => {
		const dep = await find(ctx, ref, flags.namespace);
		if (flags.watch) return watchHealth(ctx, dep);
		const state = await ctx.client.deployments.state(dep.id);
		ctx.emit(state, () => stateText(state));
	});
}

function logsCommand(program: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOption(),
		["-f, --follow", "stream the logs as they are written"],
		["--tail <lines>", "the last lines of each pod", integer(1, 10_000)],
		["--since <duration>", 'only newer lines ("10m", "1h")'],
		["--pod <pod>", "one pod only"],
		["--max-seconds <n>", "with -f: stop after this long (the server's default is an hour)", integer(1, 86_400)],
	];
	subcommand(program, io, { use: "logs <deployment>", about: "the logs of a deployment's pods", options }, async (ctx, ref: string, flags: { namespace?: string; follow?: boolean; tail?: number; since?: string; pod?: string; maxSeconds?: number }) => {
		const dep = await find(ctx, ref, flags.namespace);
		const query = { tail: flags.tail, since: flags.since, pod: flags.pod };
		if (flags.follow) {
			for await (const chunk of ctx.client.deployments.followLogs(dep.id, { ...query, maxSeconds: flags.maxSeconds }, { signal: ctx.io.signal })) ctx.io.stdout.write(chunk);
			return;
		}
		const logs = await ctx.client.deployments.logs(dep.id, query);
		ctx.emit(logs, () => {
			if (!logs.length) return "";
			const prefix = logs.length > 1;
			return logs
				.map(l => l.log.replace(/\n$/, "").split("\n").filter(line => line.length).map(line => (prefix ? `[${l.pod}] ${line}` : line)).join("\n"))
				.filter(Boolean)
				.map(s => `${s}\n`)
				.join("");
		});
	});
}

function depsList(deps: Command, io: CliIO): void {
	subcommand(deps, io, { use: "list", alias: "ls", about: "your deployments", options: [nsOption()] }, async (ctx, flags: { namespace?: string }) => {
		const list = await ctx.client.deployments.list(ctx.namespaceFilter(flags.namespace));
		ctx.emit(list, () => table(list, deploymentColumns, "No deployments."));
	});
}

function depsGet(deps: Command, io: CliIO): void {
	subcommand(deps, io, { use: "get <deployment>", about: "one deployment's entity", options: [nsOption()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const dep = await find(ctx, ref, flags.namespace);
		ctx.emit(dep, () =>
			details([
				["name", dep.name],
				["id", dep.id],
				["namespace", dep.namespaceName],
				["image", dep.imageName ?? dep.image],
				["replicas", dep.replicas],
				["phase", dep.status?.phase],
				["hosts", dep.vHosts],
				["volumes", dep.volumes.map(v => `${v.persistentVolumeClaim?.claimName ?? v.type}:${v.mountPath}${v.readOnly ? ":ro" : ""}`)],
				["config", dep.configMap ? `${dep.configMap.name}: ${Object.keys(dep.configMap.data).join(", ")}` : undefined],
				["owner", dep.owner],
				["members", dep.members],
				["created", dep.createdAt],
			]),
		);
	});
}

function depsStatus(deps: Command, io: CliIO): void {
	subcommand(deps, io, { use: "status <deployment>", about: "same as `berth status`", options: [nsOption()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const state = await ctx.client.deployments.state((await find(ctx, ref, flags.namespace)).id);
		ctx.emit(state, () => stateText(state));
	});
}

function depsEvents(deps: Command, io: CliIO): void {
	subcommand(deps, io, { use: "events <deployment>", about: "Kubernetes events of the deployment and its pods", options: [nsOption()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const events = await ctx.client.deployments.events((await find(ctx, ref, flags.namespace)).id);
		ctx.emit(events, () => table(events, eventColumns, "No events."));
	});
}

function depsScale(deps: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOption(),
		["--no-wait", "do not wait for the pods"],
		["--timeout <duration>", "how long to wait", duration, duration(DEFAULT_WAIT)],
	];
	subcommand(deps, io, { use: "scale <deployment> <replicas>", about: "change the number of pods and wait for them", options }, async (ctx, ref: string, replicasText: string, flags: { namespace?: string; wait: boolean; timeout: number }) => {
		const replicas = integer(0, 100)(replicasText);
		const dep = await ctx.client.deployments.scale((await find(ctx, ref, flags.namespace)).id, replicas);
		if (!flags.wait) return ctx.emit(dep, () => `Deployment ${dep.name} scaled to ${replicas}.\n`);
		const { code, status } = await waitForRollout(ctx, dep, flags.timeout, replicas);
		ctx.emit({ deployment: dep, status }, () => (status ? statusDetails(status) : ""));
		return code;
	});
}

function depsRestart(deps: Command, io: CliIO): void {
	subcommand(deps, io, { use: "restart <deployment>", about: "restart every pod (a rolling restart)", options: [nsOption()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const dep = await ctx.client.deployments.restart((await find(ctx, ref, flags.namespace)).id);
		ctx.emit(dep, () => `Deployment ${dep.name} is restarting; follow it with \`berth status ${dep.name} -n ${dep.namespaceName}\`.\n`);
	});
}

function depsDelete(deps: Command, io: CliIO): void {
	subcommand(deps, io, { use: "delete <deployment>", alias: "rm", about: "delete a deployment and everything generated for it", options: [nsOption()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const dep = await ctx.client.deployments.remove((await find(ctx, ref, flags.namespace)).id);
		ctx.emit(dep, () => `Deployment ${dep.name} deleted from ${dep.namespaceName}.\n`);
	});
}

function envList(env: Command, io: CliIO): void {
	subcommand(env, io, { use: "list <deployment>", alias: "ls", about: "the variables, secret values masked", options: [nsOption()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const dep = await find(ctx, ref, flags.namespace);
		const list = await ctx.client.envs.list({ namespace: dep.namespace, deployment: dep.id });
		ctx.emit(list, () => table(list, envColumns, "No variables."));
	});
}

function envSet(env: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOption(),
		["--secret", "store them as secrets (a Kubernetes Secret; shown masked)"],
	];
	subcommand(env, io, { use: "set <deployment> <KEY=VALUE...>", about: "set variables (created, or changed when they exist)", options }, async (ctx, ref: string, assignments: string[], flags: { namespace?: string; secret?: boolean }) => {
		const pairs = keyValues(assignments);
		const dep = await find(ctx, ref, flags.namespace);
		const set: EnvEntity[] = [];
		for (const [key, value] of pairs) set.push(await ctx.client.envs.set({ namespace: dep.namespace, deployment: dep.id, key, value, ...(flags.secret ? { type: "secret" as const } : {}) }));
		ctx.emit(set, () => set.map(e => `${e.key} set on ${dep.name}${e.type === "secret" ? " (secret)" : ""}.\n`).join(""));
	});
}

function envUnset(env: Command, io: CliIO): void {
	subcommand(env, io, { use: "unset <deployment> <KEY...>", about: "remove variables", options: [nsOption()] }, async (ctx, ref: string, keys: string[], flags: { namespace?: string }) => {
		const dep = await find(ctx, ref, flags.namespace);
		const removed: EnvEntity[] = [];
		for (const key of keys) removed.push(await ctx.client.envs.unset({ namespace: dep.namespace, deployment: dep.id, key }));
		ctx.emit(removed, () => removed.map(e => `${e.key} removed from ${dep.name}.\n`).join(""));
	});
}
