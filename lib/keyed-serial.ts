/**
 * Runs async work one at a time per key, in arrival order; different keys run side by side.
 * FerretDB (the MongoDB path's tested backend) applies an update as read, change, write the whole
 * document, so two `$set`s of one document racing each other lose one of them (a scale's
 * `replicas` against a pass's `status`). Real MongoDB applies each atomically; one node's writes
 * of one document go through here on either.
 */
export class KeyedSerial {
	private readonly tails = new Map<string, Promise<unknown>>();

	run<T>(key: string, work: () => Promise<T>): Promise<T> {
		const before = this.tails.get(key) ?? Promise.resolve();
		const result = before.then(work, work);
		const tail = result.then(
			() => undefined,
			() => undefined,
		);
		this.tails.set(key, tail);
		void tail.then(() => {
			if (this.tails.get(key) === tail) this.tails.delete(key);
		});
		return result;
	}

	/** Keys with work queued or running (so the map stays bounded by what is in flight). */
	get size(): number {
		return this.tails.size;
	}
}
