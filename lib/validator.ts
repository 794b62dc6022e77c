/**
 * The mesh's params validator: fastest-validator as Moleculer ships it, except that a field a strict
 * schema (lib/api/rules.ts strictParams) does not name is reported as its own error with `field`
 * set to it (`resources.extra`), as every other validation error names its field; fastest-validator
 * reports them all in one message with no field.
 */
import { Validators } from "moleculer";

interface CheckError {
	type: string;
	field?: string;
	message?: string;
	actual?: unknown;
	[k: string]: unknown;
}

type Checker = ((value: unknown, opts?: unknown) => true | CheckError[] | Promise<true | CheckError[]>) & { async?: boolean };

/** One error per unknown field instead of fastest-validator's single `objectStrict` error. */
export function nameUnknownFields(errors: CheckError[]): CheckError[] {
	return errors.flatMap(error => {
		if (error.type !== "objectStrict" || typeof error.actual !== "string") return [error];
		const parent = error.field ? `${error.field}.` : "";
		return error.actual.split(", ").map(name => ({ type: "objectStrict", field: `${parent}${name}`, message: `Unknown field "${parent}${name}": this request takes no such field`, actual: name }));
	});
}

export class BerthValidator extends Validators.Fastest {
	override compile(schema: Record<string, unknown>): ReturnType<InstanceType<typeof Validators.Fastest>["compile"]> {
		const check = super.compile(schema) as unknown as Checker;
		const named: Checker = (value, opts) => {
			const res = check(value, opts);
			if (res instanceof Promise) return res.then(r => (r === true ? r : nameUnknownFields(r)));
			return res === true ? res : nameUnknownFields(res);
		};
		named.async = check.async;
		// Moleculer's type says a checker answers a boolean; it answers true or the errors (base.js).
		return named as never;
	}
}
