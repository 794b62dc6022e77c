/** Kubernetes label selectors, parsed into predicates over a record's labels. */

export type LabelPredicate = (labels: Record<string, string>) => boolean;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits at commas outside parentheses: `a in (x,y),b=c` → [`a in (x,y)`, `b=c`]. */
function splitTerms(selector: string): string[] {
	const terms: string[] = [];
	let depth = 0;
	let current = "";
	for (const ch of selector) {
		if (ch === "(") depth++;
		if (ch === ")") depth--;
		if (ch === "," && depth === 0) {
			terms.push(current);
			current = "";
		} else current += ch;
	}
	terms.push(current);
	return terms.map(t => t.trim());
}

/**
 * A Kubernetes label selector as a predicate: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
 * `k notin (a,b)`, comma-separated (all must hold). Throws a message naming the bad term.
 */
export function parseLabelSelector(selector: string): LabelPredicate {
	const checks: LabelPredicate[] = [];
	for (const term of splitTerms(selector)) {
		if (!term) throw new Error("Empty term in label selector");
		let m: RegExpExecArray | null;
		const key = (k: string) => {
			if (!LABEL_KEY.test(k) || k.length > 317) throw new Error(`Invalid label key "${k}"`);
			return k;
		};
		const value = (v: string) => {
			if (!LABEL_VALUE.test(v) || v.length > 63) throw new Error(`Invalid label value "${v}"`);
			return v;
		};
		if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term))) {
			const k = key(m[1]);
			const values = new Set(m[3].split(",").map(v => value(v.trim())));
			checks.push(m[2] === "in" ? l => k in l && values.has(l[k]) : l => !(k in l) || !values.has(l[k]));
		} else if ((m = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(term))) {
			const [k, v] = [key(m[1]), value(m[2])];
			checks.push(l => l[k] !== v);
		} else if ((m = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(term))) {
			const [k, v] = [key(m[1]), value(m[2])];
			checks.push(l => l[k] === v);
		} else if ((m = /^!\s*(\S+)$/.exec(term))) {
			const k = key(m[1]);
			checks.push(l => !(k in l));
		} else {
			const k = key(term);
			checks.push(l => k in l);
		}
	}
	return labels => checks.every(c => c(labels));
}
