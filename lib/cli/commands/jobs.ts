import type { Command } from "commander";
import { BerthApiError, BerthTimeoutError, BerthWaitError, type JobEntity, type JobStatusView } from "../../client";
import { nsOption, subcommand, type CommandContext, type CommandSpec } from "../context";
import { age, details, endLine, table, truncate } from "../format";
import { ExitCode, type CliIO } from "../io";
import { collect, duration, keyValues } from "../parse";

function commandText(job: Pick<JobEntity, "cmd" | "command">): string {
	return job.cmd ?? job.command.join(" ");
}

function elapsed(status: JobStatusView): string {
	const start = status.startTime ? Date.parse(String(status.startTime)) : NaN;
	const end = status.completionTime ? Date.parse(String(status.completionTime)) : status.finishedAt ? Date.parse(status.finishedAt) : NaN;
	return Number.isNaN(start) || Number.isNaN(end) ? "" : ` in ${Math.max(0, Math.round((end - start) / 1000))} s`;
}

export function jobStatusDetails(job: Pick<JobEntity, "id" | "name" | "namespaceName">, s: JobStatusView): string {
	return details([
		["job", job.name],
		["id", job.id],
		["namespace", job.namespaceName],
		["phase", s.phase],
		["active", s.active ?? 0],
		["succeeded", s.succeeded ?? 0],
		["failed", s.failed ?? 0],
		["started", s.startTime],
		["completed", s.completionTime ?? s.finishedAt],
		...(s.conditions ?? []).filter(c => c.status === "True").map(c => [c.type ?? "condition", `${c.reason ?? ""}${c.message ? `: ${c.message}` : ""}`] as [string, unknown]),
	]);
}

const jobColumns = [
	{ header: "id", value: (j: JobEntity) => j.id },
	{ header: "job", value: (j: JobEntity) => j.name },
	{ header: "namespace", value: (j: JobEntity) => j.namespaceName },
	{ header: "phase", value: (j: JobEntity) => j.phase },
	{ header: "command", value: (j: JobEntity) => truncate(commandText(j), 40) },
	{ header: "age", value: (j: JobEntity) => age(j.createdAt) },
];

/** A job by entity id or by its Kubernetes name (the UUID the seed's routes use). */
async function findJob(ctx: CommandContext, ref: string): Promise<JobEntity> {
	try {
		return await ctx.client.jobs.get(ref);
	} catch (err) {
		if (!(err instanceof BerthApiError) || err.status !== 404) throw err;
		const match = (await ctx.client.jobs.list()).find(j => j.name === ref);
		if (!match) throw err;
		return match;
	}
}

interface RunFlags {
	namespace?: string;
	image?: string;
	env: string[];
	timeout?: number;
	wait: boolean;
	waitTimeout?: number;
}

export function registerJobs(program: Command, io: CliIO): void {
	const jobs = program.command("jobs").description("one-off commands run as Kubernetes Jobs");
	for (const add of [jobsRun, jobsList, jobsStatus, jobsLogs, jobsDelete]) add(jobs, io);
}

function jobsRun(jobs: Command, io: CliIO): void {
	const options = [
		nsOption(),
		["--image <image>", "container image (default: the server's, python:3.12-slim)"],
		["--env <KEY=VALUE>", "an environment variable (repeatable)", collect, []],
		["--timeout <duration>", "the job's deadline (default: the server's, 10m)", duration],
		["--no-wait", "start it and answer at once"],
	] satisfies CommandSpec["options"];
	const about = "run a command, wait for it and print its output. One argument runs with `sh -c`; several are the argv (put `--` before a command with options)";
	subcommand(jobs, io, { use: "run <command...>", about, options }, async (ctx, words: string[], flags: RunFlags) => {
		const namespace = await ctx.namespace(flags.namespace);
		const env = keyValues(flags.env).map(([name, value]) => ({ name, value }));
		const job = await ctx.client.jobs.create({
			namespace,
			...(words.length === 1 ? { cmd: words[0] } : { command: words }),
			...(flags.image ? { image: flags.image } : {}),
			...(env.length ? { env } : {}),
			...(flags.timeout ? { timeoutSeconds: flags.timeout } : {}),
		});
		if (!flags.wait) {
			ctx.emit(job, () => `Job ${job.name} started in ${job.namespaceName} (id ${job.id}).\n`);
			return;
		}
		const progress = ctx.progress(`Job ${job.name} in ${job.namespaceName}: ${job.phase}`);
		let status: JobStatusView | undefined;
		let code: number = ExitCode.Ok;
		try {
			// The job's own deadline ends it; wait a little past that for the watch to record it.
			status = await ctx.client.jobs.wait(job.id, {
				timeoutMs: ((flags.timeout ?? job.timeoutSeconds) + 120) * 1000,
				signal: ctx.io.signal,
				onProgress: s => progress.update(`Job ${job.name} in ${job.namespaceName}: ${s.phase}${s.active ? `, ${s.active} pod running` : ""}`),
			});
			progress.succeed(`Job ${job.name} complete${elapsed(status)}`);
		} catch (err) {
			if (err instanceof BerthWaitError) {
				status = err.last as JobStatusView;
				const reason = status.conditions?.find(c => c.type === "Failed" && c.status === "True");
				progress.fail(`Job ${job.name} ${status.phase === "Deleted" ? "was deleted before it finished" : `failed${reason?.reason ? ` (${reason.reason}${reason.message ? `: ${reason.message}` : ""})` : ""}`}`);
				code = ExitCode.Failed;
			} else if (err instanceof BerthTimeoutError) {
				status = err.last as JobStatusView | undefined;
				progress.fail(`Job ${job.name} still ${status?.phase ?? "running"}; stopped waiting. See \`berth jobs status ${job.id}\``);
				code = ExitCode.Timeout;
			} else {
				progress.fail(`Waiting for job ${job.name} stopped: ${(err as Error).message}`);
				throw err;
			}
		}
		const logs = await ctx.client.jobs.logs(job.id);
		ctx.emit({ job, status, logs }, () => endLine(logs));
		return code;
	});
}

function jobsList(jobs: Command, io: CliIO): void {
	subcommand(jobs, io, { use: "list", alias: "ls", about: "your jobs", options: [nsOption()] }, async (ctx, flags: { namespace?: string }) => {
		const list = await ctx.client.jobs.list(ctx.namespaceFilter(flags.namespace));
		ctx.emit(list, () => table(list, jobColumns, "No jobs."));
	});
}

function jobsStatus(jobs: Command, io: CliIO): void {
	subcommand(jobs, io, { use: "status <job>", about: "where a job stands, by id or job name" }, async (ctx, ref: string) => {
		const job = await findJob(ctx, ref);
		const status = await ctx.client.jobs.status(job.id);
		ctx.emit(status, () => jobStatusDetails(job, status));
		return status.phase === "Failed" || status.phase === "Deleted" ? ExitCode.Failed : ExitCode.Ok;
	});
}

function jobsLogs(jobs: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [["-f, --follow", "print the output as it is written, until the job is over (Ctrl-C stops)"]];
	subcommand(jobs, io, { use: "logs <job>", about: "a job's output (kept after the job is gone)", options }, async (ctx, ref: string, flags: { follow?: boolean }) => {
		const job = await findJob(ctx, ref);
		if (!flags.follow) {
			const logs = await ctx.client.jobs.logs(job.id);
			ctx.emit({ id: job.id, name: job.name, logs }, () => endLine(logs));
			return;
		}
		for await (const chunk of ctx.client.jobs.followLogs(job.id, { signal: ctx.io.signal })) ctx.io.stdout.write(chunk);
		if (ctx.io.signal?.aborted) return ExitCode.Interrupted;
		const status = await ctx.client.jobs.status(job.id);
		return status.phase === "Complete" ? ExitCode.Ok : ExitCode.Failed;
	});
}

function jobsDelete(jobs: Command, io: CliIO): void {
	subcommand(jobs, io, { use: "delete <job>", alias: "rm", about: "delete a job, its pods and its stored output" }, async (ctx, ref: string) => {
		const removed = await ctx.client.jobs.remove((await findJob(ctx, ref)).id);
		ctx.emit(removed, () => `Job ${removed.name} deleted.\n`);
	});
}
