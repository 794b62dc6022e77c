import { KeyedSerial } from "../../lib/keyed-serial";

const tick = () => new Promise(resolve => setImmediate(resolve));

describe("KeyedSerial: one write at a time per document", () => {
	it("runs a key's work in arrival order, each after the last has finished", async () => {
		const serial = new KeyedSerial();
		const seen: string[] = [];
		const slow = serial.run("a", async () => {
			seen.push("first starts");
			await tick();
			await tick();
			seen.push("first ends");
		});
		const next = serial.run("a", async () => void seen.push("second runs"));
		await Promise.all([slow, next]);
		expect(seen).toEqual(["first starts", "first ends", "second runs"]);
	});

	it("lets other keys run side by side", async () => {
		const serial = new KeyedSerial();
		const seen: string[] = [];
		let release = () => {};
		const held = serial.run("a", () => new Promise<void>(resolve => (release = resolve)));
		await serial.run("b", async () => void seen.push("b ran while a waits"));
		release();
		await held;
		expect(seen).toEqual(["b ran while a waits"]);
	});

	it("goes on after a failure, which reaches only its own caller", async () => {
		const serial = new KeyedSerial();
		const failed = serial.run("a", async () => {
			throw new Error("boom");
		});
		const after = serial.run("a", async () => "ok");
		await expect(failed).rejects.toThrow("boom");
		await expect(after).resolves.toBe("ok");
	});

	it("forgets a key once its work is done", async () => {
		const serial = new KeyedSerial();
		await serial.run("a", async () => 1);
		await tick();
		expect(serial.size).toBe(0);
	});
});
