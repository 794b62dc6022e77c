/** The index: records by kind, namespace and name, with pages, counts and owner chains. */
import { KIND_NAMES, NAMESPACED_KINDS, inventoryKindOf, type InventoryKind } from "./kinds";
import type { InventoryRecord, InventoryView, NamespaceRecord, NamespaceSummary, OwnerRef, Provenance } from "./records";
import type { LabelPredicate } from "./selectors";


export interface InventoryQuery {
	/** Namespaces the caller may see; undefined: every one. */
	visible?: ReadonlySet<string>;
	namespace?: string;
	provenance?: Provenance;
	/** Records whose name contains this. */
	name?: string;
	label?: LabelPredicate;
	limit: number;
	offset: number;
}

export interface InventoryPage {
	total: number;
	offset: number;
	limit: number;
	items: InventoryView[];
}

/** Stops a broken owner cycle; real chains are 2 or 3 long (Pod → ReplicaSet → Deployment). */
const MAX_OWNER_DEPTH = 8;

/**
 * Records by kind, then namespace, then name. A relist replaces a record under the same key, so
 * no object is ever in it twice; counts per namespace are map sizes.
 */
/** Cached pages kept per namespace at most (a client paging through a big one). */
const MAX_PAGES_PER_NAMESPACE = 200;

export class InventoryStore {
	private readonly byKind = new Map<InventoryKind, Map<string, Map<string, InventoryRecord>>>();
	/**
	 * The names of one kind in one namespace, sorted, made when a page is asked for and dropped
	 * when a name comes or goes (not when an object changes: its place stays). A page of a big
	 * namespace then costs the page, not a sort of every record in it.
	 */
	private readonly sortedNames = new Map<string, string[]>();
	/**
	 * Unfiltered pages by namespace, then kind, offset and limit, dropped on any change in the
	 * namespace (a page shows owner chains, which live there too): the same page object until then,
	 * so the gateway serializes it once (lib/api/serialized.ts).
	 */
	private readonly pages = new Map<string, Map<string, InventoryPage>>();

	constructor() {
		for (const kind of KIND_NAMES) this.byKind.set(kind, new Map());
	}

	/** Adds a record, or replaces the one of the same kind, namespace and name. */
	upsert(kind: InventoryKind, rec: InventoryRecord): void {
		const byNs = this.byKind.get(kind) as Map<string, Map<string, InventoryRecord>>;
		const ns = rec.namespace ?? "";
		let names = byNs.get(ns);
		if (!names) byNs.set(ns, (names = new Map()));
		if (!names.has(rec.name)) this.sortedNames.delete(groupKey(kind, ns));
		this.pages.delete(ns);
		names.set(rec.name, rec);
	}

	remove(kind: InventoryKind, namespace: string | undefined, name: string): InventoryRecord | undefined {
		const byNs = this.byKind.get(kind) as Map<string, Map<string, InventoryRecord>>;
		const names = byNs.get(namespace ?? "");
		const rec = names?.get(name);
		if (!names || !rec) return undefined;
		names.delete(name);
		this.sortedNames.delete(groupKey(kind, namespace ?? ""));
		this.pages.delete(namespace ?? "");
		if (!names.size) byNs.delete(namespace ?? "");
		return rec;
	}

	get(kind: InventoryKind, namespace: string | undefined, name: string): InventoryRecord | undefined {
		return this.byKind.get(kind)?.get(namespace ?? "")?.get(name);
	}

	/** Every record of a kind in one namespace (or, for Namespaces, all of them). */
	inNamespace(kind: InventoryKind, namespace: string | undefined): IterableIterator<InventoryRecord> {
		return (this.byKind.get(kind)?.get(namespace ?? "") ?? new Map<string, InventoryRecord>()).values();
	}

	size(kind?: InventoryKind): number {
		let n = 0;
		for (const [k, byNs] of this.byKind) if (!kind || k === kind) for (const names of byNs.values()) n += names.size;
		return n;
	}

	/** How many objects of each kind a namespace holds (kinds with none left out). */
	counts(namespace: string): Partial<Record<InventoryKind, number>> {
		const out: Partial<Record<InventoryKind, number>> = {};
		for (const kind of NAMESPACED_KINDS) {
			const n = this.byKind.get(kind)?.get(namespace)?.size ?? 0;
			if (n) out[kind] = n;
		}
		return out;
	}

	/**
	 * The controlling owners of a record, nearest first, followed through the records the
	 * inventory holds: Pod → ReplicaSet → Deployment. An owner of a kind it does not keep
	 * (a CronJob, say) still ends the chain by name.
	 */
	ownerChain(rec: InventoryRecord): OwnerRef[] {
		const chain: OwnerRef[] = [];
		let owner = rec.owner;
		while (owner && chain.length < MAX_OWNER_DEPTH) {
			chain.push(owner);
			const kind = inventoryKindOf(owner.kind);
			owner = kind ? this.get(kind, rec.namespace, owner.name)?.owner : undefined;
		}
		return chain;
	}

	view(rec: InventoryRecord): InventoryView {
		return rec.owner ? { ...rec, owners: this.ownerChain(rec) } : rec;
	}

	/** One page of the records of `kinds`, sorted by namespace, name and kind. */
	query(kinds: InventoryKind[], q: InventoryQuery): InventoryPage {
		const keep = (rec: InventoryRecord) =>
			(!q.provenance || rec.provenance === q.provenance) && (!q.name || rec.name.includes(q.name)) && (!q.label || q.label(rec.labels));
		const [kind] = kinds;
		if (kinds.length === 1 && kind !== "namespaces" && q.namespace && (!q.visible || q.visible.has(q.namespace))) return this.pageOfGroup(kind, q.namespace, q, keep);
		const matches: InventoryRecord[] = [];
		for (const kind of kinds) {
			const byNs = this.byKind.get(kind) as Map<string, Map<string, InventoryRecord>>;
			if (kind === "namespaces") {
				for (const rec of byNs.get("")?.values() ?? []) {
					if (q.visible && !q.visible.has(rec.name)) continue;
					if (q.namespace && rec.name !== q.namespace) continue;
					if (keep(rec)) matches.push(rec);
				}
				continue;
			}
			const namespaces = q.namespace ? [q.namespace] : q.visible ? [...q.visible] : [...byNs.keys()];
			for (const ns of namespaces) {
				if (q.visible && !q.visible.has(ns)) continue;
				for (const rec of byNs.get(ns)?.values() ?? []) if (keep(rec)) matches.push(rec);
			}
		}
		matches.sort(compareRecords);
		return { total: matches.length, offset: q.offset, limit: q.limit, items: matches.slice(q.offset, q.offset + q.limit).map(r => this.view(r)) };
	}

	/** A page of one kind in one namespace, walking its sorted names: only the page's records are viewed. */
	private pageOfGroup(kind: InventoryKind, namespace: string, q: InventoryQuery, keep: (rec: InventoryRecord) => boolean): InventoryPage {
		const names = this.byKind.get(kind)?.get(namespace);
		const sorted = this.sorted(kind, namespace);
		if (!q.provenance && !q.name && !q.label) {
			const pages = this.pages.get(namespace) ?? new Map<string, InventoryPage>();
			const at = `${kind}/${q.offset}/${q.limit}`;
			let page = pages.get(at);
			if (!page) {
				const items = sorted.slice(q.offset, q.offset + q.limit).map(name => this.view(names?.get(name) as InventoryRecord));
				page = { total: sorted.length, offset: q.offset, limit: q.limit, items };
				if (pages.size >= MAX_PAGES_PER_NAMESPACE) pages.clear();
				pages.set(at, page);
				this.pages.set(namespace, pages);
			}
			return page;
		}
		const items: InventoryView[] = [];
		let total = 0;
		for (const name of sorted) {
			const rec = names?.get(name) as InventoryRecord;
			if (!keep(rec)) continue;
			if (total >= q.offset && items.length < q.limit) items.push(this.view(rec));
			total++;
		}
		return { total, offset: q.offset, limit: q.limit, items };
	}

	private sorted(kind: InventoryKind, namespace: string): string[] {
		const key = groupKey(kind, namespace);
		let names = this.sortedNames.get(key);
		if (!names) {
			names = [...(this.byKind.get(kind)?.get(namespace)?.keys() ?? [])].sort(cmp);
			this.sortedNames.set(key, names);
		}
		return names;
	}

	/** Namespaces with their counts, for the ones `visible` allows (undefined: all). */
	namespaces(visible: ReadonlySet<string> | undefined): NamespaceSummary[] {
		const out: NamespaceSummary[] = [];
		for (const rec of this.inNamespace("namespaces", undefined)) {
			if (visible && !visible.has(rec.name)) continue;
			out.push({ ...(rec as NamespaceRecord), counts: this.counts(rec.name) });
		}
		return out.sort((a, b) => cmp(a.name, b.name));
	}
}

function groupKey(kind: InventoryKind, namespace: string): string {
	return `${kind}\0${namespace}`;
}

function cmp(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

function compareRecords(a: InventoryRecord, b: InventoryRecord): number {
	return cmp(a.namespace ?? "", b.namespace ?? "") || cmp(a.name, b.name) || cmp(a.kind, b.kind);
}
