/**
 * The images collection as earlier versions left it: names were unique across it (an index on
 * `name`) and entries had no `key` or `source`. At start, entries without a key get their name as
 * the shared catalog's key (all of them were the files'), and the old index goes, so that namespaces'
 * entries may use a name another namespace uses.
 */
export interface LegacyStore {
	dbBackend: { mongoUri?: string };
	adapter: {
		updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
		find(params: { query?: Record<string, unknown> }): Promise<unknown[]>;
		entityToObject(doc: unknown): Promise<Record<string, unknown>> | Record<string, unknown>;
		afterRetrieveTransformID(doc: Record<string, unknown>, idField: string): Record<string, unknown>;
		model: { collection: { dropIndex(name: string): Promise<unknown> } };
		db: { removeIndex(field: string): Promise<unknown> };
	};
	logger: { info(...args: unknown[]): void };
}

export async function migrateStore(store: LegacyStore): Promise<void> {
	await (store.dbBackend.mongoUri ? store.adapter.model.collection.dropIndex("name_1") : store.adapter.db.removeIndex("name")).catch(() => undefined);
	const legacy = await store.adapter.find({ query: { key: { $exists: false } } });
	for (const row of legacy) {
		const doc = store.adapter.afterRetrieveTransformID({ ...(await store.adapter.entityToObject(row)) }, "id");
		await store.adapter.updateMany({ name: doc.name, key: { $exists: false } }, { $set: { key: doc.name, source: "file" } });
	}
	if (legacy.length) store.logger.info(`Image catalog: ${legacy.length} entries from an earlier version keyed by name`);
}
