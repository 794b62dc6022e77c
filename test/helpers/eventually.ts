/** Retries an assertion until it passes or the timeout ends; the last failure is what the test reports. */
export async function eventually<T>(check: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
	const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
	let lastError: unknown;
	while (Date.now() < deadline) {
		try {
			return await check();
		} catch (err) {
			lastError = err;
			await new Promise(r => setTimeout(r, opts.intervalMs ?? 250));
		}
	}
	throw lastError;
}
