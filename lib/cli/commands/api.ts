import { Option, type Command } from "commander";
import { json, table } from "../format";
import type { CliIO } from "../io";
import { keyValue, looseValue } from "../parse";
import { subcommand, UsageError } from "../context";

/** `berth api`: any operation of the live OpenAPI document, for routes the other commands do not cover. */
export function registerApi(program: Command, io: CliIO): void {
	const spec = {
		use: "api [operationId] [KEY=VALUE...]",
		about: "call any operation of the gateway's OpenAPI document by its operationId; without one, list them",
		options: [new Option("-d, --data <json>", "params as a JSON object (KEY=VALUE pairs are merged over it)")],
	};
	subcommand(program, io, spec, async (ctx, operationId: string | undefined, assignments: string[], flags: { data?: string }) => {
		if (!operationId) {
			const ops = await ctx.client.operations();
			ctx.emit(ops, () =>
				table(ops, [
					{ header: "method", value: o => o.method },
					{ header: "path", value: o => o.path },
					{ header: "operation", value: o => o.operationId },
				]),
			);
			return;
		}
		let params: Record<string, unknown> = {};
		if (flags.data) {
			try {
				params = JSON.parse(flags.data) as Record<string, unknown>;
			} catch (err) {
				throw new UsageError(`--data is not JSON: ${(err as Error).message}`);
			}
			if (!params || typeof params !== "object" || Array.isArray(params)) throw new UsageError("--data must be a JSON object");
		}
		for (const a of assignments) {
			const [k, v] = keyValue(a);
			params[k] = looseValue(v);
		}
		const answer = await ctx.client.operation(operationId, params);
		ctx.io.stdout.write(typeof answer === "string" ? answer + (answer.endsWith("\n") ? "" : "\n") : json(answer));
	});
}
